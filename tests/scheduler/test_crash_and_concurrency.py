"""Crash safety (SIGKILL during a drain) and many drainers on one queue, on every backend."""

from __future__ import annotations

import random
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from db import queue
from db.engine import session_scope
from db.models import JobStatus, RouterProvisioning, SystemLog
from db.types import utcnow
from scheduler.sim import SimRouter
from tests import factories
from tests.scheduler.bulk import queue_accounts
from tests.scheduler.conftest import SIM_PASSWORD, write_config
from tests.scheduler.processes import run_wisp, start_runner, statuses, stop_runners
from tests.waiting import wait_for

ADD = "/ip/hotspot/user/add"
SET = "/ip/hotspot/user/set"


def names_on_router(sim: SimRouter) -> Counter[str]:
    return Counter(row["name"] for row in sim.rows("/ip/hotspot/user"))


@pytest.mark.slow
@pytest.mark.timeout(1200)  # 21 `wisp run` processes started one after another: slow when loaded
def test_sigkill_at_random_points_loses_nothing_and_adds_each_account_once(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    rng = random.Random(20)
    with SimRouter(password=SIM_PASSWORD) as sim:
        factories.setup(sqlite_engine, router_port=sim.port, password=SIM_PASSWORD)
        names = queue_accounts(sqlite_engine, router="r1", package="Home 10M", count=1000)
        sim.faults.latency = 0.1  # a far router: the drain lasts long enough to be killed often
        config = write_config(
            tmp_path / "config.toml",
            str(sqlite_engine.url),
            queue={"lease_seconds": 1, "batch_size": 25},
            scheduler={
                "drain_interval": 0.1,
                "reaper_interval": 0.3,
                "health_interval": 600,
                "expiry_interval": 600,
            },
        )
        kills, mid_drain = 0, 0
        while kills < 20:
            before = statuses(sqlite_engine)["completed"]
            runner = start_runner(config)
            # Kill at a random moment after this runner has started completing jobs, however slow
            # the machine is to start it.
            wait_for_completed(sqlite_engine, before + 1, timeout=60)
            time.sleep(rng.uniform(0.0, 0.4))
            runner.send_signal(signal.SIGKILL)
            runner.wait(timeout=30)
            kills += 1
            seen = statuses(sqlite_engine)
            mid_drain += 0 < seen["completed"] < 1000
        # The last killed worker's leases end: wait them out, then reap at the real time (a reap
        # dated ahead would make its jobs due only then, after `run --once` has taken its due set).
        time.sleep(1.5)
        with session_scope(sqlite_engine) as session:
            queue.reap(session, lease_seconds=1)
        sim.faults.latency = 0.0
        for _ in range(5):
            # A job put back to retry or held (a loaded machine makes the router look slow) waits
            # for its time; make every pending job due, as an operator's retry would, and drain.
            with session_scope(sqlite_engine) as session:
                session.execute(
                    update(RouterProvisioning)
                    .where(col(RouterProvisioning.status) == JobStatus.PENDING)
                    .values(next_attempt_at=utcnow())
                )
            final = run_wisp(config, "run", "--once", timeout=300)
            if not statuses(sqlite_engine)["pending"]:
                break
        assert final.returncode == 0, final.stderr
        assert kills >= 20 and mid_drain >= 10
        assert statuses(sqlite_engine) == Counter({"completed": 1000})
        on_router = names_on_router(sim)
        assert set(on_router) == set(names) and set(on_router.values()) == {1}
        assert sim.stats[ADD] == 1000


def wait_for_completed(engine: Engine, count: int, timeout: float, poll: float = 0.05) -> None:
    wait_for(
        lambda: statuses(engine)["completed"] >= count,
        timeout,
        poll,
        describe=lambda: str(statuses(engine)),
    )


@pytest.mark.slow
def test_four_drainers_on_one_queue_never_process_a_row_twice(
    engine: Engine, tmp_path: Path
) -> None:
    with SimRouter(password=SIM_PASSWORD) as sim:
        factories.setup(engine, router_port=sim.port, password=SIM_PASSWORD)
        names = queue_accounts(engine, router="r1", package="Home 10M", count=10_000)
        config = write_config(
            tmp_path / "config.toml",
            str(engine.url),
            queue={"batch_size": 100},
            scheduler={"drain_interval": 0.2, "health_interval": 600, "expiry_interval": 600},
        )
        logs = [tmp_path / f"drainer-{n}.log" for n in range(4)]
        runners = []
        for n, log in enumerate(logs):
            with log.open("w") as out:
                runners.append(start_runner(config, "--worker", f"drainer-{n}", stderr=out))
        try:
            wait_for_completed(engine, 10_000, timeout=200, poll=0.5)
        finally:
            codes = stop_runners(runners, logs)
        assert codes == [0, 0, 0, 0]
        assert statuses(engine) == Counter({"completed": 10_000})
        assert sim.stats[ADD] == 10_000 and sim.stats[SET] == 0
        assert set(names_on_router(sim).values()) == {1} and len(names_on_router(sim)) == len(names)
        with Session(engine) as session:
            logged = session.scalar(
                select(func.count())
                .select_from(SystemLog)
                .where(SystemLog.message.contains("activated on router"))  # type: ignore[attr-defined]
            )
        assert logged == 10_000
