"""Writing a batch's results to the queue in one transaction, with a LogService entry per job.

done → completed (a newer desired state sends it back to pending, see db.queue); error → one attempt
spent, retried with backoff or failed for good; held → handed back without spending an attempt (its
router is away, or this process is stopping). Events go out only after the commit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from db import logs, queue
from db.config import QueueSettings
from db.delivery import mark_delivered
from db.engine import deadlock_retried, session_scope
from db.models import Action, JobStatus
from db.outage import is_outage, outages
from db.secrets import mask
from db.types import utcnow
from scheduler.engine.events import (
    DrainReport,
    EngineEvent,
    EventSink,
    JobCompleted,
    JobFailed,
    emit,
)
from scheduler.engine.plan import Work

logger = logging.getLogger("wisp.engine")
OUTAGE_RETRY_SECONDS = 1.0
"""While the database is away, how often a batch's outcomes are tried again."""
OUTAGE_LEASE_SHARE = 0.5
"""Share of a lease a batch's outcomes are tried for: the jobs' lease still holds meanwhile."""

PAST: dict[str, str] = {
    Action.ACTIVATE: "activated",
    Action.DEACTIVATE: "deactivated",
    Action.REMOVE: "removed",
}


class Verdict(StrEnum):
    """How one job ended on the router."""

    DONE = "done"
    ERROR = "error"
    HELD = "held"
    """Handed back without spending an attempt: its router is away, or this process is stopping."""
    LOST = "lost"
    """Not tried: its lease was lost (or could not be renewed), so another worker may hold it."""


@dataclass(frozen=True)
class Outcome:
    """How one job ended on the router: status done, error or held."""

    work: Work
    status: str
    error: str | None = None
    final: bool = False
    """An error no retry can mend (the router's object is not ours): failed for good at once."""


@dataclass(frozen=True)
class Batch:
    """Who wrote the batch and how long held jobs wait."""

    router: str
    worker: str
    hold_seconds: float = 0.0
    hold_error: str | None = None


def record(
    engine: Engine,
    settings: QueueSettings,
    batch: Batch,
    outcomes: Sequence[Outcome],
    sink: EventSink | None,
    stopping: Callable[[], bool] = lambda: False,
) -> DrainReport:
    """Store every outcome in one transaction; report the counts and send the events.

    A transaction the database broke off to end a deadlock with another drainer is tried again,
    and so is one the database was away for, every OUTAGE_RETRY_SECONDS for up to half a lease
    (unless `stopping`): given up, the batch would stay claimed until its lease ran out and then
    be done a second time.
    """
    give_up_at = time.monotonic() + settings.lease_seconds * OUTAGE_LEASE_SHARE
    waited = False
    while True:
        try:
            report, events = deadlock_retried(
                lambda: _record(engine, settings, batch, outcomes),
                f"recording a batch of router {batch.router}",
            )
            break
        except DBAPIError as error:
            if not is_outage(error) or stopping() or time.monotonic() >= give_up_at:
                raise
            if not waited:
                logger.warning(
                    "the outcomes of a batch of router %s wait for the database", batch.router
                )
                waited = True
            time.sleep(OUTAGE_RETRY_SECONDS)
    outages.recovered()
    for event in events:
        emit(sink, event)
    return report


def _record(
    engine: Engine, settings: QueueSettings, batch: Batch, outcomes: Sequence[Outcome]
) -> tuple[DrainReport, list[EngineEvent]]:
    report, events = DrainReport(), []
    now = utcnow()
    with session_scope(engine) as session, logs.deferred(session):
        events += _complete(
            session, batch, [o for o in outcomes if o.status == Verdict.DONE], now, report
        )
        for outcome in outcomes:
            if outcome.status == Verdict.ERROR:
                events += _fail(session, settings, batch, outcome, now, report)
        _hold(session, batch, [o for o in outcomes if o.status == Verdict.HELD], now, report)
        _let_go(session, batch, [o for o in outcomes if o.status == Verdict.LOST], now)
    return report, events


