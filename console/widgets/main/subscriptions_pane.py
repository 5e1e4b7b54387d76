"""The subscriptions pane: who has which package until when, and whether the router has it yet."""

from __future__ import annotations

from console.widgets.main.pane import Pane


class SubscriptionsPane(Pane):
    """Subscriptions, newest first."""

    TITLE = "Subscriptions"
    NUMBER = 2
    KIND = "subscription"
    # The router account state comes before the less urgent columns, to fit 80 columns.
    COLUMNS = (
        ("#", 5),
        ("Client", 12),
        ("Package", 14),
        ("Router account", 21),
        ("Expires in", 10),
        ("Status", 9),
        ("Router", 11),
    )
    STATUS_COLUMN = 3
