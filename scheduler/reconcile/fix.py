"""Acting on drift: corrective jobs through the normal queue, and the scheduled read-only check.

Fixes are queued with `db.queue.queue_account`, so they are retried, audited and crash-safe like any
other job. Only accounts are ever queued: a drifted profile of ours is corrected by re-queuing the
accounts on it (the engine ensures the profile before it writes an account); one that is not ours is
never queued. Nothing that is not ours is ever queued for removal: an unknown account is removed
only when it carries our ownership tag. A re-queued account keeps its comment text and the fields no
package models: the engine writes only what it models beside our tag.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from db import logs
from db.config import Settings
from db.engine import session_scope
from db.models import Router, RouterProvisioning, RouterStatus
from db.queue import queue_account
from db.types import utcnow
from scheduler.reconcile.compare import CATEGORIES, DriftReport, Finding, compare_router
from scheduler.reconcile.sides import IN_QUEUE, load_wanted
from scheduler.routeros.client import RouterError

logger = logging.getLogger("wisp.drift")


def queue_fixes(engine: Engine, report: DriftReport) -> list[int]:
    """Queue the jobs that converge the router to the database; returns their job ids.

    A row whose desired state changed since the router was read (another activation, an expiry) is
    left to the queue: re-queuing it with the old action could undo that change.
    """
    requeue: dict[int, tuple[int, Finding]] = {}
    removals: list[Finding] = []
    for finding in report.findings:
        if not finding.fixable:
            continue
        if finding.category == "unknown":
            removals.append(finding)
        for job_id, revision in finding.jobs:
            requeue.setdefault(job_id, (revision, finding))
    queued: list[int] = []
    # On SQLite the write lock is taken at BEGIN: a read-then-write transaction would fail with
    # "database is locked" when a drainer commits between the two.
    with session_scope(engine) as session:
        for job_id, (revision, finding) in sorted(requeue.items()):
            row = _locked(session, RouterProvisioning.id == job_id)
            if row is not None and row.revision == revision and row.status not in IN_QUEUE:
                queued.append(_requeue(session, row, finding))
        for finding in removals:
            removal = _queue_removal(session, report.router_id, finding)
            if removal is not None:
                queued.append(removal)
        if queued:
            logs.info(
                session,
                "Router",
                f"Reconcile of router {report.router} queued {len(queued)} corrective job(s).",
                {"router_id": report.router_id, "jobs": len(queued), **report.counts},
            )
    return queued


def _locked(session: Session, *where: Any) -> RouterProvisioning | None:
    return session.scalars(select(RouterProvisioning).where(*where).with_for_update()).first()


def _requeue(session: Session, row: RouterProvisioning, finding: Finding) -> int:
    account = queue_account(
        session,
        router_id=row.router_id,
        router_username=row.router_username,
        service_type=row.service_type,
        action=row.action,
    )
    logs.info(
        session,
        "Router",
        f"Reconcile re-queued {row.router_username} to {row.action}: {_reason(finding)}.",
        {"router_id": row.router_id, "job_id": account.id},
        client_id=row.client_id,
        provisioning_id=account.id,
    )
    return int(account.id or 0)


def _reason(finding: Finding) -> str:
    what = f"{finding.kind} {finding.name}"
    if finding.category == "missing":
        return f"{what} is missing on the router"
    return f"{what}: " + "; ".join(finding.differences)


def _queue_removal(session: Session, router_id: int, finding: Finding) -> int | None:
    taken = _locked(
        session,
        RouterProvisioning.router_id == router_id,
        RouterProvisioning.service_type == finding.service,
        RouterProvisioning.router_username == finding.name,
    )
    if taken is not None:
        return (
            None  # the database learnt of this account since the read: it is not unknown any more
        )
    account = queue_account(
        session,
        router_id=router_id,
        router_username=finding.name,
        service_type=finding.service,
        action="remove",
    )
    logs.info(
        session,
        "Router",
        f"Reconcile queued the removal of {finding.name}: tagged as ours on the router, unknown to the database.",
        {"router_id": router_id, "job_id": account.id, "service": finding.service},
        provisioning_id=account.id,
    )
    return int(account.id or 0)


@dataclass(frozen=True)
class DriftSummary:
    """The counts of the last drift check of one router, as the console shows them."""

    router: str
    missing: int = 0
    unknown: int = 0
    foreign: int = 0
    different: int = 0
    in_queue: int = 0
    checked_at: datetime | None = None
    error: str | None = None

    @property
    def drift(self) -> int:
        """Objects that drifted (foreign ones are not drift)."""
        return self.missing + self.unknown + self.different

    def counts(self) -> dict[str, Any]:
        """The stored form (routers.drift_summary)."""
        return {c: getattr(self, c) for c in (*CATEGORIES, "in_queue")} | {"error": self.error}

    @classmethod
    def of_router(cls, router: Router) -> DriftSummary | None:
        """The router's last stored summary, or None when it was never checked."""
        stored = router.drift_summary
        if not stored:
            return None
        counts = {c: int(stored.get(c, 0)) for c in (*CATEGORIES, "in_queue")}
        return cls(
            router.name, **counts, checked_at=router.drift_checked_at, error=stored.get("error")
        )


