"""Engines for SQLite, PostgreSQL and MariaDB from one URL, and the schema's Alembic upgrade."""

from __future__ import annotations

import logging
import random
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.engine.url import URL
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import DatabaseError as SQLAlchemyDatabaseError
from sqlalchemy.pool import NullPool, QueuePool
from sqlmodel import Session, create_engine

from db.errors import UserError
from db.revisions import MIGRATIONS
from db.sqlite_read import SQLITE_BUSY_MS

logger = logging.getLogger("wisp.database")
T = TypeVar("T")


class DatabaseError(UserError):
    """The database cannot be used, told in one sentence (without the password)."""


def parse_url(url: str) -> URL:
    """A SQLAlchemy URL with the short driver names filled in."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(f"database.url {url!r} is not a database URL.") from None
    driver = {
        "postgresql": "postgresql+psycopg",
        "postgres": "postgresql+psycopg",
        "mariadb": "mariadb+pymysql",
        "mysql": "mysql+pymysql",
    }.get(parsed.drivername)
    if driver:
        parsed = parsed.set(drivername=driver)
    if parsed.get_backend_name() not in ("sqlite", "postgresql", "mysql", "mariadb"):
        raise DatabaseError(
            f"database.url uses {parsed.get_backend_name()!r}; use sqlite, postgresql or mariadb."
        )
    return parsed


def safe_url(url: str | URL) -> str:
    """The URL as it may be shown: the password masked."""
    try:
        return make_url(str(url) if isinstance(url, URL) else url).render_as_string(
            hide_password=True
        )
    except ArgumentError:
        return "(unparseable URL)"


def make_engine(url: str, *, echo: bool = False, pool: bool = True, keep: int = 0) -> Engine:
    """An engine tuned for its backend. SQLite gets WAL, a busy timeout and foreign keys.

    SQLite opens the file for each transaction unless `keep` is set: then up to `keep`
    connections stay open (see `_keep_sqlite`), for a worker that writes many small
    transactions, where opening one costs as much as the writing. A thread never waits for a
    kept connection: beyond `keep` in use at once, more are opened and closed as without."""
    parsed = parse_url(url)
    backend = parsed.get_backend_name()
    # Errors and logs never carry a statement's parameters (ciphertexts, phone numbers).
    kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": not echo}
    if backend == "sqlite":
        _prepare_sqlite_file(parsed)
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_MS / 1000, "check_same_thread": False}
        if keep:
            kwargs.update(poolclass=QueuePool, pool_size=keep, max_overflow=-1)
        else:
            kwargs["poolclass"] = NullPool
    else:
        kwargs["pool_pre_ping"] = True
        if not pool:
            kwargs["poolclass"] = NullPool
    if backend in ("mysql", "mariadb"):
        kwargs.setdefault("connect_args", {})["charset"] = "utf8mb4"
        kwargs["isolation_level"] = "READ COMMITTED"
    if backend == "postgresql":
        kwargs.setdefault("connect_args", {})["connect_timeout"] = 10
    engine = create_engine(parsed, **kwargs)
    if backend == "sqlite":
        _tune_sqlite(engine, _writers_of(parsed.database))
        if keep and parsed.database and parsed.database != ":memory:":
            _keep_sqlite(engine, Path(parsed.database).expanduser())
    return engine


def kept(engine: Engine, connections: int = 2) -> Engine:
    """An engine on the same database whose SQLite connections stay open between transactions
    (`engine` itself for a server database, whose engine keeps its connections already).
    The caller disposes of it when done."""
    if engine.dialect.name != "sqlite":
        return engine
    url = engine.url.render_as_string(hide_password=False)
    return make_engine(url, echo=bool(engine.echo), keep=connections)


def _prepare_sqlite_file(url: URL) -> None:
    if url.database and url.database != ":memory:":
        folder = Path(url.database).expanduser().resolve().parent
        if not folder.is_dir():
            raise DatabaseError(f"database folder {folder} does not exist.")


class Turns:
    """The turns this process's writers of one SQLite file take, one at a time, in the order
    they asked (a lock would hand the file to whichever waiter the interpreter runs first).

    A writer in a `yielding` block (bulk work) lets every other writer waiting for the file go
    first, for YIELD_SECONDS at most; then it waits in line as they do. A writer in an `ahead`
    block (a short claim of customers' paid jobs) goes before the others waiting.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition(threading.Lock())
        self._held = False
        self._line: deque[_Waiter] = deque()
        """The writers waiting in line, first first."""

    def locked(self) -> bool:
        """True while a writer has its turn."""
        return self._held

    @property
    def waiting(self) -> int:
        """Writers waiting in line (not those yielding)."""
        return len(self._line)

    def acquire(self, timeout: float) -> bool:
        """Wait for a turn (`timeout` seconds at most); True once it is this thread's."""
        deadline = time.monotonic() + timeout
        with self._changed:
            if getattr(_yielding, "on", False):
                patience = min(timeout, YIELD_SECONDS)
                if self._changed.wait_for(lambda: not (self._held or self._line), patience):
                    self._held = True
                    return True
            me = _Waiter(bool(getattr(_ahead, "on", False)))
            self._line.append(me)
            if self._changed.wait_for(
                lambda: not self._held and self._next() is me,
                max(0.0, deadline - time.monotonic()),
            ):
                self._line.remove(me)
                self._held = True
                return True
            self._line.remove(me)
            self._changed.notify_all()  # the one behind may be first now
            return False

    def _next(self) -> _Waiter:
        """The writer whose turn is next: the first of those going ahead, else the first."""
        return next((waiter for waiter in self._line if waiter.ahead), self._line[0])

    def release(self) -> None:
        """End this writer's turn."""
        with self._changed:
            self._held = False
            self._changed.notify_all()


class _Waiter:
    """A writer waiting in line."""

    __slots__ = ("ahead",)

    def __init__(self, ahead: bool) -> None:
        self.ahead = ahead


YIELD_SECONDS = 0.25
"""Longest a yielding writer lets other writers go first, before it waits as they do."""
_yielding = threading.local()
_ahead = threading.local()


@contextmanager
def _set_within(flag: threading.local) -> Iterator[None]:
    """`flag.on` is True in this thread within the block (and as it was after it)."""
    before = getattr(flag, "on", False)
    flag.on = True
    try:
        yield
    finally:
        flag.on = before


def ahead() -> AbstractContextManager[None]:
    """The SQLite writes this thread begins in the block go before this process's other
    writers waiting for the file (a short claim of customers' paid jobs before a long
    transaction storing the next payment)."""
    return _set_within(_ahead)


def yielding() -> AbstractContextManager[None]:
    """The SQLite writes this thread begins in the block let this process's other writers
    waiting for the file go first (bulk work before a customer's payment or claim)."""
    return _set_within(_yielding)


_writer_locks: dict[str, Turns] = {}
_writer_locks_guard = threading.Lock()
WRITER_FLAG = "wisp.writer"
"""Connection-record info key: this connection holds its file's writer lock."""


def _writers_of(database: str | None) -> Turns | None:
    """The turns this process's writers of a SQLite file take (None for memory)."""
    if not database or database == ":memory:":
        return None
    key = str(Path(database).expanduser().resolve())
    with _writer_locks_guard:
        return _writer_locks.setdefault(key, Turns())


def _tune_sqlite(engine: Engine, writers: Turns | None) -> None:
    """WAL and the rest on every connection; transactions begun as `immediate` asks.

    The write transactions of this process (BEGIN IMMEDIATE) also take turns (`Turns`) by the
    file, each held until the connection is handed back after its commit or rollback: SQLite's
    own wait for a busy file sleeps and looks again, up to 100 ms a time, so a writer could wait
    through many transactions of a busier thread (a paid activation behind a drain of
    thousands, seen 0.7 s); a turn passes as soon as the file is free, to the writer that asked
    first, bulk writes (`yielding`) after the others. Other processes still meet SQLite's busy
    wait.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy-managed transactions start as we say (BEGIN / BEGIN IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "BEGIN")
        info = connection.info
        # A thread that already writes (it would wait for itself) or a lock held too long goes
        # on to SQLite's own wait, as without the lock.
        if (
            writers is not None
            and mode != "BEGIN"
            and not info.get(WRITER_FLAG)
            and writers.acquire(timeout=SQLITE_BUSY_MS / 1000)
        ):
            info[WRITER_FLAG] = True
        try:
            connection.exec_driver_sql(mode)
        except BaseException:
            _let_writers_on(info, writers)
            raise

    @event.listens_for(engine.pool, "checkin")
    def _handed_back(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            _let_writers_on(record.info, writers)

    @event.listens_for(engine.pool, "invalidate")
    def _dropped(_dbapi_connection: Any, record: Any, _exception: Any) -> None:
        if record is not None:
            _let_writers_on(record.info, writers)


def _let_writers_on(info: dict[str, Any], writers: Turns | None) -> None:
    if writers is not None and info.pop(WRITER_FLAG, False):
        writers.release()


def _keep_sqlite(engine: Engine, path: Path) -> None:
    """A kept connection writes to the file it opened, even once that file was moved or deleted
    and another put at its path (a restored backup): each is checked, when taken, to be on
    the file now at the path, and is replaced by a new one if not."""

    def identity() -> tuple[int, int] | None:
        try:
            found = path.stat()
        except OSError:
            return None
        return (found.st_dev, found.st_ino)

    @event.listens_for(engine, "connect")
    def _opened(_dbapi_connection: Any, record: Any) -> None:
        record.info["file"] = identity()

    @event.listens_for(engine, "checkout")
    def _taken(_dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        now = identity()
        if now is None or record.info.get("file") != now:
            raise DisconnectionError(f"the database file {path} was moved or replaced")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A unit of work: commits on success, rolls back on error.

    On SQLite it begins with BEGIN IMMEDIATE, so it waits for the write lock (up to the busy
    timeout) before its first read. A deferred transaction that reads and then writes fails at
    once with "database is locked" when a drain wrote in between, whatever the busy timeout.
    Read-only code opens a plain `Session` instead and never waits for a writer.
    """
    with Session(immediate(engine), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


DEADLOCK_CODES = {1213, 1205}
"""MariaDB/MySQL: deadlock found, lock wait timeout exceeded."""
DEADLOCK_STATES = {"40P01", "40001"}
"""PostgreSQL: deadlock detected, serialization failure."""


def is_deadlock(exc: BaseException) -> bool:
    """True when the database gave up a transaction to break a lock cycle: retrying it is safe."""
    orig = getattr(exc, "orig", None)
    if orig is None:
        return False
    if getattr(orig, "sqlstate", None) in DEADLOCK_STATES:
        return True
    args: tuple[object, ...] = tuple(getattr(orig, "args", ()))
    return bool(args) and args[0] in DEADLOCK_CODES


DEADLOCK_ATTEMPTS = 5
"""Times a transaction broken off to end a deadlock is run before the error is let through."""


def deadlock_retried(work: Callable[[], T], what: str) -> T:
    """Run `work` (one whole transaction) again when the database broke it off to end a deadlock.

    MariaDB and PostgreSQL pick a victim when two transactions wait on each other (a claim and a
    router's held jobs made due again, two drainers recording); the victim is rolled back, so
    running it again is safe, and given up it would leave its work undone until a later timer.
    """
    for attempt in range(1, DEADLOCK_ATTEMPTS + 1):
        try:
            return work()
        except DBAPIError as error:
            if not is_deadlock(error) or attempt == DEADLOCK_ATTEMPTS:
                raise
            logger.warning("%s met a deadlock; trying again (%d)", what, attempt)
            time.sleep(random.uniform(0.01, 0.05) * attempt)
    raise AssertionError("unreachable")


def immediate(engine: Engine) -> Engine:
    """The same engine, but SQLite transactions take the write lock at BEGIN (no upgrade deadlock)."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(sqlite_begin="BEGIN IMMEDIATE")  # type: ignore[return-value]
    return engine


def check_connection(engine: Engine) -> None:
    """Connect once; an unreachable database becomes one DatabaseError sentence."""
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                # SQLite opens any file; the first read says whether it is a database at all.
                connection.exec_driver_sql("PRAGMA schema_version")
    except OperationalError as exc:
        raise DatabaseError(describe_operational_error(engine, exc)) from None
    except SQLAlchemyDatabaseError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0]
        raise DatabaseError(
            f"{safe_url(engine.url)} cannot be used as a database: {reason}."
        ) from None


def describe_operational_error(engine: Engine, exc: OperationalError) -> str:
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc).splitlines()[0]
    return f"the database at {safe_url(engine.url)} cannot be reached: {reason}"


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema to `revision` with Alembic."""
    from alembic import command

    check_connection(engine)
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The schema revision stamped in the database, or None if it was never created."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head() or ""


def require_schema(engine: Engine) -> None:
    """Refuse a database that was never created, is behind this version, or whose stored
    passwords the configured WISP_SECRET_KEY cannot read."""
    check_connection(engine)
    current = current_revision(engine)
    if current is None:
        if inspect(engine).has_table("routers"):
            raise DatabaseError(
                "the database has tables but no schema revision; run `wisp db upgrade`."
            )
        raise DatabaseError(
            f"the database at {safe_url(engine.url)} is empty; run `wisp init` first."
        )
    if current != head_revision():
        raise DatabaseError(
            f"the database schema is at revision {current}, this version needs {head_revision()}; "
            "run `wisp db upgrade`."
        )
    from db.keycheck import check_secret_key

    check_secret_key(engine)
