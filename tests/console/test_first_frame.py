"""The console paints its frame before it opens the database: the panes and the status bar say
they are loading (never a 0 that is no figure), the keys that need the database wait, and once the
opener has opened it the panes show the database. `wisp console` draws that first frame with no
SQLAlchemy, models or provisioning engine loaded (checked in a fresh interpreter by what
`sys.modules` holds, never by timing); a database it cannot open closes the console with the
error every command gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import Engine

from console.app import Scheduler, WispApp, build_app
from console.cli.tui import Opening
from console.screens.main import MainScreen
from db.activation import ActivationService
from db.errors import UserError
from scheduler.engine.service import ProvisioningService
from tests.console.conftest import console_settings, screen_text, settle, until

SIZE = (120, 40)
ROOT = Path(__file__).resolve().parents[2]
TITLES = ("1 Packages", "2 Subscriptions", "3 Provisioning queue", "4 Payments")


def _held_opener(engine: Engine, release: threading.Event) -> Callable[..., tuple[Engine, None]]:
    """An opener that keeps the database back until `release` is set."""

    def opener(app: WispApp) -> tuple[Engine, None]:
        release.wait(60)
        return engine, None

    return opener


async def test_panes_say_they_are_loading_until_the_database_is_open(seeded: Engine) -> None:
    ActivationService(seeded).activate("client1", "Home 10M")
    release = threading.Event()
    app = build_app(
        console_settings(seeded), opener=_held_opener(seeded, release), watch_terminal=False
    )
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: "4 Payments" in screen_text(app))
            loading = screen_text(app)
            for title in TITLES:
                assert f"{title} (loading…)" in loading
            assert "(0)" not in loading
            assert "pending" not in loading and "M-Pesa" not in loading
            assert not app.is_open
            await pilot.press("a")  # the activation needs the database: it waits
            assert isinstance(app.screen, MainScreen)

            release.set()
            await until(pilot, lambda: app.screen.snapshot is not None)  # type: ignore[attr-defined]
            await settle(pilot)
            shown = screen_text(app)
            assert "loading…" not in shown
            assert "1 Packages (2)" in shown and "3 Provisioning queue (1)" in shown
            assert "pending 1" in shown and "scheduler off" in shown
            await pilot.press("a")
            assert not isinstance(app.screen, MainScreen)  # the activation modal
    finally:
        release.set()


async def test_the_panes_fill_while_the_provisioning_service_starts(seeded: Engine) -> None:
    ActivationService(seeded).activate("client1", "Home 10M")
    release = threading.Event()

    def opener(app: WispApp) -> tuple[Engine, Scheduler | None]:
        app.database_open(seeded)  # as Opening does before it loads and starts the engine
        release.wait(60)
        service = ProvisioningService(app.settings, seeded)
        service.start()
        return seeded, service

    app = build_app(console_settings(seeded), opener=opener, watch_terminal=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            # not settle(): the opener's worker is still at work
            await until(pilot, lambda: "3 Provisioning queue (1)" in screen_text(app))
            shown = screen_text(app)
            assert "loading…" not in shown
            assert "scheduler starting" in shown and app.service is None
            await pilot.press("a")
            assert not isinstance(app.screen, MainScreen)  # the database's keys work already
            await pilot.press("escape")
            release.set()
            await until(pilot, lambda: "scheduler running" in screen_text(app))
            assert app.service is not None and app.service.state == "running"
    finally:
        release.set()
        if isinstance(app.service, ProvisioningService):
            app.service.shutdown(wait=True)


async def test_a_database_that_cannot_be_opened_closes_the_console(seeded: Engine) -> None:
    refused = UserError("there is no database at /nowhere/wisp.db; run `wisp init` first.")

    def opener(app: WispApp) -> tuple[Engine, Scheduler | None]:
        raise refused

    app = build_app(console_settings(seeded), opener=opener, watch_terminal=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.return_code is not None)
    assert app.open_error is refused
    assert app.return_code == 1


def test_the_provisioning_service_starts_with_the_database_and_stops_with_the_console(
    seeded: Engine,
) -> None:
    app = build_app(console_settings(seeded), seeded, watch_terminal=False)
    opening = Opening(lambda: seeded, scheduler=True)
    engine, service = opening(app)
    assert engine is seeded and service is not None
    assert service.state == "running"
    opening.close()
    assert service.state == "off"


def test_a_console_closed_while_it_was_opening_starts_no_provisioning_service(
    seeded: Engine,
) -> None:
    app = build_app(console_settings(seeded), seeded, watch_terminal=False)
    opening = Opening(lambda: seeded, scheduler=True)
    opening.close()  # the operator quit while the database was being opened
    assert opening(app) == (seeded, None)


PROBE = """
import json, sys

from textual.app import App

from console.app import WispApp
from console.cli.main import main
from console.cli.tui import Opening
from console.screens.main import MainScreen

HEAVY = json.loads(sys.argv[1])
seen = {}


def loaded():
    return sorted(m for m in sys.modules if m.partition(".")[0] in HEAVY or m in HEAVY)


opening = Opening.__call__


def opened(self, app):
    seen["at the first frame"] = loaded()
    return opening(self, app)


apply = MainScreen.apply


def applied(screen, snapshot):
    apply(screen, snapshot)
    seen["queue"] = str(screen.panes[2].query_one(".pane-title").content)
    screen.app.exit()


Opening.__call__ = opened
MainScreen.apply = applied
WispApp.run = lambda self, **options: App.run(self, headless=True, size=(120, 40))
seen["code"] = main(sys.argv[2:])
print(json.dumps(seen))
"""
HEAVY = [
    "sqlalchemy",
    "sqlmodel",
    "pydantic",
    "alembic",
    "apscheduler",
    "librouteros",
    "db.models",
    "db.engine",
    "scheduler.engine.service",
]
"""What the first frame must not wait for: the database's modules and the provisioning engine."""


def test_wisp_console_paints_before_it_loads_the_database_or_the_engine(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[database]\nurl = "sqlite:///wisp.db"\n')
    init = [sys.executable, "-m", "console.cli", "--config", str(config), "init"]
    subprocess.run(init, cwd=ROOT, capture_output=True, check=True, timeout=120)
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(HEAVY), "--config", str(config), "console"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["at the first frame"] == []
    assert seen["queue"].startswith("3 Provisioning queue (0)")  # the empty queue, once read
    assert seen["code"] == 0
