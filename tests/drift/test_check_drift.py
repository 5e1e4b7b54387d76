"""The scheduled read-only drift check: counts stored on the router, a log entry when drift appears."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from db.models import Router, RouterProvisioning, SystemLog
from scheduler.reconcile.compare import reconcile
from scheduler.reconcile.fix import DriftSummary, check_all_drift, check_drift, queue_fixes
from tests.drift.conftest import Drifted, drain


def drift_logs(engine) -> list[str]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(SystemLog.message).where(
                    SystemLog.message.like("Router r1 %rift%")
                    | SystemLog.message.like("Router r1 matches%")
                )
            )
        )  # type: ignore[attr-defined]


def test_the_check_stores_counts_and_logs_once_while_drift_stays_the_same(drifted: Drifted):
    summary = check_drift(drifted.engine, drifted.settings, 1)
    assert (
        summary.missing,
        summary.unknown,
        summary.foreign,
        summary.different,
        summary.drift,
    ) == (1, 1, 3, 4, 6)
    check_drift(drifted.engine, drifted.settings, 1)
    with Session(drifted.engine) as session:
        router = session.get(Router, 1)
        stored = DriftSummary.of_router(router)
    assert stored is not None and stored.drift == 6 and stored.checked_at is not None
    assert drift_logs(drifted.engine) == [
        "Router r1 drifted from the database: 1 missing, 1 ours but unknown, 4 different "
        "(`wisp reconcile r1 --fix` repairs)."
    ]


def test_the_check_changes_nothing_and_notes_when_the_router_matches_again(drifted: Drifted):
    before = drifted.sim.rows("/ip/hotspot/user")
    check_drift(drifted.engine, drifted.settings, 1)
    with Session(drifted.engine) as session:
        assert {r.status for r in session.scalars(select(RouterProvisioning))} == {"completed"}
    assert drifted.sim.rows("/ip/hotspot/user") == before
    queue_fixes(drifted.engine, reconcile(drifted.engine, drifted.settings, "r1"))
    drain(drifted.engine, drifted.settings)
    assert check_all_drift(drifted.engine, drifted.settings)[0].drift == 0
    assert drift_logs(drifted.engine)[-1] == "Router r1 matches the database again."


def test_a_down_router_keeps_its_last_counts_with_the_error(drifted: Drifted):
    check_drift(drifted.engine, drifted.settings, 1)
    drifted.sim.down()
    summary = check_drift(drifted.engine, drifted.settings, 1)
    assert (
        summary.drift == 6 and summary.error and summary.error.startswith("router r1 (127.0.0.1:")
    )


def test_the_service_runs_the_drift_check_only_when_an_interval_is_set(drifted: Drifted):
    from scheduler.engine.service import ProvisioningService

    for interval, expected in ((0.0, False), (900.0, True)):
        drifted.settings.scheduler.drift_interval = interval
        service = ProvisioningService(drifted.settings, drifted.engine, worker="t")
        service.start()
        try:
            assert (service._scheduler.get_job("drift") is not None) is expected  # type: ignore[union-attr]
        finally:
            service.shutdown()
    service.check_drift()
    with Session(drifted.engine) as session:
        assert session.get(Router, 1).drift_summary["different"] == 4  # type: ignore[union-attr, index]
