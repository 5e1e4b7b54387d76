"""WISP Console test suite."""
