"""Screens of the console: the main panes, details, activation, router users, help."""