def check_drift(engine: Engine, settings: Settings, router_id: int) -> DriftSummary:
    """Read-only drift check of one router: store the counts on it, log when drift appears or ends.

    A router that cannot be read keeps its last counts with the error noted; this never raises for
    a router problem (the health check reports those).
    """
    with Session(engine) as session:
        router = session.get(Router, router_id)
        if router is None:
            raise ValueError(f"router {router_id} does not exist")
        wanted = load_wanted(session, router_id)
        session.expunge(router)
    try:
        report = compare_router(router, wanted, settings)
    except RouterError as error:
        return _record_failure(engine, router, str(error))
    now = utcnow()
    summary = DriftSummary(router.name, checked_at=now, **report.counts)  # type: ignore[arg-type]
    with session_scope(engine) as session:
        stored = session.get(Router, router_id)
        assert stored is not None, "the router was checked a moment ago"
        previous = DriftSummary.of_router(stored)
        stored.drift_summary, stored.drift_checked_at = summary.counts(), now
        session.add(stored)
        _log_change(session, router_id, previous, summary)
    return summary


def _record_failure(engine: Engine, router: Router, error: str) -> DriftSummary:
    with session_scope(engine) as session:
        stored = session.get(Router, router.id)
        if stored is None:
            raise ValueError(f"router {router.id} does not exist")
        previous = DriftSummary.of_router(stored) or DriftSummary(router.name)
        summary = DriftSummary(**{**previous.__dict__, "error": error})
        stored.drift_summary = summary.counts()
        session.add(stored)
    logger.info("drift check of %s skipped: %s", router.name, error)
    return summary


def _log_change(
    session: Session, router_id: int, previous: DriftSummary | None, now: DriftSummary
) -> None:
    before = previous.counts() if previous else None
    if now.drift and (before is None or {**before, "error": None} != now.counts()):
        logs.warning(
            session,
            "Router",
            f"Router {now.router} drifted from the database: {now.missing} missing, {now.unknown} ours "
            f"but unknown, {now.different} different (`wisp reconcile {now.router} --fix` repairs).",
            {"router_id": router_id, **now.counts()},
        )
    elif not now.drift and previous is not None and previous.drift:
        logs.info(
            session,
            "Router",
            f"Router {now.router} matches the database again.",
            {"router_id": router_id},
        )


def check_all_drift(engine: Engine, settings: Settings) -> list[DriftSummary]:
    """Drift check of every active router, one after the other (for the scheduler's timer)."""
    with Session(engine) as session:
        ids = list(
            session.scalars(
                select(col(Router.id))
                .where(col(Router.status) == RouterStatus.ACTIVE)
                .order_by(col(Router.id))
            )
        )
    return [check_drift(engine, settings, router_id) for router_id in ids if router_id is not None]
