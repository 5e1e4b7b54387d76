"""What every subcommand shares: settings, the database, output as a table or JSON, errors."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from db.config import Settings, load_settings
from db.engine import make_engine, require_schema
from db.errors import UserError
from db.secrets import install_log_filter, mask

ROUTER_ERRORS = (
    ("scheduler.routeros.errors", "RouterError"),
    ("scheduler.routeros.actions", "NotOurs"),
)
"""The router client's own errors: it knows nothing of db.errors.UserError, yet they are the
operator's to act on. Looked up only once loaded, so that commands that never talk to a router do
not pay for importing the client."""


def user_errors() -> tuple[type[BaseException], ...]:
    """The errors told as one sentence with a non-zero exit, not as a traceback."""
    router = tuple(
        getattr(sys.modules[module], name)
        for module, name in ROUTER_ERRORS
        if module in sys.modules
    )
    return (UserError, OperationalError, *router)


Handler = Callable[[argparse.Namespace], int | None]


def fail(exc: BaseException) -> None:
    """Print an operator error as one line on stderr."""
    if isinstance(exc, OperationalError):
        reason = str(exc.orig or exc).strip().splitlines()[0]
        message = f"the database cannot be used: {reason}"
    else:
        message = str(exc)
    print(f"wisp: {mask(message)}", file=sys.stderr)


def setup_logging(args: argparse.Namespace) -> None:
    level = logging.DEBUG if getattr(args, "verbose", False) else logging.WARNING
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    install_log_filter()


def settings(args: argparse.Namespace) -> Settings:
    """The settings for this invocation (read once)."""
    return _settings(getattr(args, "config", None))


@cache
def _settings(path: str | None) -> Settings:
    return load_settings(path)


def engine(args: argparse.Namespace, *, check_schema: bool = True) -> Engine:
    """The configured database, checked to be reachable and at this version's schema."""
    config = settings(args)
    db = make_engine(config.database.url, echo=config.database.echo)
    if check_schema:
        require_schema(db)
    return db


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def print_rows(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], *, as_json: bool, empty: str
) -> None:
    """Print rows as JSON (every field) or as an aligned table of `columns`."""
    if as_json:
        print(json.dumps([{k: jsonable(v) for k, v in row.items()} for row in rows], indent=2))
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


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def local(args: argparse.Namespace, value: datetime | None) -> datetime | None:
    """A stored UTC time in the operator's zone."""
    return value.astimezone(settings(args).zone) if value else None


def session_for(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """A committing session on the configured database."""
    from db.engine import session_scope

    return session_scope(engine(args))
