"""The packages pane: what is for sale, with the exact rate-limit string and router profile."""

from __future__ import annotations

from console.widgets.main.pane import Pane


class PackagesPane(Pane):
    """Packages by name."""

    TITLE = "Packages"
    NUMBER = 1
    KIND = "package"
    COLUMNS = (
        ("Name", 14),
        ("Type", 7),
        ("Price", 9),
        ("Validity", 8),
        ("Rate limit", 18),
        ("Profile", 24),
        ("Router", 11),
    )
