"""The provisioning queue pane: every router account and where its desired state stands."""

from __future__ import annotations

from console.widgets.main.pane import Pane


class QueuePane(Pane):
    """Jobs of `router_provisionings`, newest first."""

    TITLE = "Provisioning queue"
    NUMBER = 3
    KIND = "job"
    # What an operator scans first comes first, so an 80-column terminal shows it.
    COLUMNS = (
        ("Job", 5),
        ("Account", 12),
        ("Status", 10),
        ("Action", 10),
        ("Router", 11),
        ("Tries", 5),
        ("Next try", 8),
        ("Age", 7),
        ("Last error", 60),
    )
    STATUS_COLUMN = 2
