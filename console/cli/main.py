"""The `wisp` command. Subcommands live in `console.cli.*`; each registers its own parsers.

Nothing here imports Textual: only `wisp console` and `wisp demo` load it, when they run.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from console.cli import (
    clients,
    common,
    crash,
    drift,
    jobs,
    packages,
    pay,
    reports,
    routers,
    run,
    setup,
    sim,
    tui,
    users,
)
from console.cli.exits import code_for

MODULES = (setup, routers, packages, clients, jobs, reports, run, users, sim, tui, drift, pay)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wisp",
        description="WISP Console: sell internet packages and deliver them to MikroTik routers.",
    )
    parser.add_argument(
        "--config", metavar="PATH", help="config file (default: $WISP_CONFIG or ./config.toml)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail to stderr")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in MODULES:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `wisp` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    common.setup_logging(args)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`wisp users r1 | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:
        if not isinstance(exc, common.user_errors()):
            crash.report(exc, getattr(args, "config", None))
            return 1
        common.fail(exc)
        return code_for(exc)
    finally:
        logging.shutdown()


if __name__ == "__main__":
    sys.exit(main())
