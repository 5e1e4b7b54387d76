"""Reading a SQLite database with the standard library's sqlite3, for commands that read and exit.

Importing SQLAlchemy takes 0.24 s of a 2-core machine's time, most of what `wisp jobs --json`
needs for an operator's script or a monitoring check. Such a command opens a plain SQLite file
here and runs its SELECT (plain SQL, which SQLAlchemy runs the same way on the other backends).
Only the everyday case is read this way: a `sqlite:///path` URL without options, a file that is
there and a database stamped with the revision this version's migration files end at. Anything
else returns None, and the caller takes the SQLAlchemy path, which says in its words what is
wrong (no database, another revision, not a database at all).
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from db.revisions import STAMP, migrations_head

SQLITE_BUSY_MS = 30_000
"""How long a statement waits for a file another connection writes (db.engine's too)."""

_PLAIN = re.compile(r"sqlite(?:\+pysqlite)?:///(?P<path>[^?%]+)")


def plain_file(url: str) -> Path | None:
    """The file of a `sqlite:///path` URL without options or %-escapes (db.paths.sqlite_file
    reads every form, with SQLAlchemy); None for anything else."""
    found = _PLAIN.fullmatch(url)
    if found is None or found["path"] == ":memory:" or found["path"].startswith("file:"):
        return None
    return Path(found["path"]).expanduser()


def connect_current(url: str, folder: Path) -> sqlite3.Connection | None:
    """A connection to the plain SQLite file `url` names (relative to `folder`) when it holds a
    database at this version's schema; None when it is not that simple."""
    path = plain_file(url)
    if path is None:
        return None
    path = (folder / path).resolve()
    if not path.is_file():
        return None  # sqlite3 would make an empty one
    connection = sqlite3.connect(path, timeout=SQLITE_BUSY_MS / 1000, isolation_level=None)
    try:
        stamps = connection.execute(STAMP).fetchall()
    except sqlite3.Error:  # not a database, no alembic_version table, locked for too long
        connection.close()
        return None
    head = migrations_head()
    if head is None or stamps != [(head,)]:
        connection.close()
        return None
    return connection


def scalar(connection: sqlite3.Connection, sql: str) -> object:
    """The first value of the first row `sql` reads, or None."""
    row = connection.execute(sql).fetchone()
    return row[0] if row else None


def utc(value: object) -> datetime | None:
    """A stored time as aware UTC, as db.types.UTCDateTime returns it: SQLite keeps naive UTC as
    text ("2026-12-02 11:05:33.123456"), PostgreSQL's and MariaDB's drivers as naive datetimes."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC)
