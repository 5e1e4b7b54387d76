"""Leases outlived by their batch: renewed while the batch runs, and never redone by a worker
that lost one."""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db import queue
from db.engine import session_scope
from db.models import RouterProvisioning, SystemLog
from db.types import utcnow
from scheduler.engine.leases import Leases
from scheduler.engine.service import ProvisioningService
from scheduler.sim import SimRouter
from tests import factories
from tests.scheduler.bulk import queue_accounts
from tests.scheduler.conftest import SIM_PASSWORD, engine_settings, write_config
from tests.scheduler.processes import start_runner, statuses, stop_runners
from tests.waiting import wait_for

ADD = "/ip/hotspot/user/add"
SET = "/ip/hotspot/user/set"


def reaped(engine: Engine) -> int:
    """Jobs the reaper handed back (each is a lease lost, whose job may be written twice)."""
    with Session(engine) as session:
        messages = session.scalars(
            select(SystemLog.message).where(SystemLog.message.startswith("Returned "))  # type: ignore[attr-defined]
        ).all()
    return sum(int(re.match(r"Returned (\d+)", m).group(1)) for m in messages)  # type: ignore[union-attr]


@pytest.mark.slow
def test_two_runners_with_a_lease_shorter_than_a_batch_write_each_account_once(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    count = 600
    with SimRouter(password=SIM_PASSWORD) as sim:
        factories.setup(sqlite_engine, router_port=sim.port, password=SIM_PASSWORD)
        names = queue_accounts(sqlite_engine, router="r1", package="Home 10M", count=count)
        sim.faults.latency = 0.1  # a far router: a 200-job batch takes longer than the lease
        config = write_config(
            tmp_path / "config.toml",
            str(sqlite_engine.url),
            queue={"lease_seconds": 2, "batch_size": 200},
            scheduler={
                "drain_interval": 0.2,
                "reaper_interval": 0.5,
                "health_interval": 600,
                "expiry_interval": 600,
            },
        )
        runners = [start_runner(config, "--worker", f"runner-{n}") for n in range(2)]
        try:
            wait_for(
                lambda: statuses(sqlite_engine)["completed"] == count,
                timeout=240,
                poll=0.5,
                describe=lambda: f"{statuses(sqlite_engine)}, {sim.stats[SET]} sets",
            )
        finally:
            codes = stop_runners(runners)
        assert codes == [0, 0]
        assert statuses(sqlite_engine) == Counter({"completed": count})
        on_router = Counter(row["name"] for row in sim.rows("/ip/hotspot/user"))
        assert set(on_router) == set(names) and set(on_router.values()) == {1}
        assert sim.stats[ADD] == count
        # A job is written a second time only when its lease was really lost.
        assert sim.stats[SET] <= reaped(sqlite_engine), (sim.stats[SET], reaped(sqlite_engine))


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_renewal_keeps_held_leases_and_finds_the_ones_taken_away(engine: Engine) -> None:
    factories.router(engine)
    factories.package(engine)
    queue_accounts(engine, router="r1", package="Home 10M", count=4)
    jobs = queue.claim(engine, worker="w1", limit=4)
    clock = Clock()
    leases = Leases(engine, "w1", 30, clock=clock)
    try:
        leases.hold([job.id for job in jobs])
        with session_scope(engine) as session:  # the reaper of another process took two
            session.execute(
                update(RouterProvisioning)
                .where(RouterProvisioning.id.in_([jobs[0].id, jobs[1].id]))  # type: ignore[attr-defined]
                .values(status="pending", locked_by=None, locked_at=None)
            )
        assert leases.renew() == {jobs[0].id, jobs[1].id}
        assert [leases.lost(job.id) for job in jobs] == [True, True, False, False]
        with Session(engine) as session:
            renewed = session.scalars(
                select(RouterProvisioning.locked_at).where(RouterProvisioning.locked_by == "w1")
            ).all()
        assert len(renewed) == 2
    finally:
        leases.close()


def test_a_lease_not_renewed_for_most_of_its_time_is_taken_as_lost(sqlite_engine: Engine) -> None:
    factories.router(sqlite_engine)
    factories.package(sqlite_engine)
    queue_accounts(sqlite_engine, router="r1", package="Home 10M", count=1)
    [job] = queue.claim(sqlite_engine, worker="w1", limit=1)
    clock = Clock()
    leases = Leases(sqlite_engine, "w1", 10, clock=clock)
    try:
        leases.hold([job.id])
        clock.now += 7.9
        assert not leases.lost(job.id)
        clock.now += 0.2  # no renewal was confirmed for 8.1 of the 10 s: the reaper may take it
        assert leases.lost(job.id)
        leases.renew()
        assert not leases.lost(job.id)
    finally:
        leases.close()


def test_the_reaper_names_the_worker_that_stopped_renewing(sqlite_engine: Engine) -> None:
    factories.router(sqlite_engine)
    factories.package(sqlite_engine)
    queue_accounts(sqlite_engine, router="r1", package="Home 10M", count=3)
    queue.claim(sqlite_engine, worker="w1", limit=2)
    queue.claim(sqlite_engine, worker="w2", limit=1)
    with session_scope(sqlite_engine) as session:
        later = utcnow() + timedelta(seconds=121)
        assert queue.reap(session, lease_seconds=120, now=later) == 3
    with Session(sqlite_engine) as session:
        messages = set(
            session.scalars(
                select(SystemLog.message).where(SystemLog.message.startswith("Returned "))  # type: ignore[attr-defined]
            )
        )
    assert messages == {
        "Returned 2 job(s) of worker w1 to pending: it did not renew their lease for 120 s "
        "(it stopped, or lost the database).",
        "Returned 1 job(s) of worker w2 to pending: it did not renew their lease for 120 s "
        "(it stopped, or lost the database).",
    }


@pytest.mark.parametrize("in_flight", [1, 4], ids=["one-at-a-time", "pipelined"])
def test_a_worker_that_loses_its_lease_mid_batch_stops_working_on_those_jobs(
    sqlite_engine: Engine, caplog: pytest.LogCaptureFixture, in_flight: int
) -> None:
    count = 60
    with SimRouter(password=SIM_PASSWORD) as sim:
        factories.setup(sqlite_engine, router_port=sim.port, password=SIM_PASSWORD)
        queue_accounts(sqlite_engine, router="r1", package="Home 10M", count=count)
        settings = engine_settings(str(sqlite_engine.url), lease_seconds=1, batch_size=count)
        settings.routers.commands_in_flight = in_flight
        service = ProvisioningService(settings, sqlite_engine, worker="w1", lanes=1)
        sim.faults.latency = 0.05  # one lane, three commands a job: the batch takes seconds
        stolen: list[int] = []
        known: list[int] = []

        def steal_the_rest() -> None:
            wait_for(lambda: sim.stats[ADD] >= 3)
            with session_scope(sqlite_engine) as session:
                taken = session.scalars(
                    select(RouterProvisioning.id).where(
                        RouterProvisioning.locked_by == "w1",  # type: ignore[arg-type]
                    )
                ).all()
                session.execute(
                    update(RouterProvisioning)
                    .where(RouterProvisioning.id.in_(taken))  # type: ignore[attr-defined]
                    .values(locked_by="w2", locked_at=utcnow() + timedelta(hours=1))
                )
            stolen.extend(taken)
            service.drainer.leases.renew()  # the heartbeat's next beat, now
            known.append(sim.stats[ADD])

        thief = threading.Thread(target=steal_the_rest)
        thief.start()
        try:
            with caplog.at_level(logging.INFO, logger="wisp.engine"):
                service.drain_once()
        finally:
            thief.join()
            service.shutdown()
        added = sim.stats[ADD]
    # Once the worker knew, it sent no further command of them: only commands it had already
    # put on the wire went on (one job's, or a pipeline's window).
    assert stolen and added <= known[0] + in_flight < count
    with Session(sqlite_engine) as session:
        rows = session.scalars(
            select(RouterProvisioning).where(RouterProvisioning.id.in_(stolen))  # type: ignore[attr-defined]
        ).all()
    # Whatever was started before the heartbeat noticed stays with the worker that holds it now.
    assert {(row.status, row.locked_by) for row in rows} == {("processing", "w2")}
    assert "lost the lease of job(s)" in caplog.text
