"""One poll of the main screen: every pane's window and the status figures, in one session.

`Filters` and `Snapshot` are plain data, imported with the main screen; `take` imports the queries
(SQLAlchemy, the models) when it first runs, in the poll's worker thread, so the screen's first
frame does not wait for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from console.views.window import Window

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from console.views.payments import PaymentsHour
    from console.views.status import QueueStatus


@dataclass(frozen=True)
class Filters:
    """The text each pane is filtered by (empty: no filter)."""

    packages: str = ""
    subscriptions: str = ""
    jobs: str = ""
    payments: str = ""


@dataclass(frozen=True)
class Snapshot:
    """What the main screen shows at one moment."""

    packages: Window
    subscriptions: Window
    jobs: Window
    status: QueueStatus
    payments: Window
    payments_hour: PaymentsHour
    filters: Filters = field(default_factory=Filters)


def take(engine: Engine, now: datetime, zone: ZoneInfo, filters: Filters) -> Snapshot:
    """Query every pane's window and the status bar (call from a worker thread)."""
    from sqlalchemy.orm import Session

    from console.views import panes, payments
    from console.views.status import queue_status

    with Session(engine) as session:
        return Snapshot(
            packages=panes.packages(session, filters.packages),
            subscriptions=panes.subscriptions(session, now, filters.subscriptions),
            jobs=panes.jobs(session, now, filters.jobs),
            status=queue_status(session, now, zone),
            payments=payments.payments(session, now, zone, filters.payments),
            payments_hour=payments.last_hour(session, now),
            filters=filters,
        )
