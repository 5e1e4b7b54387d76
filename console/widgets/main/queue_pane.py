"""The provisioning queue pane: every router account and where its desired state stands."""

from __future__ import annotations

from console.views.columns import Column
from console.widgets.main.pane import Pane


class QueuePane(Pane):
    """Jobs of `router_provisionings`, newest first."""

    TITLE = "Provisioning queue"
    NUMBER = 3
    KIND = "job"
    # What an operator scans first comes first and stays at 80 columns: the job, its account, its
    # status, router and age, and as much of the last error as fits (details show all of it).
    COLUMNS = (
        Column("Job", 4),
        Column("Account", 10, grow=1, most=20),
        Column("Status", 10),
        Column("Action", 10, drop=2),
        Column("Router", 11, grow=1, most=16),
        Column("Tries", 5, drop=3),
        Column("Next try", 8, drop=1),
        Column("Age", 7),
        Column("Last error", 20, grow=6),
    )
    STATUS_COLUMN = 2
    NEWEST_FIRST = True
    HINTS = (("pane_payments", "payments"),)
