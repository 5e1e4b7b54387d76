"""Widgets of the main screen: the three panes and the status bar."""
