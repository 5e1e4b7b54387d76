"""What every subcommand shares: settings, the database, output as a table or JSON, errors."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

from db import localtime
from db.errors import UserError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.exc import OperationalError

    from db.config import Settings

# Building the parser, `--help` and usage errors import nothing below argparse: the database,
# its configuration and the secrets are imported by the functions that use them, when they run.

FOREIGN_ERRORS = (
    ("sqlalchemy.exc", "OperationalError"),
    ("scheduler.routeros.errors", "RouterError"),
    ("scheduler.routeros.actions", "NotOurs"),
)
"""The database's and the router client's own errors: they know nothing of db.errors.UserError,
yet they are the operator's to act on. Looked up only once loaded (none can have been raised
before), so that commands that never use the database or a router do not pay for importing them."""


def user_errors() -> tuple[type[BaseException], ...]:
    """The errors told as one sentence with a non-zero exit, not as a traceback."""
    foreign = tuple(
        getattr(sys.modules[module], name)
        for module, name in FOREIGN_ERRORS
        if module in sys.modules
    )
    return (UserError, *foreign)


Handler = Callable[[argparse.Namespace], int | None]


def fail(exc: BaseException) -> None:
    """Print an operator error as one line on stderr."""
    if _is_operational(exc):
        reason = str(exc.orig or exc).strip().splitlines()[0]
        message = f"the database cannot be used: {reason}"
    else:
        message = str(exc)
    # One line, whatever the message quotes: a value holding a line break cannot forge a second.
    print(f"wisp: {_masked(message)}".replace("\r", "\\r").replace("\n", "\\n"), file=sys.stderr)


def _is_operational(exc: BaseException) -> TypeGuard[OperationalError]:
    """Whether `exc` is SQLAlchemy's OperationalError; none can be unless SQLAlchemy is loaded
    (a usage error is told without loading it)."""
    errors = sys.modules.get("sqlalchemy.exc")
    return errors is not None and isinstance(exc, errors.OperationalError)


def _masked(text: str) -> str:
    """`db.secrets.mask(text)`, without importing it for a text it cannot change: before it is
    imported no secret is known, and without "=" the text holds no =password= word."""
    if "db.secrets" not in sys.modules and "=" not in text:
        return text
    from db.secrets import mask

    return mask(text)


def setup_logging(args: argparse.Namespace) -> None:
    level = logging.DEBUG if getattr(args, "verbose", False) else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(ZonedFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    # force: main() may run more than once in a process (tests, scripts)
    logging.basicConfig(level=level, handlers=[handler], force=True)
    from db.outage import install as install_outage_log
    from db.secrets import install_log_filter

    install_log_filter()
    install_outage_log()


class ZonedFormatter(logging.Formatter):
    """Log lines stamped in the configured zone, with its abbreviation (once settings are read)."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        moment = datetime.fromtimestamp(record.created, localtime.zone())
        return moment.strftime("%Y-%m-%d %H:%M:%S %Z")


def settings(args: argparse.Namespace) -> Settings:
    """The settings for this invocation (read once), a relative SQLite path made absolute."""
    return _settings(getattr(args, "config", None))


def read_settings(args: argparse.Namespace) -> Settings:
    """The settings as read, the database URL as written (making a relative SQLite path absolute
    loads SQLAlchemy): the console draws its first frame from them, and `settings(args)` later
    completes this same object."""
    return _read(getattr(args, "config", None))[0]


def database_url_and_folder(args: argparse.Namespace) -> tuple[str, Path]:
    """The database URL as read and the folder a relative SQLite path in it is relative to
    (`settings(args)` makes that path absolute with SQLAlchemy's URL parser)."""
    loaded, folder = _read(getattr(args, "config", None))
    return loaded.database.url, folder


@cache
def _settings(path: str | None) -> Settings:
    from db.paths import relative_to

    loaded, folder = _read(path)
    loaded.database.url = relative_to(loaded.database.url, folder)
    return loaded


@cache
def _read(path: str | None) -> tuple[Settings, Path]:
    """The settings as read, and the folder a relative SQLite path is relative to."""
    from db.config import config_path, load_settings

    from_shell = "WISP_DATABASE_URL" in os.environ  # before .env files are read into it
    loaded = load_settings(path)
    folder = Path.cwd() if from_shell else config_path(path).absolute().parent
    localtime.use_zone(loaded.zone)
    return loaded, folder


def engine(args: argparse.Namespace, *, check_schema: bool = True, create: bool = False) -> Engine:
    """The configured database, checked to be reachable and at this version's schema.

    A SQLite file that does not exist is created only when `create` (by `wisp init`): any other
    command says so in one sentence and leaves nothing behind.
    """
    from db.engine import make_engine
    from db.paths import sqlite_file

    config = settings(args)
    file = sqlite_file(config.database.url)
    if file is not None and not file.exists():
        if not create:
            named = f" ({config.source})" if Path(config.source).is_file() else ""
            raise UserError(f"there is no database at {file}{named}; run `wisp init` first.")
        file.parent.mkdir(parents=True, exist_ok=True)
    db = make_engine(config.database.url, echo=config.database.echo)
    if check_schema:
        require_schema(db)
    return db


