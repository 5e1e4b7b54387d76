"""`wisp console` and `wisp demo`: the Textual console. Textual is imported only when they run."""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from console.cli import common

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from db.config import Settings


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


def open_console(
    settings: Settings, engine: Engine, *, scheduler: bool, greeting: str | None = None
) -> int:
    """Run the console until the operator quits, with the provisioning service embedded or not;
    `greeting` is shown as a notice once it is up."""
    with logging_to_file():
        return _run(settings, engine, scheduler=scheduler, greeting=greeting)


def _run(settings: Settings, engine: Engine, *, scheduler: bool, greeting: str | None) -> int:
    from console.app import build_app

    app = build_app(settings, engine)
    app.greeting = greeting
    service = None
    if scheduler:
        from scheduler.engine.service import ProvisioningService

        service = ProvisioningService(settings, engine, on_event=app.scheduler_event)
        app.service = service
        service.start()
    try:
        return int(app.run() or 0)
    finally:
        if service is not None:
            service.shutdown(wait=True)


def run_console(args: argparse.Namespace) -> int:
    """Open the console on the configured database."""
    return open_console(common.settings(args), common.engine(args), scheduler=not args.no_scheduler)


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
        return open_console(demo.settings, demo.engine, scheduler=True, greeting=greeting)
    finally:
        demo.close()
