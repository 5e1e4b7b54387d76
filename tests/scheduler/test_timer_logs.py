"""Timers waiting on a hung router say so once, not at every tick."""

from __future__ import annotations

import logging
import time

import pytest
from apscheduler.events import EVENT_JOB_MAX_INSTANCES
from sqlalchemy.engine import Engine

from scheduler.engine.events import RouterHealthChanged
from scheduler.engine.service import ProvisioningService
from scheduler.sim import SimRouter
from tests import factories
from tests.scheduler.conftest import HUNG_COMMAND_TIMEOUT, SIM_PASSWORD, engine_settings
from tests.waiting import wait_for

SKIPPED = "maximum number of running instances"


def test_a_drift_check_stuck_on_a_hung_router_is_said_once_and_cut_by_the_shutdown(
    sqlite_engine: Engine, sim: SimRouter, caplog: pytest.LogCaptureFixture
) -> None:
    factories.setup(sqlite_engine, router_port=sim.port, password=SIM_PASSWORD)
    sim.faults.hang_after_login = True
    settings = engine_settings(str(sqlite_engine.url))
    settings.routers.command_timeout = HUNG_COMMAND_TIMEOUT
    settings.scheduler.drift_interval = 0.05
    settings.scheduler.health_interval = 3600
    service = ProvisioningService(settings, sqlite_engine, worker="w1")
    skipped: list[str] = []
    with caplog.at_level(logging.INFO, logger="wisp.timers"):
        service.start()
        try:
            assert service._scheduler is not None
            service._scheduler.add_listener(
                lambda event: skipped.append(getattr(event, "job_id", "")),
                EVENT_JOB_MAX_INSTANCES,
            )
            wait_for(lambda: skipped.count("drift") >= 5, timeout=60)
        finally:
            started = time.monotonic()
            service.shutdown()
            stopped_in = time.monotonic() - started
    said = [r.getMessage() for r in caplog.records if r.name.startswith("wisp.timers")]
    assert [line for line in said if "drift timer" in line] == [
        "the drift timer is still running; its turns are skipped until it ends "
        "(said once until then)"
    ]
    assert SKIPPED not in caplog.text
    # Waiting for the drift check would take the whole command timeout; half tells them apart.
    assert stopped_in < HUNG_COMMAND_TIMEOUT / 2, (
        f"the shutdown waited {stopped_in:.1f} s for the drift check"
    )


def test_probes_of_a_hung_router_never_pile_up_and_its_fall_is_told_once(
    sqlite_engine: Engine, sim: SimRouter, caplog: pytest.LogCaptureFixture
) -> None:
    factories.setup(sqlite_engine, router_port=sim.port, password=SIM_PASSWORD)
    sim.faults.hang_after_login = True
    settings = engine_settings(str(sqlite_engine.url))
    settings.routers.command_timeout = 0.5
    settings.scheduler.health_interval = 0.1
    events: list[object] = []
    service = ProvisioningService(settings, sqlite_engine, worker="w1", on_event=events.append)
    with caplog.at_level(logging.INFO):
        service.start()
        try:
            # Each probe waits out the deadline; the timer ticks five times as often meanwhile.
            wait_for(lambda: sim.stats["/system/identity/print"] >= 4, timeout=60)
        finally:
            service.shutdown()
    changes = [e for e in events if isinstance(e, RouterHealthChanged)]
    assert [(e.router, e.health) for e in changes] == [("r1", "down")]
    assert "logged in but did not answer" in (changes[0].error or "")
    assert SKIPPED not in caplog.text
