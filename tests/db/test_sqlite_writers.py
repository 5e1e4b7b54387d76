"""SQLite takes one writer at a time: an operator's write waits its turn while runners drain.

Every write path begins with BEGIN IMMEDIATE, so it queues for the write lock (up to the busy
timeout) instead of reading first and failing with "database is locked" when it tries to write.
"""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from console.cli.main import main
from scheduler.sim import SimRouter
from tests import factories
from tests.scheduler.bulk import queue_accounts
from tests.scheduler.conftest import SIM_PASSWORD, write_config
from tests.scheduler.processes import start_runner, statuses, stop_runners
from tests.waiting import wait_for


def wisp(config: Path, *argv: str) -> tuple[int, str]:
    """Run one CLI command in this process; its exit code and what it wrote to stderr."""
    err = io.StringIO()
    with redirect_stdout(io.StringIO()), redirect_stderr(err):
        code = main(["--config", str(config), *argv])
    return code, err.getvalue()


@pytest.mark.slow
def test_fifty_operator_writes_succeed_while_four_runners_drain(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    with SimRouter(password=SIM_PASSWORD) as sim:
        factories.setup(sqlite_engine, router_port=sim.port, password=SIM_PASSWORD)
        queue_accounts(sqlite_engine, router="r1", package="Home 10M", count=6_000)
        config = write_config(
            tmp_path / "config.toml",
            str(sqlite_engine.url),
            queue={"batch_size": 50},
            scheduler={"drain_interval": 0.1, "health_interval": 600, "expiry_interval": 600},
        )
        runners = [start_runner(config, "--worker", f"drainer-{n}") for n in range(4)]
        failures: list[str] = []
        try:
            wait_for(lambda: statuses(sqlite_engine)["completed"] > 200, timeout=120)
            done_before = statuses(sqlite_engine)["completed"]
            for n in range(50):
                argv = (
                    ("client", "add", f"walkin{n:02}", "--name", f"Walk In {n}")
                    if n % 2 == 0
                    else ("activate", f"walkin{n - 1:02}", "Fibre 20M", "--method", "cash")
                )
                code, err = wisp(config, *argv)
                if code != 0:
                    failures.append(f"{' '.join(argv)}: exit {code}: {err.strip()}")
            done_after = statuses(sqlite_engine)["completed"]
        finally:
            stop_runners(runners)
    assert failures == []
    # The writes raced the drains: the runners wrote outcomes while the operator wrote (whether
    # or not they finished before the last write, which depends on the machine's speed).
    assert done_before < done_after
