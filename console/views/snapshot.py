"""One poll of the main screen: every pane's window and the status figures, in one session."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from console.views import panes, payments
from console.views.payments import PaymentsHour
from console.views.status import QueueStatus, queue_status
from console.views.window import Window


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
    payments: Window = field(default_factory=Window)
    payments_hour: PaymentsHour = field(default_factory=PaymentsHour)
    filters: Filters = field(default_factory=Filters)


def take(engine: Engine, now: datetime, zone: ZoneInfo, filters: Filters) -> Snapshot:
    """Query every pane's window and the status bar (call from a worker thread)."""
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
