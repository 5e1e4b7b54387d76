"""Routers that accept the login and then never answer (a congested tower, a stuck API service)."""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.config import RouterSettings
from db.models import Router, RouterProvisioning
from scheduler.engine.events import RouterHealthChanged
from scheduler.engine.service import ProvisioningService
from scheduler.routeros.client import Endpoint, RouterClient, RouterError
from scheduler.sim import SimFleet, SimRouter
from tests import factories
from tests.scheduler.bulk import queue_accounts
from tests.scheduler.conftest import (
    HUNG_COMMAND_TIMEOUT,
    SIM_PASSWORD,
    endpoint,
    engine_settings,
    write_config,
)
from tests.scheduler.processes import start_runner
from tests.waiting import wait_for


def rows(engine: Engine, router: str) -> list[RouterProvisioning]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(RouterProvisioning)
                .join(Router, Router.id == RouterProvisioning.router_id)  # type: ignore[arg-type]
                .where(Router.name == router)
            )
        )


def router_row(engine: Engine, name: str) -> Router:
    with Session(engine) as session:
        return session.scalars(select(Router).where(Router.name == name)).one()


def commands_after_login(sim: SimRouter) -> int:
    return sum(n for command, n in sim.stats.items() if command != "/login")


@pytest.fixture
def fleet() -> Iterator[SimFleet]:
    with SimFleet() as routers:
        yield routers


def add_router(engine: Engine, fleet: SimFleet, name: str, jobs: int, *, hung: bool) -> SimRouter:
    sim = fleet.add(name, password=SIM_PASSWORD)
    sim.faults.hang_after_login = hung
    factories.router(engine, name, port=sim.port, password=SIM_PASSWORD)
    factories.package(engine, f"Home {name}", router=name)
    queue_accounts(engine, router=name, package=f"Home {name}", count=jobs, prefix=f"{name}-")
    return sim


def test_a_router_that_logs_in_and_never_answers_is_away_and_its_jobs_keep_their_attempts(
    engine: Engine, fleet: SimFleet
) -> None:
    hung = add_router(engine, fleet, "hung", 10, hung=True)
    healthy = add_router(engine, fleet, "ok", 10, hung=False)
    settings = engine_settings(str(engine.url))
    settings.routers.command_timeout = 1.0
    events: list[object] = []
    service = ProvisioningService(settings, engine, worker="w1", on_event=events.append, lanes=4)
    try:
        report = service.drain_once()
    finally:
        service.shutdown()
    assert report.completed == 10 and report.failed == report.retried == 0
    assert report.paused == 10 and report.paused_routers == {"hung"}
    assert len(healthy.rows("/ip/hotspot/user")) == 10
    held = rows(engine, "hung")
    assert {(r.status, r.attempts, r.locked_by) for r in held} == {("pending", 0, None)}
    assert all("logged in but did not answer" in (r.last_error or "") for r in held)
    # The batch was abandoned at the first timeout: no lane went on to other commands.
    assert commands_after_login(hung) <= 4
    row = router_row(engine, "hung")
    assert row.health == "down" and "logged in but did not answer" in (row.last_error or "")
    assert any(
        isinstance(e, RouterHealthChanged) and e.router == "hung" and e.health == "down"
        for e in events
    )


def test_the_health_probe_of_a_hung_router_records_it_down_with_the_reason(
    sqlite_engine: Engine, sim: SimRouter
) -> None:
    factories.setup(sqlite_engine, router_port=sim.port, password=SIM_PASSWORD)
    settings = engine_settings(str(sqlite_engine.url))
    settings.routers.command_timeout = 1.0
    service = ProvisioningService(settings, sqlite_engine, worker="w1")
    try:
        service.check_health()
        assert router_row(sqlite_engine, "r1").health == "up"
        sim.faults.hang_after_login = True
        service.check_health()
    finally:
        service.shutdown()
    row = router_row(sqlite_engine, "r1")
    assert row.health == "down" and "logged in but did not answer" in (row.last_error or "")


def test_many_hung_routers_never_keep_a_healthy_routers_jobs_waiting(
    sqlite_engine: Engine, fleet: SimFleet
) -> None:
    for n in range(40):
        add_router(sqlite_engine, fleet, f"hung{n:02}", 2, hung=True)
    add_router(sqlite_engine, fleet, "ok", 20, hung=False)
    settings = engine_settings(str(sqlite_engine.url))
    # Longer than the test waits: a thread held by a hung router is not freed by its deadline.
    settings.routers.command_timeout = HUNG_COMMAND_TIMEOUT
    settings.scheduler.drain_interval = 0.2
    settings.scheduler.health_interval = 3600
    service = ProvisioningService(settings, sqlite_engine, worker="w1")
    service.start()
    try:
        wait_for(
            lambda: all(r.status == "completed" for r in rows(sqlite_engine, "ok")),
            timeout=60,
            describe=lambda: str(Counter(r.status for r in rows(sqlite_engine, "ok"))),
        )
    finally:
        started = time.monotonic()
        service.shutdown()
        stopped_in = time.monotonic() - started
    # Waiting for the hung commands would take their whole timeout; cut, it takes a moment (a
    # few seconds, more on a loaded machine): half the timeout tells the two apart.
    assert stopped_in < HUNG_COMMAND_TIMEOUT / 2, f"the shutdown took {stopped_in:.1f} s"
    with Session(sqlite_engine) as session:
        spent = session.scalar(select(func.sum(RouterProvisioning.attempts)))
        processing = session.scalar(
            select(func.count()).where(RouterProvisioning.status == "processing")
        )
    assert spent == 0 and processing == 0


