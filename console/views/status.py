"""The status bar's figures: queue counts, router health and the last hour of completions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from db.models import (
    Health,
    J,
    JobStatus,
    L,
    R,
    RouterStatus,
)

BUCKETS = 12
"""Bars of the last-hour chart (five minutes each)."""
CHART_SAMPLE = 20_000
"""At most this many recent completions are counted into the chart."""


@dataclass(frozen=True)
class RouterHealth:
    """One router's health as the scheduler last saw it."""

    name: str
    health: str
    why: str | None
    drift: int = 0
    """Accounts that drifted at the last scheduled drift check (0 when clean or never checked)."""


@dataclass(frozen=True)
class QueueStatus:
    """Everything the status bar shows except the scheduler's own state."""

    counts: dict[str, int]
    routers: list[RouterHealth] = field(default_factory=list)
    completed: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def start_of_day(now: datetime, zone: ZoneInfo) -> datetime:
    """Midnight of `now`'s day in the operator's zone (as an aware time)."""
    local = now.astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def buckets(
    moments: list[datetime], now: datetime, span: timedelta = timedelta(hours=1)
) -> list[int]:
    """Counts of `moments` in BUCKETS equal slices of the `span` before `now`, oldest first."""
    width = span / BUCKETS
    counts = [0] * BUCKETS
    start = now - span
    for moment in moments:
        if start <= moment <= now:
            counts[min(int((moment - start) / width), BUCKETS - 1)] += 1
    return counts


def _since(status: str, column, since: datetime):  # type: ignore[no-untyped-def]
    """Rows of `status` whose `column` is at or after `since`, found through the (status,
    next_attempt_at) index: completing a job sets next_attempt_at to its completion time, and
    failing one sets it at or after the failure, so neither can be older than `column`."""
    return and_(J.c.status == status, J.c.next_attempt_at >= since, column >= since)


def _recent(session: Session, status: str, column, since: datetime) -> list[datetime]:  # type: ignore[no-untyped-def]
    query = select(column).where(_since(status, column, since)).limit(CHART_SAMPLE)
    return list(session.execute(query).scalars())


def failed_attempts(session: Session, since: datetime) -> list[datetime]:
    """When router writes failed since `since`, from the LogService: one row per failed attempt
    (WARNING when it will be retried, ERROR when it failed for good), so a job retried since
    still counts; through the created_at index."""
    query = (
        select(L.c.created_at)
        .where(
            L.c.created_at >= since,
            L.c.type == "Router",
            L.c.level.in_(("WARNING", "ERROR")),
            L.c.provisioning_id.is_not(None),
        )
        .limit(CHART_SAMPLE)
    )
    return list(session.execute(query).scalars())


def counts(session: Session, since: datetime) -> dict[str, int]:
    """Jobs per status; completed counts only those completed since `since` (index-only scans)."""
    result: dict[str, int] = dict.fromkeys(JobStatus, 0)
    for status in (JobStatus.PENDING, JobStatus.PROCESSING, JobStatus.FAILED):
        result[status] = int(
            session.execute(
                select(func.count()).select_from(J).where(J.c.status == status)
            ).scalar_one()
        )
    result[JobStatus.COMPLETED] = int(
        session.execute(
            select(func.count())
            .select_from(J)
            .where(_since(JobStatus.COMPLETED, J.c.completed_at, since))
        ).scalar_one()
    )
    return result


def routers(session: Session) -> list[RouterHealth]:
    """Every active router's health, by name."""
    rows = session.execute(
        select(R.c.name, R.c.health, R.c.last_error, R.c.drift_summary)
        .where(R.c.status == RouterStatus.ACTIVE)
        .order_by(R.c.name)
    )
    return [
        RouterHealth(
            r.name,
            r.health,
            r.last_error if r.health != Health.UP else None,
            _drift(r.drift_summary),
        )
        for r in rows
    ]


def _drift(summary: dict[str, object] | None) -> int:
    """Drifted accounts in a stored drift summary (foreign objects are not drift)."""
    if not summary:
        return 0
    return sum(int(summary.get(c, 0) or 0) for c in ("missing", "unknown", "different"))  # type: ignore[call-overload]


def queue_status(session: Session, now: datetime, zone: ZoneInfo) -> QueueStatus:
    """Queue counts (completed = today, in the operator's zone), routers and the hour's chart."""
    hour_ago = now - timedelta(hours=1)
    return QueueStatus(
        counts=counts(session, start_of_day(now, zone)),
        routers=routers(session),
        completed=buckets(_recent(session, JobStatus.COMPLETED, J.c.completed_at, hour_ago), now),
        failed=buckets(failed_attempts(session, hour_ago), now),
    )
