"""The subscriptions pane: who has which package until when, and whether the router has it yet."""

from __future__ import annotations

from console.views.columns import Column
from console.widgets.main.pane import Pane


class SubscriptionsPane(Pane):
    """Subscriptions, newest first."""

    TITLE = "Subscriptions"
    NUMBER = 2
    KIND = "subscription"
    # The router account state comes before the less urgent columns, which give way at 80 columns.
    COLUMNS = (
        Column("#", 4),
        Column("Client", 10, grow=1, most=20),
        Column("Package", 14, grow=2, most=24),
        Column("Router account", 21),
        Column("Expires in", 10, grow=1, most=17),
        Column("Status", 9, drop=1),
        Column("Router", 11, grow=1, most=16, drop=2),
    )
    STATUS_COLUMN = 3
    NEWEST_FIRST = True
