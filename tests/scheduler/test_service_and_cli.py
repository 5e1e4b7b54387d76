"""The scheduler service, the headless runner and the CLI commands, driven for real."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from db.activation import ActivationService
from scheduler.engine.events import JobCompleted
from scheduler.engine.service import ProvisioningService
from scheduler.routeros.client import RouterClient
from scheduler.routeros.users import fetch_users
from scheduler.sim import SimRouter
from tests import factories
from tests.scheduler.bulk import queue_accounts
from tests.scheduler.conftest import SIM_PASSWORD, endpoint, engine_settings, write_config
from tests.scheduler.processes import ROOT, run_wisp, start_runner, statuses
from tests.waiting import wait_for


def test_service_drains_at_once_when_woken_and_reports_its_state(
    sqlite_engine: Engine, sim: SimRouter
) -> None:
    factories.setup(sqlite_engine, router_port=sim.port, password=SIM_PASSWORD)
    settings = engine_settings(str(sqlite_engine.url))
    settings.scheduler.drain_interval = 3600  # only wake() can make it drain in time
    events: list[object] = []
    service = ProvisioningService(settings, sqlite_engine, on_event=events.append)
    assert service.state == "off"
    service.start()
    try:
        assert service.state == "running"
        wait_for(lambda: service.last_drain is not None)
        ActivationService(sqlite_engine).activate("jdoe", "Home 10M")
        service.wake()
        wait_for(lambda: any(isinstance(e, JobCompleted) for e in events), timeout=10)
        service.pause()
        assert service.state == "paused"
        service.resume()
        assert service.state == "running"
    finally:
        service.shutdown()
    assert service.state == "off"


def test_shutdown_leaves_no_claim_behind(sqlite_engine: Engine, sim: SimRouter) -> None:
    factories.setup(sqlite_engine, router_port=sim.port, password=SIM_PASSWORD)
    for n in range(150):
        factories.client(sqlite_engine, f"c{n}")
        ActivationService(sqlite_engine).activate(f"c{n}", "Home 10M")
    sim.faults.latency = 0.02
    service = ProvisioningService(
        engine_settings(str(sqlite_engine.url), batch_size=10), sqlite_engine
    )
    service.start()
    wait_for(lambda: statuses(sqlite_engine).get("completed", 0) > 0)
    # From now on the router answers nothing: the drain cannot finish, however fast the machine.
    sim.faults.hang_after_login = True
    service.shutdown()
    left = statuses(sqlite_engine)
    assert left.get("processing", 0) == 0 and left.get("completed", 0) < 150
    assert left.get("completed", 0) + left.get("pending", 0) == 150


def test_run_once_drains_and_exits_zero_then_five_when_a_job_failed(
    sqlite_engine: Engine, sim: SimRouter, tmp_path: Path
) -> None:
    factories.setup(sqlite_engine, router_port=sim.port, password=SIM_PASSWORD)
    factories.client(sqlite_engine, "amina")
    config = write_config(
        tmp_path / "config.toml", str(sqlite_engine.url), queue={"max_attempts": 1}
    )
    ActivationService(sqlite_engine).activate("jdoe", "Home 10M")
    done = run_wisp(config, "run", "--once")
    assert done.returncode == 0, done.stderr
    assert "job 1 completed: jdoe activate on r1" in done.stderr
    assert "router r1 is up" in done.stderr and "1 completed, 0 failed" in done.stderr
    sim.faults.trap("/ip/hotspot/user/add", "not enough permissions (9)")
    ActivationService(sqlite_engine).activate("amina", "Home 10M")
    failed = run_wisp(config, "run", "--once")
    assert failed.returncode == 5  # console/cli/exits.py: held or failed jobs
    assert (
        "failed for good (attempt 1): amina activate on r1: not enough permissions (9)"
        in failed.stderr
    )
    assert SIM_PASSWORD not in failed.stderr + failed.stdout


def test_run_stops_gracefully_on_sigterm(
    sqlite_engine: Engine, sim: SimRouter, tmp_path: Path
) -> None:
    factories.setup(sqlite_engine, router_port=sim.port, password=SIM_PASSWORD)
    config = write_config(
        tmp_path / "config.toml", str(sqlite_engine.url), scheduler={"drain_interval": 0.2}
    )
    process = start_runner(config, stdout=None, stderr=subprocess.PIPE, text=True)
    try:
        ActivationService(sqlite_engine).activate("jdoe", "Home 10M")
        wait_for(lambda: statuses(sqlite_engine).get("completed", 0) == 1)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "stopping on SIGTERM" in stderr and "job 1 completed" in stderr
    assert statuses(sqlite_engine).get("processing", 0) == 0


def test_run_once_stops_gracefully_on_sigterm_and_leaves_no_claim(
    sqlite_engine: Engine, sim: SimRouter, tmp_path: Path
) -> None:
    factories.setup(sqlite_engine, router_port=sim.port, password=SIM_PASSWORD)
    queue_accounts(sqlite_engine, router="r1", package="Home 10M", count=400)
    sim.faults.latency = 0.05  # a far router: the drain lasts long enough to be stopped
    config = write_config(
        tmp_path / "config.toml", str(sqlite_engine.url), queue={"batch_size": 25}
    )
    process = start_runner(config, "--once", stdout=None, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: statuses(sqlite_engine).get("completed", 0) > 0, timeout=60)
        sim.faults.hang_after_login = True  # the rest cannot be done before the signal
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert "stopping on SIGTERM" in stderr
    seen = statuses(sqlite_engine)
    assert seen.get("processing", 0) == 0 and seen.get("pending", 0) > 0, seen


def test_router_check_reports_identity_or_the_classified_error(
    sqlite_engine: Engine, sim: SimRouter, tmp_path: Path
) -> None:
    factories.setup(sqlite_engine, router_port=sim.port, password=SIM_PASSWORD)
    factories.router(sqlite_engine, "wrong", port=sim.port, password="nope-nope")
    config = write_config(tmp_path / "config.toml", str(sqlite_engine.url))
    ok = run_wisp(config, "router", "check", "r1")
    assert ok.returncode == 0, ok.stderr
    assert "r1" in ok.stdout and "identity MikroTik" in ok.stdout and "RouterOS 7.18.2" in ok.stdout
    refused = run_wisp(config, "router", "check", "wrong")
    assert refused.returncode == 1
    assert refused.stderr.strip().count("\n") == 0
    assert "refused the login of user admin: invalid user name or password (6)" in refused.stderr
    assert "nope-nope" not in refused.stderr


def test_users_lists_the_live_router_as_table_and_json(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    with SimRouter(password=SIM_PASSWORD, seed_users=30) as seeded:
        factories.router(sqlite_engine, "r1", port=seeded.port, password=SIM_PASSWORD)
        config = write_config(tmp_path / "config.toml", str(sqlite_engine.url))
        table = run_wisp(config, "users", "r1", "--hotspot")
        assert table.returncode == 0, table.stderr
        assert table.stdout.splitlines()[1].split()[:3] == ["NAME", "PROFILE", "DISABLED"]
        listed = run_wisp(config, "users", "r1", "--json")
        rows = json.loads(listed.stdout)
        hotspot = [r for r in rows if r["type"] == "hotspot"]
        assert len(hotspot) == len(seeded.rows("/ip/hotspot/user"))
        assert all("password" not in r for r in rows)
        active = json.loads(run_wisp(config, "users", "r1", "--active", "--json").stdout)
        assert {r["type"] for r in active} <= {"hotspot-active", "ppp-active"}


def test_fetch_users_yields_ten_thousand_users_in_batches() -> None:
    with SimRouter(password="pw", seed_users=10_000) as big:
        with RouterClient(endpoint(big, password="pw")) as client:
            batches = fetch_users(client, "hotspot", batch=1000)
            first = next(batches)
            rest = [len(b) for b in batches]
    assert len(first) == 1000 and "name" in first[0]
    assert len(first) + sum(rest) == len(big.rows("/ip/hotspot/user"))


@pytest.mark.parametrize(
    "module",
    [
        "scheduler.engine.service",
        "scheduler.engine.runner",
        "scheduler.routeros.users",
        "console.cli.run",
    ],
)
def test_engine_modules_never_import_textual(module: str) -> None:
    code = f"import sys, {module}; sys.exit(1 if 'textual' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=60).returncode == 0