def require_schema(db: Engine) -> None:
    """db.engine.require_schema, without loading Alembic in the everyday case: a database stamped
    with the revision the migration files end at. Its stamp is read with one query and that head
    from the files' own `revision` lines; anything else (no stamp, another revision, revisions
    this reading does not follow) is left to require_schema, which says what is wrong."""
    from db.engine import check_connection
    from db.engine import require_schema as full_check
    from db.revisions import migrations_head

    check_connection(db)
    head = migrations_head()
    if head is None or stamped_revision(db) != head:
        full_check(db)
        return
    from db.keycheck import check_secret_key

    check_secret_key(db)


def stamped_revision(db: Engine) -> str | None:
    """The one revision in the database's alembic_version table; None without exactly one."""
    from sqlalchemy import inspect, text

    from db.revisions import STAMP

    with db.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        rows = connection.execute(text(STAMP)).all()
    return str(rows[0][0]) if len(rows) == 1 else None


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    flag(parser, "--json", "print JSON instead of a table (see the README for its shape)")


def flag(
    parser: argparse.ArgumentParser | argparse._ActionsContainer, name: str, help: str
) -> None:
    """An on/off option."""
    parser.add_argument(name, action="store_true", help=help)


def command(
    actions: argparse._SubParsersAction,  # type: ignore[type-arg]
    name: str,
    handler: Handler,
    help: str,
    *positionals: tuple[str, str | None],
    description: str | None = None,
    json: bool = True,
) -> argparse.ArgumentParser:
    """A subcommand: its parser with its (name, help) positionals, --json unless not, its handler."""
    parser = actions.add_parser(name, help=help, description=description)
    for positional, text in positionals:
        parser.add_argument(positional, help=text)
    if json:
        add_json_flag(parser)
    parser.set_defaults(handler=handler)
    return parser


CENT = Decimal("0.01")


def jsonable(value: Any) -> Any:
    """A value as JSON has it: times in ISO 8601 with their offset, money as a decimal string."""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, Decimal):
        return str(value.quantize(CENT))
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    return value


def say(args: argparse.Namespace, data: Any, *lines: str) -> None:
    """What an action did: `data` as JSON with --json, else the lines in words."""
    if args.json:
        print_json(data)
    else:
        for line in lines:
            print(line)


def print_json(value: Any) -> None:
    """Print a value as indented JSON (see `jsonable`)."""
    print(json.dumps(jsonable(value), indent=2, ensure_ascii=False))


def print_rows(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    *,
    as_json: bool,
    empty: str,
    hidden: Sequence[str] = (),
) -> None:
    """Print rows as JSON (every field but the `hidden` ones, which are for people only) or as an
    aligned table of `columns`."""
    if as_json:
        print_json([{k: v for k, v in row.items() if k not in hidden} for row in rows])
        return
    if not rows:
        print(empty)
        return
    print_table(rows, columns)


def print_table(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> None:
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


class Seconds(int):
    """A length of time: whole seconds in JSON, words in a table (`2 days 3 h`)."""


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, Seconds):
        from db.localtime import describe

        return describe(timedelta(seconds=int(value)))
    if isinstance(value, dict) and "text" in value:
        return str(value["text"])  # a typed value that carries its own words (a validity)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime(localtime.FORMAT)
    return str(value)


def shown_time(args: argparse.Namespace, value: datetime | None) -> str:
    """A stored time as a person reads it: `2025-01-31 14:00 EAT`."""
    return localtime.at(value, read_settings(args).zone) if value else "-"


def local(args: argparse.Namespace, value: datetime | None) -> datetime | None:
    """A stored UTC time in the operator's zone."""
    return value.astimezone(read_settings(args).zone) if value else None


def session_for(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """A committing session on the configured database."""
    from db.engine import session_scope

    return session_scope(engine(args))


def confirm(question: str, *, yes: bool, nothing_done: str) -> None:
    """Ask a yes/no question on the terminal unless `yes`; refuse without a terminal to ask on."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise UserError(f"add --yes to go ahead without a terminal to confirm on; {nothing_done}")
    answer = input(f"{question} [y/N] ")
    if answer.strip().lower() not in ("y", "yes"):
        raise UserError(f"not confirmed; {nothing_done}")


def write_file(path: Path, data: bytes) -> None:
    """Write an --output file, or say in one sentence why it cannot be written."""
    try:
        path.write_bytes(data)
    except OSError as error:
        raise UserError(f"--output {str(path)!r} cannot be written: {error.strerror}.") from None


def read_password(prompt: str = "router API password: ") -> str:
    """A password from the terminal (not echoed) or the first line of standard input."""
    import getpass

    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().rstrip("\r\n")


def family(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    name: str,
    help: str,
) -> argparse._SubParsersAction:  # type: ignore[type-arg]
    """A command with its own actions (`wisp router add|edit|...`); returns its subparsers."""
    parser = commands.add_parser(name, help=help, description=help[:1].upper() + help[1:] + ".")
    return parser.add_subparsers(dest=f"{name}_command", metavar="ACTION", required=True)


def actions_of(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    name: str,
) -> argparse._SubParsersAction:  # type: ignore[type-arg]
    """The actions of a command family that another module registered."""
    parser = commands.choices[name]
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
