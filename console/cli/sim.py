"""`wisp sim`: a simulated RouterOS router (the simulator lives in scheduler.sim)."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from scheduler.sim import cli

    parser = commands.add_parser(
        "sim",
        help="run a simulated MikroTik router speaking the RouterOS API",
        description="A RouterOS API server on loopback that real API clients cannot tell from a router.",
    )
    cli.configure_parser(parser)
    parser.set_defaults(handler=cli.run)
