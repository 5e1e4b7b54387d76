"""The provisioning queue: `router_provisionings` rows and their state machine.

    pending ──claim (atomic, lease)──► processing ──router converged──► completed
       ▲                                   │
       └── error, attempts < max, backoff ─┤
                                           └── attempts exhausted ──► failed (operator retry → pending)

A row is one router account holding its desired state. Claiming is atomic on every backend, so any
number of drainers on any number of hosts never hold one row at once; a claim is a lease that the
reaper hands back when a worker dies. `revision` guards against a desired state that changed while a
worker was busy: finishing an older revision puts the row back to pending.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, case, func, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db import logs, wakes
from db.engine import deadlock_retried, immediate
from db.models import ACTIONS, J, JobStatus, RouterProvisioning
from db.types import utcnow

URGENT = 0
"""Queue priority of a customer's own account (a payment, an operator's activation)."""
BULK = 1
"""Queue priority of bulk work (the accounts of a midnight's expired subscriptions): after every
due job of URGENT, and giving way to it in a drain of this process. Every priority from BULK on
is bulk work."""
STOCK = 2
"""Queue priority of new stock (a voucher batch): bulk work, after the accounts of expired
subscriptions, so nobody keeps access past their time while a batch of vouchers drains."""


@dataclass(frozen=True)
class Job:
    """A claimed job: a snapshot of the row as it was claimed."""

    id: int
    revision: int
    router_id: int
    client_id: int | None
    package_id: int | None
    subscription_id: int | None
    service_type: str
    action: str
    router_username: str
    router_password: str | None
    router_profile: str | None
    attempts: int
    adopt: bool = False
    router_comment: str | None = None
    router_extra: dict[str, Any] | None = None
    priority: int = URGENT


JOB_COLUMNS = [J.c[name] for name in Job.__dataclass_fields__]


_ACCOUNT = (
    select(RouterProvisioning)
    .where(RouterProvisioning.router_id == bindparam("router_id"))  # type: ignore[arg-type]
    .where(RouterProvisioning.service_type == bindparam("service_type"))  # type: ignore[arg-type]
    .where(RouterProvisioning.router_username == bindparam("username"))  # type: ignore[arg-type]
    .with_for_update()
)
"""The account row (router, service, username), locked; built once, as every payment runs it."""


def queue_account(
    session: Session,
    *,
    router_id: int,
    router_username: str,
    service_type: str,
    action: str,
    router_profile: str | None = None,
    router_password: str | None = None,
    new_password: Callable[[], str] | None = None,
    client_id: int | None = None,
    package_id: int | None = None,
    subscription_id: int | None = None,
    adopt: bool | None = None,
    priority: int = URGENT,
    now: datetime | None = None,
) -> RouterProvisioning:
    """Create the account row or re-queue the existing one with a new desired state.

    An account is (router, service, username): a hotspot user and a PPPoE secret of one name are
    two rows. `router_password` is the encrypted password; None keeps the stored one, and
    `new_password` makes one for an account that has none yet. `adopt`
    allows the engine to take over a router account of that name that we did not create.
    `priority` above 0 is bulk work, claimed after every due job of a lower number.
    """
    if action not in ACTIONS:
        raise ValueError(f"action {action!r} is not one of {', '.join(ACTIONS)}")
    now = now or utcnow()
    row = session.scalars(
        _ACCOUNT,
        {"router_id": router_id, "service_type": service_type, "username": router_username},
    ).first()
    if row is None:
        row = RouterProvisioning(
            router_id=router_id,
            router_username=router_username,
            service_type=service_type,
            revision=0,
        )
    row.action = action
    row.adopt = adopt if adopt is not None else bool(row.adopt)
    row.router_profile = router_profile or row.router_profile
    row.router_password = router_password or row.router_password
    if row.router_password is None and new_password is not None:
        row.router_password = new_password()
    row.client_id = client_id if client_id is not None else row.client_id
    row.package_id = package_id if package_id is not None else row.package_id
    row.subscription_id = subscription_id if subscription_id is not None else row.subscription_id
    row.revision += 1
    row.priority = priority
    if row.status != JobStatus.PROCESSING:
        # A busy row stays with its worker; the new revision sends it back to pending afterwards.
        row.status = JobStatus.PENDING
    row.attempts = 0
    row.last_error = None
    row.next_attempt_at = now
    row.completed_at = None
    row.updated_at = now
    session.add(row)
    session.flush()
    wakes.jobs_queued(session)
    return row


def requeue_accounts(
    session: Session,
    accounts: Iterable[RouterProvisioning],
    *,
    action: str,
    router_profile: str | None = None,
    now: datetime | None = None,
    priority: int = URGENT,
) -> list[int]:
    """Queue `action` again for each of the accounts, keeping its router, service and login.

    Returns their ids. A `router_profile` of None keeps each account's own profile.
    """
    queued = []
    for account in accounts:
        queue_account(
            session,
            router_id=account.router_id,
            router_username=account.router_username,
            service_type=account.service_type,
            action=action,
            router_profile=router_profile,
            now=now,
            priority=priority,
        )
        queued.append(int(account.id or 0))
    return queued


def claim(
    engine: Engine,
    *,
    worker: str,
    limit: int,
    router_id: int | None = None,
    now: datetime | None = None,
    due_by: datetime | None = None,
    one_priority: bool = False,
) -> list[Job]:
    """Atomically take up to `limit` due pending jobs (of one router, if given) for `worker`.

    A job is due when its next attempt is at or before `due_by` (default: now). A drain that
    passes its own start never takes again a job it put back during that drain. Customers'
    accounts (URGENT) are taken before bulk work, however long the bulk has waited; with
    `one_priority`, a claim takes jobs of the first due priority only, so a payment is never
    in one batch with bulk work that would hold it up.
    """
    now = now or utcnow()
    due = and_(J.c.status == JobStatus.PENDING, J.c.next_attempt_at <= (due_by or now))
    if router_id is not None:
        due = and_(due, J.c.router_id == router_id)
    if one_priority:
        due = and_(due, J.c.priority == select(func.min(J.c.priority)).where(due).scalar_subquery())
    pick = (
        select(J.c.id).where(due).order_by(J.c.priority, J.c.next_attempt_at, J.c.id).limit(limit)
    )
    take = {
        "status": JobStatus.PROCESSING,
        "locked_at": now,
        "locked_by": worker,
        "updated_at": now,
    }
    backend = engine.dialect.name

    def take_due() -> list[Any]:
        with immediate(engine).begin() as conn:
            if backend == "sqlite":
                # BEGIN IMMEDIATE holds the write lock; the UPDATE … RETURNING is the whole claim.
                return list(
                    conn.execute(
                        update(J)
                        .where(J.c.id.in_(pick.scalar_subquery()))
                        .values(take)
                        .returning(*JOB_COLUMNS)
                    ).all()
                )
            if backend == "postgresql":
                locked = pick.with_for_update(skip_locked=True).scalar_subquery()
                return list(
                    conn.execute(
                        update(J).where(J.c.id.in_(locked)).values(take).returning(*JOB_COLUMNS)
                    ).all()
                )
            # MariaDB/MySQL: no UPDATE … RETURNING and no LIMIT in an IN subquery.
            ids = conn.execute(pick.with_for_update(skip_locked=True)).scalars().all()
            if not ids:
                return []
            conn.execute(update(J).where(J.c.id.in_(ids)).values(take))
            return list(conn.execute(select(*JOB_COLUMNS).where(J.c.id.in_(ids))).all())

    # A claim meeting a router's held jobs made due again (or another drainer) may be the victim
    # of a deadlock: it is taken again, or the jobs would wait for the next drain.
    rows = deadlock_retried(take_due, f"claiming jobs for {worker}")
    jobs = [Job(**row._mapping) for row in rows]
    return sorted(jobs, key=lambda job: job.id)


def _mine(job: Job, worker: str) -> ColumnElement[bool]:
    return and_(J.c.id == job.id, J.c.status == JobStatus.PROCESSING, J.c.locked_by == worker)


def complete(session: Session, job: Job, *, worker: str, now: datetime | None = None) -> bool:
    """Mark the job done; False if the lease was lost. A newer revision goes back to pending."""
    now = now or utcnow()
    stale = J.c.revision != job.revision
    result = session.execute(
        update(J)
        .where(_mine(job, worker))
        .values(
            status=case((stale, JobStatus.PENDING), else_=JobStatus.COMPLETED),
            completed_at=case((stale, None), else_=now),
            next_attempt_at=now,
            locked_at=None,
            locked_by=None,
            last_error=None,
            updated_at=now,
        )
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Completion:
    """What `complete_many` did: ids completed, and ids whose lease this worker no longer held."""

    completed: set[int]
    lost: set[int]


def complete_many(
    session: Session, jobs: list[Job], *, worker: str, now: datetime | None = None
) -> Completion:
    """`complete` for a whole batch in a few statements.

    Rows whose desired state changed meanwhile (another revision) go back to pending instead;
    rows whose lease was lost are left alone and reported as lost. One UPDATE per distinct
    revision, then one for the stale rest, so a batch costs a handful of statements rather than
    one per job.
    """
    now = now or utcnow()
    ids = [job.id for job in jobs]
    by_revision: dict[int, list[int]] = {}
    for job in jobs:
        by_revision.setdefault(job.revision, []).append(job.id)
    held = and_(J.c.status == JobStatus.PROCESSING, J.c.locked_by == worker)
    lost = set(ids) - set(session.execute(select(J.c.id).where(J.c.id.in_(ids), held)).scalars())
    released = {"locked_at": None, "locked_by": None, "last_error": None, "updated_at": now}
    for revision, group in by_revision.items():
        session.execute(
            update(J)
            .where(J.c.id.in_(group), J.c.revision == revision, held)
            .values(status=JobStatus.COMPLETED, completed_at=now, next_attempt_at=now, **released)
        )
    session.execute(
        update(J)
        .where(J.c.id.in_(ids), held)
        .values(status=JobStatus.PENDING, next_attempt_at=now, **released)
    )
    done = select(J.c.id).where(
        J.c.id.in_(ids), J.c.status == JobStatus.COMPLETED, J.c.completed_at == now
    )
    return Completion(set(session.execute(done).scalars()) - lost, lost)


def renew(
    session: Session, ids: Collection[int], *, worker: str, now: datetime | None = None
) -> set[int]:
    """Extend this worker's leases on `ids` (the heartbeat of a running batch).

    Returns the ids it still holds; the others were handed back by a reaper or completed.
    """
    now = now or utcnow()
    held: set[int] = set()
    ordered = sorted(ids)
    for start in range(0, len(ordered), RENEW_CHUNK):
        chunk = ordered[start : start + RENEW_CHUNK]
        mine = and_(J.c.id.in_(chunk), J.c.status == JobStatus.PROCESSING, J.c.locked_by == worker)
        session.execute(update(J).where(mine).values(locked_at=now))
        held.update(session.execute(select(J.c.id).where(mine)).scalars())
    return held


RENEW_CHUNK = 1000
"""Leases renewed per statement (well under every backend's limit on bound parameters)."""


def backoff_delay(
    attempts: int, *, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """Exponential backoff with 'equal jitter': half fixed, half random, never above `cap`."""
    delay = min(cap, base * (2 ** max(attempts - 1, 0)))
    return delay / 2 + (rng or random).uniform(0, delay / 2)


def fail(
    session: Session,
    job: Job,
    error: str,
    *,
    worker: str,
    max_attempts: int,
    backoff_base: float,
    backoff_max: float,
    now: datetime | None = None,
) -> str:
    """Spend one attempt on a router error; returns the new status (pending or failed)."""
    now = now or utcnow()
    attempts = job.attempts + 1
    final = attempts >= max_attempts
    delay = backoff_delay(attempts, base=backoff_base, cap=backoff_max)
    stale = J.c.revision != job.revision
    status = JobStatus.FAILED if final else JobStatus.PENDING
    result = session.execute(
        update(J)
        .where(_mine(job, worker))
        .values(
            # A desired state that changed meanwhile deserves a fresh try, not this job's verdict.
            status=case((stale, JobStatus.PENDING), else_=status),
            attempts=case((stale, 0), else_=attempts),
            next_attempt_at=case((stale, now), else_=now + timedelta(seconds=delay)),
            last_error=error[:4000],
            locked_at=None,
            locked_by=None,
            updated_at=now,
        )
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return "lost"
    return status


def release(
    session: Session, jobs: list[Job], *, worker: str, error: str | None, retry_at: datetime
) -> int:
    """Hand jobs back to pending without spending an attempt (their router is down)."""
    if not jobs:
        return 0
    return _back_to_pending(
        session,
        J.c.id.in_([job.id for job in jobs]),
        J.c.locked_by == worker,
        retry_at=retry_at,
        now=utcnow(),
        last_error=error,
    )


def _back_to_pending(
    session: Session, *where: Any, retry_at: datetime, now: datetime, **values: Any
) -> int:
    """Move the processing jobs matching `where` back to pending, due at `retry_at`."""
    result = session.execute(
        update(J)
        .where(J.c.status == JobStatus.PROCESSING, *where)
        .values(
            status=JobStatus.PENDING,
            next_attempt_at=retry_at,
            locked_at=None,
            locked_by=None,
            updated_at=now,
            **values,
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def reap(session: Session, *, lease_seconds: int, now: datetime | None = None) -> int:
    """Return jobs whose lease expired to pending. A separate statement per worker.

    A live worker renews the leases of the batch it is on, so a lease runs out only when its
    worker stopped, or could not reach the database for a whole lease; the log says which worker.
    """
    now = now or utcnow()
    expired = and_(
        J.c.status == JobStatus.PROCESSING, J.c.locked_at < now - timedelta(seconds=lease_seconds)
    )
    workers = session.execute(select(J.c.locked_by).where(expired).distinct()).scalars().all()
    total = 0
    for worker in sorted(workers, key=str):
        who = J.c.locked_by == worker if worker is not None else J.c.locked_by.is_(None)
        count = _back_to_pending(session, expired, who, retry_at=now, now=now)
        total += count
        if count:
            logs.warning(
                session,
                "Router",
                f"Returned {count} job(s) of worker {worker} to pending: it did not renew their "
                f"lease for {lease_seconds} s (it stopped, or lost the database).",
                {"count": count, "worker": worker, "lease_seconds": lease_seconds},
            )
    return total


def retry(session: Session, job_id: int | None = None, *, now: datetime | None = None) -> list[int]:
    """Operator retry: failed → pending with attempts reset. `job_id=None` retries every failed job."""
    now = now or utcnow()
    query = select(J.c.id).where(J.c.status == JobStatus.FAILED)
    if job_id is not None:
        query = query.where(J.c.id == job_id)
    ids = list(session.execute(query).scalars())
    if ids:
        session.execute(
            update(J)
            .where(J.c.id.in_(ids), J.c.status == JobStatus.FAILED)
            .values(
                status=JobStatus.PENDING,
                attempts=0,
                next_attempt_at=now,
                locked_at=None,
                locked_by=None,
                updated_at=now,
            )
        )
        for job in ids:
            logs.info(
                session,
                "Router",
                f"Operator retry of job {job}: failed → pending.",
                provisioning_id=job,
            )
        wakes.jobs_queued(session)
    return ids


def counts(session: Session, *, since: datetime | None = None) -> dict[str, int]:
    """How many jobs are in each status; `completed` counts only those completed since `since`."""
    rows = session.execute(select(J.c.status, func.count()).group_by(J.c.status)).all()
    result: dict[str, int] = dict.fromkeys(JobStatus, 0)
    result.update({status: int(n) for status, n in rows})
    if since is not None:
        result[JobStatus.COMPLETED] = int(
            session.execute(
                select(func.count()).where(
                    J.c.status == JobStatus.COMPLETED, J.c.completed_at >= since
                )
            ).scalar_one()
        )
    return result
