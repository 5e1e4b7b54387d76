"""The packages pane: what is for sale, with the exact rate-limit string and router profile."""

from __future__ import annotations

from console.views.columns import Column
from console.widgets.main.pane import Pane


class PackagesPane(Pane):
    """Packages by name."""

    TITLE = "Packages"
    NUMBER = 1
    KIND = "package"
    # At 80 columns the profile gives way (details show it); the router never does.
    COLUMNS = (
        Column("Name", 14, grow=2, most=24),
        Column("Type", 7),
        Column("Price", 9),
        Column("Validity", 8),
        Column("Rate limit", 12, grow=2, most=32, drop=2),
        Column("Profile", 20, grow=3, drop=3),
        Column("Router", 11, grow=1, most=16),
    )
