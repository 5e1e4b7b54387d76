"""`wisp run` killed (SIGKILL) between storing a callback and applying it, then started again:
the payment activates exactly once, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx

from db.models import MpesaStatus
from scheduler.sim import SimRouter
from tests import factories
from tests.mpesa.conftest import TOKEN
from tests.mpesa.helpers import PATIENCE, confirmation, payments, rows
from tests.scheduler.conftest import write_config
from tests.scheduler.processes import ROOT
from tests.waiting import wait_for

PASSWORD = "lab-pw"
ACCEPTED = {"ResultCode": 0, "ResultDesc": "Accepted"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wisp_run(config: Path, module: str = "console.cli") -> subprocess.Popen[str]:
    env = {**os.environ, "WISP_CONFIG": str(config), "WISP_MPESA_CALLBACK_TOKEN": TOKEN}
    return subprocess.Popen(
        [sys.executable, "-m", module, "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def deliver(url: str, body: dict) -> httpx.Response | None:
    """POST once; None when the receiver is not listening yet."""
    try:
        return httpx.post(url, json=body, timeout=PATIENCE)
    except httpx.ConnectError:
        return None


def test_sigkill_between_storing_and_applying_then_restart_activates_once(engine, tmp_path):
    with SimRouter(password=PASSWORD) as router:
        factories.router(engine, port=router.port, password=PASSWORD)
        factories.package(engine)
        factories.client(engine, phone="0708374149")
        port = free_port()
        config = write_config(
            tmp_path / "config.toml",
            engine.url.render_as_string(hide_password=False),
            mpesa={"listen": f"127.0.0.1:{port}", "recovery_interval": 3600},
            scheduler={"health_interval": 600, "expiry_interval": 600},
        )
        url = f"http://127.0.0.1:{port}/hooks/{TOKEN}/c2b/confirmation"
        body = confirmation("RKTQDM7W80", "1500.00", "jdoe")

        killed = wisp_run(config, "tests.mpesa.killed_after_store")
        dropped: list[BaseException] = []

        def stored_then_killed() -> bool:
            try:
                answer = deliver(url, body)
            except httpx.HTTPError as error:  # the connection died with the process
                dropped.append(error)
                return True
            assert answer is None, answer.text  # nothing may be answered before the crash
            return False

        wait_for(stored_then_killed, timeout=60)
        output = killed.communicate(timeout=30)[0]
        assert killed.returncode == -signal.SIGKILL, output
        [row] = rows(engine)
        assert (row.status, row.receipt, row.deliveries) == (MpesaStatus.RECEIVED, "RKTQDM7W80", 1)
        assert payments(engine) == []

        restarted = wisp_run(config)
        try:
            wait_for(lambda: [r.status for r in rows(engine)] == [MpesaStatus.APPLIED], timeout=60)
            wait_for(lambda: router.rows("/ip/hotspot/user"), timeout=60)
            # Daraja had no answer, so it delivers the callback again: one more delivery, no more.
            again = None
            while again is None:
                again = deliver(url, body)
            assert again.json() == ACCEPTED
        finally:
            restarted.terminate()
            output = restarted.communicate(timeout=60)[0]
        assert restarted.returncode == 0, output
        assert TOKEN not in output
        [row] = rows(engine)
        assert (row.status, row.deliveries) == (MpesaStatus.APPLIED, 2)
        assert [p.reference for p in payments(engine)] == ["RKTQDM7W80"]
        assert Counter(u["name"] for u in router.rows("/ip/hotspot/user")) == {"jdoe": 1}
        assert router.stats["/ip/hotspot/user/add"] == 1


def test_wisp_run_writes_a_paid_account_to_the_router_without_waiting_for_its_drain(
    engine, tmp_path
):
    """The engine drains every hour here: only the wake that applying a payment gives it can
    bring the second customer's account to the router."""
    with SimRouter(password=PASSWORD) as router:
        factories.router(engine, port=router.port, password=PASSWORD)
        factories.package(engine)
        factories.client(engine, phone="0708374149")
        factories.client(engine, "amina", full_name="Amina Wanjiru", phone="0711000111")
        port = free_port()
        config = write_config(
            tmp_path / "config.toml",
            engine.url.render_as_string(hide_password=False),
            mpesa={"listen": f"127.0.0.1:{port}", "recovery_interval": 3600},
            scheduler={"drain_interval": 3600, "health_interval": 600, "expiry_interval": 600},
        )
        url = f"http://127.0.0.1:{port}/hooks/{TOKEN}/c2b/confirmation"
        runner = wisp_run(config)
        failure = None
        try:
            first = None
            while first is None:  # the first may reach the router by the drain at start
                first = deliver(url, confirmation("RKTQDM7W81", "1500.00", "jdoe"))
            assert first.json() == ACCEPTED
            wait_for(lambda: len(router.rows("/ip/hotspot/user")) == 1, timeout=60)
            second = deliver(url, confirmation("RKTQDM7W82", "1500.00", "amina"))
            assert second is not None and second.json() == ACCEPTED
            wait_for(lambda: len(router.rows("/ip/hotspot/user")) == 2, timeout=60)
        except AssertionError as error:
            failure = error
        finally:
            runner.terminate()
            output = runner.communicate(timeout=60)[0]
        assert failure is None, f"{failure}; wisp run said:\n{output}"
        assert runner.returncode == 0, output
        assert sorted(u["name"] for u in router.rows("/ip/hotspot/user")) == ["amina", "jdoe"]
