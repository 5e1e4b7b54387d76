"""`wisp pay ...` (M-Pesa payments) and `wisp sim-mpesa` (the Daraja simulator)."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add sim-mpesa and the pay family."""
    from scheduler.mpesa_sim import cli

    sim = commands.add_parser(
        "sim-mpesa",
        help="run a simulated Daraja (M-Pesa API): STK Push, C2B, Pull Transactions",
        description="A Daraja API server for development, demos and tests: no sandbox needed.",
    )
    cli.configure_parser(sim)
    sim.set_defaults(handler=cli.run)