def _complete(
    session: Session, batch: Batch, done: list[Outcome], now: datetime, report: DrainReport
) -> list[EngineEvent]:
    if not done:
        return []
    completion = queue.complete_many(
        session, [o.work.job for o in done], worker=batch.worker, now=now
    )
    completed = completion.completed
    if completion.lost:
        _log_lost_results(session, batch, [o for o in done if o.work.job.id in completion.lost])
    mark_delivered(
        session,
        [
            o.work.job.id
            for o in done
            if o.work.job.id in completed and o.work.job.action == Action.ACTIVATE
        ],
        now,
    )
    events: list[EngineEvent] = []
    for job in (o.work.job for o in done if o.work.job.id in completed):
        # Jobs not in `completed` lost their lease or have a newer desired state: not done yet.
        report.completed += 1
        logs.info(
            session,
            "Router",
            f"{job.router_username} {PAST[job.action]} on router {batch.router} (job {job.id}).",
            {
                "job_id": job.id,
                "action": job.action,
                "router": batch.router,
                "service": job.service_type,
            },
            client_id=job.client_id,
            provisioning_id=job.id,
        )
        events.append(
            JobCompleted(job.id, batch.router, job.router_username, job.service_type, job.action)
        )
    return events


def _log_lost_results(session: Session, batch: Batch, done: list[Outcome]) -> None:
    """Say that a job was done after its lease was lost: the worker holding it now does it again."""
    ids = ", ".join(str(o.work.job.id) for o in done)
    message = (
        f"Job(s) {ids} were done on router {batch.router} by worker {batch.worker} after their "
        "lease had run out; the result was not recorded and the worker holding them now "
        "converges them again."
    )
    logger.warning(message)
    logs.warning(session, "Router", message, {"jobs": [o.work.job.id for o in done]})


def _let_go(session: Session, batch: Batch, lost: list[Outcome], now: datetime) -> None:
    """Jobs not tried because their lease may be lost: back to pending if they are still ours."""
    if not lost:
        return
    count = queue.release(
        session, [o.work.job for o in lost], worker=batch.worker, error=None, retry_at=now
    )
    logger.info(
        "worker %s left %d job(s) of router %s untried: their lease was lost or could not be "
        "renewed (%d were still its own and went back to pending)",
        batch.worker,
        len(lost),
        batch.router,
        count,
    )


def _fail(
    session: Session,
    settings: QueueSettings,
    batch: Batch,
    outcome: Outcome,
    now: datetime,
    report: DrainReport,
) -> list[EngineEvent]:
    job = outcome.work.job
    error = mask(outcome.error or "unknown error")
    status = queue.fail(
        session,
        job,
        error,
        worker=batch.worker,
        max_attempts=1 if outcome.final else settings.max_attempts,
        backoff_base=settings.backoff_base,
        backoff_max=settings.backoff_max,
        now=now,
    )
    if status == "lost":
        logger.warning(
            "job %s met an error on router %s after worker %s had lost its lease; the error was "
            "not recorded (the worker holding the job now tries it): %s",
            job.id,
            batch.router,
            batch.worker,
            error,
        )
        return []
    final = status == JobStatus.FAILED
    report.failed += final
    report.retried += not final
    attempts = job.attempts + 1
    verdict = (
        "failed for good"
        if final
        else f"will be retried (attempt {attempts} of {settings.max_attempts})"
    )
    (logs.error if final else logs.warning)(
        session,
        "Router",
        f"{job.action.capitalize()} of {job.router_username} on router {batch.router} (job {job.id}) "
        f"{verdict}: {error}",
        {"job_id": job.id, "action": job.action, "router": batch.router, "attempts": attempts},
        client_id=job.client_id,
        provisioning_id=job.id,
    )
    return [
        JobFailed(job.id, batch.router, job.router_username, job.action, error, attempts, final)
    ]


def _hold(
    session: Session, batch: Batch, held: list[Outcome], now: datetime, report: DrainReport
) -> None:
    if not held:
        return
    jobs = [outcome.work.job for outcome in held]
    error = mask(batch.hold_error) if batch.hold_error else None
    count = queue.release(
        session,
        jobs,
        worker=batch.worker,
        error=error,
        retry_at=now + timedelta(seconds=batch.hold_seconds),
    )
    report.paused += count
    if error:
        report.paused_routers.add(batch.router)
