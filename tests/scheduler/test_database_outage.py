"""A database outage during a drain: one line when it starts, one when it ends, no tracebacks."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.activation import ActivationService
from db.engine import make_engine
from db.models import RouterProvisioning
from scheduler.engine import drain
from scheduler.engine.service import ProvisioningService
from scheduler.sim import SimRouter
from tests import factories
from tests.conftest import SERVER_URLS, empty_tables, server_url
from tests.scheduler.bulk import queue_accounts
from tests.scheduler.conftest import SIM_PASSWORD, engine_settings, write_config
from tests.scheduler.processes import start_runner, statuses
from tests.waiting import wait_for


def allow_connections(name: str, allowed: bool) -> None:
    """Open or close one PostgreSQL database to new connections, cutting the open ones."""
    admin = make_engine(SERVER_URLS["postgresql"], pool=False)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {allowed}'))
        if not allowed:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
    admin.dispose()


@pytest.mark.slow
def test_an_outage_mid_drain_is_said_once_and_its_end_once(
    server_databases: dict[str, str], tmp_path: Path
) -> None:
    url = server_url("postgresql", server_databases)
    name = url.rsplit("/", 1)[1]
    engine: Engine = make_engine(url, pool=False)
    empty_tables(engine)
    log = tmp_path / "run.log"
    with SimRouter(password=SIM_PASSWORD) as sim:
        sim.faults.latency = 0.01  # a drain that lasts through the outage
        factories.setup(engine, router_port=sim.port, password=SIM_PASSWORD)
        queue_accounts(engine, router="r1", package="Home 10M", count=300)
        config = write_config(
            tmp_path / "config.toml",
            url,
            queue={"batch_size": 20},
            scheduler={"drain_interval": 0.2, "health_interval": 1, "expiry_interval": 0.5},
        )
        with log.open("w") as out:
            runner = start_runner(config, stdout=out, stderr=subprocess.STDOUT)
            try:
                wait_for(lambda: statuses(engine)["completed"] >= 50, timeout=120)
                engine.dispose()
                allow_connections(name, False)
                time.sleep(5)  # the outage itself: every timer fails a few times meanwhile
                allow_connections(name, True)
                wait_for(lambda: statuses(engine)["completed"] == 300, timeout=180)
                # "Back" is said by the first success once no failure was seen for a while
                # (outage.QUIET_SECONDS): the timers go on succeeding after the last batch.
                wait_for(lambda: "the database is back" in log.read_text(), timeout=60)
            finally:
                allow_connections(name, True)
                runner.send_signal(signal.SIGTERM)
                runner.wait(timeout=60)
    engine.dispose()
    said = log.read_text()
    assert "Traceback" not in said, said[-3000:]
    assert said.count("the database cannot be used") == 1, said[-3000:]
    assert said.count("the database is back") == 1, said[-3000:]
    # The outcomes of the batch the outage met were written once it was over, not redone after
    # its lease ran out: each account was written to the router once.
    assert "returned to the queue" not in said, said[-3000:]
    assert (sim.stats["/ip/hotspot/user/add"], sim.stats["/ip/hotspot/user/set"]) == (300, 0)


@pytest.mark.slow
def test_a_wake_that_met_an_outage_is_served_once_the_database_is_back(
    server_databases: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """The engine drains every hour here: a wake whose look for due jobs failed must be tried
    again soon after, not at the next drain tick."""
    url = server_url("postgresql", server_databases)
    name = url.rsplit("/", 1)[1]
    engine: Engine = make_engine(url, pool=False)
    empty_tables(engine)
    with SimRouter(password=SIM_PASSWORD) as sim:
        factories.setup(engine, router_port=sim.port, password=SIM_PASSWORD)
        settings = engine_settings(url)
        for timer in ("drain_interval", "health_interval", "expiry_interval", "reaper_interval"):
            setattr(settings.scheduler, timer, 3600)
        service = ProvisioningService(settings, engine)
        service.start()
        service.notices.stop()  # the job's own notice would wake the engine: only retries here
        try:
            wait_for(lambda: service.last_drain is not None)
            ActivationService(engine).activate("jdoe", "Home 10M")
            allow_connections(name, False)
            try:
                service.wake()
                wait_for(lambda: "the drain could not look for due jobs" in caplog.text)
            finally:
                allow_connections(name, True)
            wait_for(lambda: [u["name"] for u in sim.rows("/ip/hotspot/user")] == ["jdoe"])
        finally:
            service.shutdown()
    engine.dispose()


@pytest.mark.slow
def test_a_batch_the_outage_met_before_its_router_work_is_handed_back_without_an_attempt(
    server_databases: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database goes away right after a batch was claimed, as its jobs are being planned:
    the batch goes back to the queue once the database is back, no attempt spent, instead of
    failing each job with the database's error (or staying claimed until its lease ran out)."""
    url = server_url("postgresql", server_databases)
    name = url.rsplit("/", 1)[1]
    engine: Engine = make_engine(url)
    empty_tables(engine)
    real_plan = drain.plan
    cut: list[threading.Timer] = []

    def plan_in_an_outage(*args: object, **kwargs: object) -> object:
        if not cut:
            allow_connections(name, False)
            cut.append(threading.Timer(2.0, allow_connections, (name, True)))
            cut[0].start()
        return real_plan(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(drain, "plan", plan_in_an_outage)
    with SimRouter(password=SIM_PASSWORD) as sim:
        factories.setup(engine, router_port=sim.port, password=SIM_PASSWORD)
        queue_accounts(engine, router="r1", package="Home 10M", count=20)
        service = ProvisioningService(engine_settings(url), engine, worker="w1")
        try:
            service.drain_once()
            cut[0].join()
            # Handed back once the database is back (the outcomes wait for it), then done.
            wait_for(lambda: statuses(engine)["pending"] == 20, describe=lambda: statuses(engine))
            service.drain_once()
        except BaseException:
            allow_connections(name, True)
            raise
        finally:
            service.shutdown()
        with Session(engine) as session:
            attempts = session.scalars(select(RouterProvisioning.attempts)).all()
        done = statuses(engine)
    engine.dispose()
    assert done["completed"] == 20, done
    assert attempts == [0] * 20
    assert sim.stats["/ip/hotspot/user/add"] == 20
