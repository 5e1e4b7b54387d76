"""`wisp console` and `wisp demo`: the Textual console. Textual is imported only when they run."""

from __future__ import annotations

import argparse

from console.commands import common


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `wisp console` and `wisp demo`."""
    console = commands.add_parser("console", help="the operator console (a terminal UI)")
    console.add_argument(
        "--no-scheduler", action="store_true",
        help="do not drain the queue from this console (a second operator on the same database)",
    )
    console.set_defaults(handler=run_console)


def run_console(args: argparse.Namespace) -> int:
    """Open the console on the configured database."""
    from console.app import build_app

    settings = common.settings(args)
    engine = common.engine(args)
    app = build_app(settings, engine)
    return int(app.run() or 0)
