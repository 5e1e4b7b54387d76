"""The provisioning queue's state machine and its atomic claims, on every backend."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select, update

from db import queue
from db.engine import session_scope
from db.models import RouterProvisioning
from db.types import utcnow
from tests import factories


def enqueue(engine, count: int, router_id: int = 1, prefix: str = "user") -> None:
    with session_scope(engine) as session:
        for i in range(count):
            queue.queue_account(
                session,
                router_id=router_id,
                router_username=f"{prefix}{i:05d}",
                service_type="hotspot",
                action="activate",
                router_profile="HOTSPOT_10M_PERSONAL",
            )


def statuses(engine) -> dict[str, int]:
    with session_scope(engine) as session:
        return queue.counts(session)


def test_claim_takes_due_jobs_once_and_leases_them(engine):
    factories.router(engine)
    enqueue(engine, 5)
    first = queue.claim(engine, worker="w1", limit=3)
    second = queue.claim(engine, worker="w2", limit=10)
    assert [j.router_username for j in first] == ["user00000", "user00001", "user00002"]
    assert [j.router_username for j in second] == ["user00003", "user00004"]
    assert queue.claim(engine, worker="w3", limit=10) == []
    with session_scope(engine) as session:
        rows = session.scalars(select(RouterProvisioning).order_by(RouterProvisioning.id)).all()
        assert [r.locked_by for r in rows] == ["w1", "w1", "w1", "w2", "w2"]
        assert all(r.status == "processing" and r.locked_at is not None for r in rows)


def test_concurrent_claimers_never_share_a_row(engine):
    factories.router(engine)
    enqueue(engine, 300)
    taken: dict[str, list[int]] = {}

    def drain(worker: str) -> None:
        mine = taken.setdefault(worker, [])
        while batch := queue.claim(engine, worker=worker, limit=7):
            mine.extend(job.id for job in batch)

    threads = [threading.Thread(target=drain, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [i for batch in taken.values() for i in batch]
    assert len(ids) == 300
    assert len(set(ids)) == 300


def test_claim_skips_jobs_not_yet_due_and_other_routers(engine):
    factories.router(engine)
    factories.router(engine, "r2", port=8729)
    enqueue(engine, 2, router_id=1)
    enqueue(engine, 2, router_id=2, prefix="other")
    with session_scope(engine) as session:
        session.execute(
            update(RouterProvisioning)
            .where(RouterProvisioning.router_username == "user00001")
            .values(next_attempt_at=utcnow() + timedelta(minutes=5))
        )
    jobs = queue.claim(engine, worker="w", limit=10, router_id=1)
    assert [j.router_username for j in jobs] == ["user00000"]


def test_completion_marks_completed_and_clears_the_lease(engine):
    factories.router(engine)
    enqueue(engine, 1)
    [job] = queue.claim(engine, worker="w", limit=1)
    with session_scope(engine) as session:
        assert queue.complete(session, job, worker="w")
        row = session.get(RouterProvisioning, job.id)
        assert (row.status, row.locked_by, row.locked_at) == ("completed", None, None)
        assert row.completed_at is not None


def test_desired_state_changed_while_processing_goes_back_to_pending(engine):
    factories.router(engine)
    enqueue(engine, 1)
    [job] = queue.claim(engine, worker="w", limit=1)
    with session_scope(engine) as session:
        queue.queue_account(
            session,
            router_id=1,
            router_username="user00000",
            service_type="hotspot",
            action="deactivate",
        )
        assert (
            session.get(RouterProvisioning, job.id).status == "processing"
        )  # still with its worker
    with session_scope(engine) as session:
        assert queue.complete(session, job, worker="w")
    [again] = queue.claim(engine, worker="w", limit=1)
    assert again.action == "deactivate"
    assert again.revision == job.revision + 1


def test_router_errors_spend_attempts_with_backoff_until_failed(engine):
    factories.router(engine)
    enqueue(engine, 1)
    for attempt in (1, 2):
        with session_scope(engine) as session:
            session.execute(update(RouterProvisioning).values(next_attempt_at=utcnow()))
        [job] = queue.claim(engine, worker="w", limit=1)
        with session_scope(engine) as session:
            status = queue.fail(
                session,
                job,
                "failure: already have user with this name for this server",
                worker="w",
                max_attempts=2,
                backoff_base=60,
                backoff_max=600,
            )
            row = session.get(RouterProvisioning, job.id)
        assert row.attempts == attempt
    assert status == "failed"
    assert row.last_error == "failure: already have user with this name for this server"
    assert statuses(engine)["failed"] == 1


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    import random

    rng = random.Random(7)
    delays = [queue.backoff_delay(n, base=5, cap=60, rng=rng) for n in range(1, 7)]
    for n, delay in enumerate(delays, start=1):
        full = min(60, 5 * 2 ** (n - 1))
        assert full / 2 <= delay <= full


def test_release_hands_jobs_back_without_spending_attempts(engine):
    factories.router(engine)
    enqueue(engine, 3)
    jobs = queue.claim(engine, worker="w", limit=3)
    later = utcnow() + timedelta(seconds=30)
    with session_scope(engine) as session:
        assert (
            queue.release(
                session, jobs, worker="w", error="router r1 is unreachable", retry_at=later
            )
            == 3
        )
        rows = session.scalars(select(RouterProvisioning)).all()
    assert {(r.status, r.attempts) for r in rows} == {("pending", 0)}


def test_reaper_returns_expired_leases_and_a_late_worker_cannot_complete(engine):
    factories.router(engine)
    enqueue(engine, 2)
    jobs = queue.claim(engine, worker="dead", limit=2)
    with session_scope(engine) as session:
        assert queue.reap(session, lease_seconds=120) == 0  # leases still fresh
        session.execute(
            update(RouterProvisioning).values(locked_at=utcnow() - timedelta(minutes=10))
        )
    with session_scope(engine) as session:
        assert queue.reap(session, lease_seconds=120) == 2
    with session_scope(engine) as session:
        assert not queue.complete(session, jobs[0], worker="dead")
    assert statuses(engine)["pending"] == 2


def test_operator_retry_resets_failed_jobs_only(engine):
    factories.router(engine)
    enqueue(engine, 3)
    with session_scope(engine) as session:
        session.execute(
            update(RouterProvisioning)
            .where(RouterProvisioning.id <= 2)
            .values(status="failed", attempts=5)
        )
    with session_scope(engine) as session:
        assert queue.retry(session, 1) == [1]
    with session_scope(engine) as session:
        assert queue.retry(session) == [2]
        rows = {r.id: (r.status, r.attempts) for r in session.scalars(select(RouterProvisioning))}
    assert rows == {1: ("pending", 0), 2: ("pending", 0), 3: ("pending", 0)}


def test_a_claim_of_one_priority_takes_the_urgent_jobs_alone_then_the_bulk(engine):
    factories.router(engine)
    with session_scope(engine) as session:
        for i in range(4):
            queue.queue_account(
                session,
                router_id=1,
                router_username=f"voucher{i}",
                service_type="hotspot",
                action="activate",
                priority=queue.BULK,
            )
    enqueue(engine, 2, prefix="paid")  # queued after the vouchers
    urgent = queue.claim(engine, worker="w1", limit=10, one_priority=True)
    assert [(j.router_username, j.priority) for j in urgent] == [
        ("paid00000", queue.URGENT),
        ("paid00001", queue.URGENT),
    ]
    bulk = queue.claim(engine, worker="w1", limit=10, one_priority=True)
    assert [j.router_username for j in bulk] == [f"voucher{i}" for i in range(4)]
    assert {j.priority for j in bulk} == {queue.BULK}


def test_expired_accounts_are_claimed_before_a_voucher_batch_and_after_payments(engine):
    """Nobody keeps access past their time while new vouchers go out; a payment goes first."""
    factories.router(engine)

    def put(name: str, action: str, priority: int) -> None:
        with session_scope(engine) as session:
            queue.queue_account(
                session,
                router_id=1,
                router_username=name,
                service_type="hotspot",
                action=action,
                priority=priority,
            )

    put("voucher1", "activate", queue.STOCK)
    put("expired1", "deactivate", queue.BULK)
    put("paid1", "activate", queue.URGENT)
    order = [
        [j.router_username for j in queue.claim(engine, worker="w", limit=10, one_priority=True)]
        for _ in range(3)
    ]
    assert order == [["paid1"], ["expired1"], ["voucher1"]]
