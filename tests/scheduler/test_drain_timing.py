"""When a job is taken again is the engine's decision, never the speed of the machine."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.models import RouterProvisioning
from db.types import utcnow
from scheduler.engine.drain import Drainer
from scheduler.sim import SimRouter
from tests import factories
from tests.scheduler.bulk import queue_accounts
from tests.scheduler.conftest import SIM_PASSWORD, engine_settings

ADD = "/ip/hotspot/user/add"


def row(engine: Engine) -> RouterProvisioning:
    with Session(engine) as session:
        return session.scalars(select(RouterProvisioning)).one()


def test_a_drain_never_takes_again_a_job_it_put_back_even_with_no_backoff(
    sqlite_engine: Engine, sim: SimRouter
) -> None:
    factories.setup(sqlite_engine, router_port=sim.port, password=SIM_PASSWORD)
    queue_accounts(sqlite_engine, router="r1", package="Home 10M", count=1)
    sim.faults.trap(ADD, "failure: out of memory")
    settings = engine_settings(str(sqlite_engine.url), backoff_base=0.0, backoff_max=0.0)
    drainer = Drainer(settings, sqlite_engine, worker="w1")
    try:
        report = drainer.drain_once()
        assert (report.retried, sim.stats[ADD]) == (1, 1)  # due again at once, yet tried once
        assert drainer.drain_once().retried == 1 and sim.stats[ADD] == 2  # the next drain: again
    finally:
        drainer.stop()
    assert row(sqlite_engine).attempts == 2


def test_a_drain_on_a_clock_past_a_jobs_backoff_takes_it_without_waiting(
    sqlite_engine: Engine, sim: SimRouter
) -> None:
    factories.setup(sqlite_engine, router_port=sim.port, password=SIM_PASSWORD)
    queue_accounts(sqlite_engine, router="r1", package="Home 10M", count=1)
    sim.faults.trap(ADD, "failure: out of memory", times=1)
    settings = engine_settings(str(sqlite_engine.url), backoff_base=3600.0, backoff_max=3600.0)
    now = utcnow()
    drainer = Drainer(settings, sqlite_engine, worker="w1", clock=lambda: now)
    try:
        assert drainer.drain_once().retried == 1
        assert drainer.drain_once().handled == 0  # its backoff (at least half an hour) runs
        now += timedelta(hours=2)
        assert drainer.drain_once().completed == 1
    finally:
        drainer.stop()
    assert (row(sqlite_engine).status, row(sqlite_engine).attempts) == ("completed", 1)
