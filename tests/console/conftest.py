"""Fixtures for the console: a seeded database beside simulated routers, and the app on it.

Timed polls are switched off (refresh_interval of an hour): tests refresh the panes themselves and
wait on workers, never on the clock. The scheduler is driven with `drain_once` for the same reason.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy.engine import Engine
from textual.pilot import Pilot

from console.app import WispApp, build_app
from db.config import Settings
from scheduler.engine.service import ProvisioningService
from scheduler.sim import SimFleet
from tests import factories
from tests.waiting import settle  # noqa: F401  (the console tests import it from here)

SIM_PASSWORD = "sim-secret"
FIXED_NOW = datetime(2026, 3, 2, 6, 30, tzinfo=UTC)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run `async def` tests in a fresh event loop (Pilot tests need no other plugin)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
    return True


@pytest.fixture
def fleet() -> Iterator[SimFleet]:
    """Two simulated routers: r1 with 40 hotspot users (a few online), r2 with 5."""
    fleet = SimFleet()
    fleet.add("r1", password=SIM_PASSWORD, seed_users=40)
    fleet.add("r2", password=SIM_PASSWORD, seed_users=5)
    fleet.start()
    yield fleet
    fleet.stop()


@pytest.fixture
def seeded(sqlite_engine: Engine, fleet: SimFleet) -> Engine:
    """Router r1 (the simulator), packages Home 10M and Fibre 20M, client jdoe, a few more."""
    factories.setup(sqlite_engine, router_port=fleet["r1"].port, password=SIM_PASSWORD)
    for index in range(1, 6):
        factories.client(
            sqlite_engine,
            f"client{index}",
            full_name=f"Client Number{index}",
            phone=f"+2547000000{index:02d}",
        )
    return sqlite_engine


def console_settings(engine: Engine) -> Settings:
    """Settings for a test console: no timed refresh, one attempt per job, router timeouts no
    loaded machine reaches (a router slower than its timeout is taken as away)."""
    settings = Settings(source="(test)")
    settings.database.url = str(engine.url)
    settings.console.refresh_interval = 3600.0
    settings.queue.max_attempts = 1
    settings.routers.connect_timeout = 30.0
    settings.routers.command_timeout = 30.0
    return settings


@pytest.fixture
def make_app(seeded: Engine) -> Callable[..., WispApp]:
    """Build the console as the CLI does, on the seeded database."""

    def make(settings: Settings | None = None, **options: Any) -> WispApp:
        options.setdefault("watch_terminal", False)
        return build_app(settings or console_settings(seeded), seeded, **options)

    return make


@pytest.fixture
def service(seeded: Engine) -> Iterator[Callable[[WispApp], ProvisioningService]]:
    """An embedded provisioning service, not started: tests drain with `drain_once`."""
    made: list[ProvisioningService] = []

    def attach(app: WispApp) -> ProvisioningService:
        engine_service = ProvisioningService(app.settings, seeded, on_event=app.scheduler_event)
        app.service = engine_service
        made.append(engine_service)
        return engine_service

    yield attach
    for engine_service in made:
        engine_service.shutdown(wait=True)


def screen_text(app: WispApp) -> str:
    """What the terminal shows now, as plain text (the screen with any dialog on top)."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True)
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text()


async def until(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Let the app run until `condition()` holds (a toast mounted, a footer recomposed)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"condition not met in {timeout} s"
        await pilot.pause()


async def refresh(pilot: Pilot[Any]) -> None:
    """One poll of the main screen, applied."""
    from console.screens.main import MainScreen

    for screen in pilot.app.screen_stack:
        if isinstance(screen, MainScreen):
            screen.poll()
    await settle(pilot)


async def drain(pilot: Pilot[Any], engine_service: ProvisioningService) -> None:
    """Drain the queue to the routers (in a thread, as the scheduler would) and settle the UI."""
    await asyncio.to_thread(engine_service.drain_once)
    await settle(pilot)
