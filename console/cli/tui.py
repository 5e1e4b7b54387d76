"""`wisp console` and `wisp demo`: the Textual console. Textual is imported only when they run.

`wisp console` paints the console before it opens the database: the settings are read first (a
wrong config file is told before the terminal is taken), then the first frame is drawn, then the
database is opened and checked and the embedded provisioning service started, in the app's worker
thread. A database that cannot be used closes the console and is told as any command tells it.
"""

from __future__ import annotations

import argparse
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from console.cli import common

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from console.app import WispApp
    from db.config import Settings
    from scheduler.engine.service import ProvisioningService


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `wisp console` and `wisp demo`."""
    console = commands.add_parser("console", help="the operator console (a terminal UI)")
    console.add_argument(
        "--no-scheduler",
        action="store_true",
        help="do not drain the queue from this console (a second operator on the same database)",
    )
    console.set_defaults(handler=run_console)
    demo = commands.add_parser(
        "demo",
        help="try the console: a fresh database, simulated routers and sample data",
        description="Everything runs in this process and is removed on exit.",
    )
    demo.set_defaults(handler=run_demo)


def log_file() -> Path:
    """Where Python logging goes while the console owns the terminal."""
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return state / "wisp" / "console.log"


@contextmanager
def logging_to_file() -> Iterator[Path]:
    """Send log records to a file while the console runs: a line on stderr would tear the screen."""
    from db.secrets import MaskSecretsFilter

    path = log_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    saved = root.handlers[:]
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskSecretsFilter())
    root.handlers = [handler]
    try:
        yield path
    finally:
        root.handlers = saved
        handler.close()


class Opening:
    """What the console opens once its first frame is up (the app calls it in a worker thread):
    the database, then the embedded provisioning service. `close` stops that service when the
    console closes; an opening still under way then starts none."""

    def __init__(self, connect: Callable[[], Engine], *, scheduler: bool) -> None:
        self._connect = connect
        self._scheduler = scheduler
        self._lock = threading.Lock()
        self._closed = False
        self._service: ProvisioningService | None = None

    def __call__(self, app: WispApp) -> tuple[Engine, ProvisioningService | None]:
        engine = self._connect()
        if not self._scheduler:
            return engine, None
        app.database_open(engine)  # the panes fill while the engine loads and starts
        from scheduler.engine.service import ProvisioningService

        with self._lock:
            if not self._closed:
                self._service = ProvisioningService(
                    app.settings, engine, on_event=app.scheduler_event
                )
                self._service.start()
            return engine, self._service

    def close(self) -> None:
        """The console closed: stop the service, and start none from now on."""
        with self._lock:
            self._closed = True
            service, self._service = self._service, None
        if service is not None:
            service.shutdown(wait=True)


def open_console(
    settings: Settings,
    connect: Callable[[], Engine],
    *,
    scheduler: bool,
    greeting: str | None = None,
) -> int:
    """Run the console until the operator quits, with the provisioning service embedded or not;
    `connect` opens the database once the first frame is up; `greeting` is shown as a notice once
    the console is up."""
    with logging_to_file():
        return _run(settings, Opening(connect, scheduler=scheduler), greeting=greeting)


def _run(settings: Settings, opening: Opening, *, greeting: str | None) -> int:
    from console.app import build_app

    app = build_app(settings, opener=opening)
    app.greeting = greeting
    try:
        code = int(app.run() or 0)
    finally:
        opening.close()
    if app.open_error is not None:
        raise app.open_error
    return code


def run_console(args: argparse.Namespace) -> int:
    """Open the console on the configured database."""
    return open_console(
        common.read_settings(args),
        lambda: common.engine(args),
        scheduler=not args.no_scheduler,
    )


def run_demo(args: argparse.Namespace) -> int:
    """Open the console on a fresh demo: simulated routers, sample data, the scheduler embedded."""
    from console.demo import start_demo
    from console.demo_mpesa import DEMO_HOTSPOT

    print("starting the demo: a fresh database and three simulated routers…")
    demo = start_demo()
    greeting = None
    if demo.portal:
        greeting = (
            f"Walk-in portal: {demo.portal.portal_url} — a phone on the {DEMO_HOTSPOT} hotspot "
            f"starts at {demo.portal.login_url}"
        )
        print(greeting)
    try:
        return open_console(demo.settings, lambda: demo.engine, scheduler=True, greeting=greeting)
    finally:
        demo.close()
