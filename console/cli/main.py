"""The `wisp` command. Subcommands live in `console.cli.*`; each registers its own parsers.

Building the parser imports nothing heavier than argparse: each subcommand's handler imports the
database, the router client, the engine or Textual when it runs, so `wisp --help` and a usage
error answer at once (tests/cli/test_light_imports.py holds this).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from console.cli import (
    clients,
    common,
    crash,
    drift,
    jobs,
    packages,
    pay,
    portal,
    reports,
    routers,
    run,
    setup,
    sim,
    tui,
    users,
    vouchers,
)
from console.cli.exits import Exit, UsageError, code_for

MODULES = (
    setup,
    routers,
    packages,
    clients,
    jobs,
    reports,
    run,
    users,
    sim,
    tui,
    drift,
    pay,
    vouchers,
    portal,
)


class Parser(argparse.ArgumentParser):
    """argparse's parser, telling a usage error in one line as every other error is (the usage
    block is `--help`'s); its subcommands' parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        common.fail(UsageError(f"{message} (see `{self.prog} --help`)."))
        self.exit(Exit.USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
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
    words = list(sys.argv[1:] if argv is None else argv)
    for word in words:
        if not _is_text(word):
            print(f"wisp: argument {os.fsencode(word)!r} is not valid UTF-8 text.", file=sys.stderr)
            return Exit.USAGE
    args = parser.parse_args(words)
    common.setup_logging(args)
    try:
        _check_numbers(args)
        _check_text(args, _invoked(parser, args))
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


LARGEST = 2**63 - 1
"""No count or id in the database is larger (BIGINT)."""
AT_LEAST_ONE = {"limit"}
"""Options for which 0 means nothing at all to do, which is never what was meant."""


def _is_text(word: str) -> bool:
    # Python hands undecodable argv bytes over as lone surrogates; they cannot be encoded back.
    try:
        word.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


LONGEST = 255
"""No name, address, filter or note is longer (a DNS name is at most 253)."""
PATHS = {"config", "output"}
"""Options naming a file, which may be as long as a path."""


def _invoked(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[argparse.Action]:
    """The arguments of the root parser and of each subcommand parser chosen in `args`."""
    actions = list(parser._actions)
    while chooser := next(
        (a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None
    ):
        parser = chooser.choices[getattr(args, chooser.dest)]
        actions += parser._actions
    return actions


def _check_text(args: argparse.Namespace, actions: list[argparse.Action]) -> None:
    """Text values name things, filter or describe: refuse what no name, filter or note can be,
    as the database's own check (db.validation) refuses it, before anything is looked up."""
    for action in actions:
        values = getattr(args, action.dest, None)
        label = action.option_strings[0] if action.option_strings else action.dest
        for value in values if isinstance(values, list) else [values]:
            if not isinstance(value, str) or value == action.default:
                continue
            if not value.isprintable():
                raise _invalid(
                    f"{label} {value!r} holds a line break or another control character."
                )
            if len(value) > LONGEST and action.dest not in PATHS:
                raise _invalid(f"{label} is {len(value)} characters long; at most {LONGEST} fit.")
            if not value.strip() and (action.required or not action.option_strings):
                raise _invalid(f"{label} is empty; it must name something.")


def _invalid(message: str) -> Exception:
    """db.validation's InvalidValue, imported only when a value is refused (it loads SQLAlchemy)."""
    from db.validation import InvalidValue

    return InvalidValue(message)


def _check_numbers(args: argparse.Namespace) -> None:
    """Whole-number options are counts or ids: refuse what no count or id can be."""
    for name, value in vars(args).items():
        if isinstance(value, int) and not isinstance(value, bool):
            least = 1 if name in AT_LEAST_ONE else 0
            if not least <= value <= LARGEST:
                raise UsageError(
                    f"{name.replace('_', ' ')} {value} is out of range "
                    f"(a whole number from {least} to {LARGEST})."
                )


if __name__ == "__main__":
    sys.exit(main())
