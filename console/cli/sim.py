"""`wisp sim`: a simulated RouterOS router (the simulator lives in scheduler.sim)."""

from __future__ import annotations

import argparse

from console.cli import common


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from scheduler.sim import cli

    parser = common.command(
        commands,
        "sim",
        cli.run,
        "run a simulated MikroTik router speaking the RouterOS API",
        description=cli.DESCRIPTION,
        json=False,
    )
    cli.configure_parser(parser)