@pytest.mark.slow
def test_sigterm_stops_wisp_run_without_waiting_for_commands_to_hung_routers(
    sqlite_engine: Engine, fleet: SimFleet, tmp_path: Path
) -> None:
    hung = [add_router(sqlite_engine, fleet, f"hung{n}", 5, hung=True) for n in range(3)]
    add_router(sqlite_engine, fleet, "ok", 5, hung=False)
    config = write_config(
        tmp_path / "config.toml",
        str(sqlite_engine.url),
        routers={"command_timeout": HUNG_COMMAND_TIMEOUT, "connect_timeout": 60},
        scheduler={"drain_interval": 0.2, "health_interval": 1},
    )
    process = start_runner(config, stdout=None, stderr=subprocess.PIPE, text=True)
    try:
        # Every hung router has a command in flight, and the healthy one is done.
        wait_for(lambda: all(commands_after_login(sim) > 0 for sim in hung), timeout=60)
        wait_for(lambda: all(r.status == "completed" for r in rows(sqlite_engine, "ok")))
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=HUNG_COMMAND_TIMEOUT)
        stopped_in = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr
    assert stopped_in < HUNG_COMMAND_TIMEOUT / 2, f"wisp run took {stopped_in:.1f} s to stop"
    for n in range(3):
        left = rows(sqlite_engine, f"hung{n}")
        assert {(r.status, r.attempts, r.locked_by) for r in left} == {("pending", 0, None)}


def trickling_router(pause: float) -> tuple[socket.socket, threading.Thread]:
    """A router that answers the login at once, then sends each reply a byte at a time."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        connection, _ = server.accept()
        with connection:
            for reply_slowly in (False, True):
                received = b""
                while not received.endswith(b"\x00"):
                    received += connection.recv(4096)
                done = b"\x05!done\x00"
                if not reply_slowly:
                    connection.sendall(done)
                    continue
                for byte in done:
                    time.sleep(pause)
                    try:
                        connection.sendall(bytes([byte]))
                    except OSError:
                        return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return server, thread


def test_a_reply_trickling_in_byte_by_byte_still_meets_the_command_deadline() -> None:
    # Each byte comes well within the timeout, the whole reply does not (7 bytes, 0.4 s apart).
    server, thread = trickling_router(pause=0.4)
    point = Endpoint(name="slow", host="127.0.0.1", port=server.getsockname()[1], username="a")
    settings = RouterSettings(connect_timeout=5.0, command_timeout=1.0)
    try:
        with RouterClient(point, settings) as client, pytest.raises(RouterError) as caught:
            client.print("/system/identity")
    finally:
        server.close()
        thread.join(timeout=10)
    assert caught.value.kind == "timeout" and caught.value.pauses_router
    assert "logged in but did not answer /system/identity/print within 1 s" in str(caught.value)


def test_a_command_in_flight_can_be_cut_from_another_thread(sim: SimRouter) -> None:
    settings = RouterSettings(connect_timeout=5.0, command_timeout=600.0)
    with RouterClient(endpoint(sim), settings) as client:
        client.connect()
        sim.faults.hang_after_login = True
        failures: list[RouterError] = []

        def wait_for_an_answer() -> None:
            try:
                client.print("/system/identity")
            except RouterError as error:
                failures.append(error)

        waiting = threading.Thread(target=wait_for_an_answer)
        waiting.start()
        wait_for(lambda: client.busy_for() > 0 and sim.stats["/system/identity/print"] == 1)
        client.interrupt("the operator gave up")
        waiting.join(timeout=20)
        assert not waiting.is_alive() and len(failures) == 1
        assert "/system/identity/print was abandoned (the operator gave up)" in str(failures[0])
        sim.faults.hang_after_login = False
        with pytest.raises(RouterError, match="abandoned"):
            client.print("/system/identity")  # refused until resumed
        client.resume()
        assert client.print("/system/identity") == [{"name": "MikroTik"}]
        client.abort()
        client.resume()  # an abort is for good
        with pytest.raises(RouterError, match="WISP Console is stopping"):
            client.print("/system/identity")
