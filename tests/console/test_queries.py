"""The panes' read models, without an app: windows, filters in SQL, account state, the chart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from console.views import details, panes
from console.views.status import BUCKETS, buckets, queue_status
from db.activation import ActivationService
from db.engine import session_scope
from db.models import RouterProvisioning
from tests import factories

NOW = datetime(2026, 3, 2, 6, 30, tzinfo=UTC)


def _seed(engine: Engine, clients: int = 12) -> None:
    factories.setup(engine)
    service = ActivationService(engine)
    for index in range(clients):
        factories.client(engine, f"user{index:02d}", full_name=f"User {index}")
        service.activate(f"user{index:02d}", "Home 10M" if index % 2 else "Fibre 20M", now=NOW)


def test_queue_window_is_newest_first_and_limited(sqlite_engine: Engine) -> None:
    _seed(sqlite_engine)
    with Session(sqlite_engine) as session:
        window = panes.jobs(session, NOW, limit=5)
    assert [row.key for row in window.rows] == ["12", "11", "10", "9", "8"]
    assert window.total == 12


def test_filter_words_must_all_match_in_sql(sqlite_engine: Engine) -> None:
    _seed(sqlite_engine)
    with Session(sqlite_engine) as session:
        window = panes.subscriptions(session, NOW, "user0 fibre")
    assert {row.cells[1] for row in window.rows} == {
        "user00",
        "user02",
        "user04",
        "user06",
        "user08",
    }


def test_subscription_reads_waiting_until_its_job_completes(sqlite_engine: Engine) -> None:
    _seed(sqlite_engine, clients=1)
    with session_scope(sqlite_engine) as session:
        assert panes.subscriptions(session, NOW).rows[0].cells[3] == "waiting for router"
        session.execute(update(RouterProvisioning).values(status="completed"))
        assert panes.subscriptions(session, NOW).rows[0].cells[3] == "on router"


def test_account_state_words() -> None:
    assert panes.account_state("active", "failed", "activate") == "failed: not on router"
    assert panes.account_state("expired", "completed", "deactivate") == "disabled on router"
    assert panes.account_state("active", None, None) == "not queued"


def test_chart_buckets_cover_the_last_hour() -> None:
    moments = [NOW - timedelta(minutes=1), NOW - timedelta(minutes=59), NOW - timedelta(hours=2)]
    counts = buckets(moments, NOW)
    assert len(counts) == BUCKETS
    assert counts[-1] == 1 and counts[0] == 1 and sum(counts) == 2


def test_job_details_hide_the_password_until_revealed(sqlite_engine: Engine) -> None:
    _seed(sqlite_engine, clients=1)
    with Session(sqlite_engine) as session:
        found = details.job(session, 1, UTC)
        password = details.reveal_password(session, 1)
    shown = " ".join(value for _, value in found.fields) + " ".join(found.history)
    assert password not in shown
    assert ("Password", details.HIDDEN) in found.fields
    assert len(password) >= 8


def test_failure_chart_still_counts_a_job_that_was_retried(sqlite_engine: Engine) -> None:
    from db import logs, queue
    from db.engine import session_scope

    _seed(sqlite_engine, clients=1)
    with session_scope(sqlite_engine) as session:
        session.execute(update(RouterProvisioning).values(status="failed", updated_at=NOW))
        logs.error(session, "Router", "job 1 failed for good", provisioning_id=1)
        logs.warning(session, "Router", "router r1 is down")  # health, not a job: not counted
    with session_scope(sqlite_engine) as session:
        queue.retry(session, 1, now=NOW)
    now = datetime.now(UTC)
    with Session(sqlite_engine) as session:
        status = queue_status(session, now, UTC)
    assert status.counts["failed"] == 0
    assert sum(status.failed) == 1
