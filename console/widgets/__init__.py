"""Widgets of the console, one per module, grouped by the pane or screen they live in."""
