"""A job queued by another process is drained at once, not at the next drain tick: on PostgreSQL
by the trigger's notice, on SQLite and MariaDB by a datagram to the runner's announced port."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db import wakes
from db.activation import ActivationService
from db.models import WakeListener
from scheduler.sim import SimRouter
from tests import factories
from tests.scheduler.conftest import SIM_PASSWORD, write_config
from tests.scheduler.processes import start_runner, stop_runners
from tests.waiting import wait_for


def test_an_activation_in_another_process_reaches_the_router_without_a_drain_tick(
    engine: Engine, tmp_path: Path
) -> None:
    """The runner drains every hour here: only word of the job can bring it now."""
    log = tmp_path / "run.log"
    with SimRouter(password=SIM_PASSWORD) as sim:
        factories.setup(engine, router_port=sim.port, password=SIM_PASSWORD)
        config = write_config(
            tmp_path / "config.toml",
            engine.url.render_as_string(hide_password=False),
            scheduler={"drain_interval": 3600, "health_interval": 3600, "expiry_interval": 3600},
        )
        with log.open("w") as out:
            runner = start_runner(config, stdout=out, stderr=subprocess.STDOUT)
            try:
                wait_for(lambda: "listening for jobs queued by other processes" in log.read_text())
                wakes.forget()
                ActivationService(engine).activate("jdoe", "Home 10M")
                wait_for(lambda: [u["name"] for u in sim.rows("/ip/hotspot/user")] == ["jdoe"])
            finally:
                codes = stop_runners([runner])
    assert codes == [0], log.read_text()[-3000:]
    with Session(engine) as session:  # a runner that stops takes its port back
        assert session.scalars(select(WakeListener)).all() == []
