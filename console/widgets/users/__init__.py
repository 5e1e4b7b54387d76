"""Widgets of the router users screen."""
