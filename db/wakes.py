"""Word of jobs queued by other processes on this machine, for SQLite and MariaDB.

An engine that drains (`wisp run`, the console) listens on a loopback UDP port and announces it
in `wake_listeners`. A session that queued a router job (`jobs_queued`) sends each listener of
this machine but its own process one datagram once it commits, so `wisp activate` while `wisp run`
serves is drained at once instead of at the next drain tick. A lost datagram costs nothing but
that wait: the drain tick still polls. PostgreSQL needs none of it: a trigger NOTIFYs.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from typing import Any

from sqlalchemy import delete, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col

from db.engine import session_scope
from db.models import WakeListener
from db.types import utcnow

QUEUED = "wisp.jobs_queued"
"""The session-info key of a session that queued a router job."""
KNOWN_SECONDS = 1.0
"""How long the listeners read from the database are trusted before they are read again (a
runner that starts is heard of within it; until then the drain tick finds its jobs)."""
HOST = socket.gethostname()[:255]

_known: dict[str, tuple[float, list[int]]] = {}
_lock = threading.Lock()
_sender: socket.socket | None = None


NOTICE, DATAGRAM = "notice", "datagram"


def way(engine: Engine) -> str | None:
    """How engines on `engine` hear of other processes' jobs: PostgreSQL by the trigger's
    NOTIFY, SQLite and MariaDB by datagram."""
    name = engine.dialect.name
    if name == "postgresql":
        return NOTICE
    return DATAGRAM if name in ("mysql", "mariadb", "sqlite") else None


def jobs_queued(session: Session) -> None:
    """Mark `session`: once it commits, the engines of other processes are told."""
    session.info[QUEUED] = True


def announce(engine: Engine, worker: str, port: int) -> None:
    """Record that `worker` listens on `port` of this machine; forget listeners of this machine
    whose process is gone."""
    with session_scope(engine) as session:
        for row in session.scalars(select(WakeListener).where(col(WakeListener.host) == HOST)):
            if row.worker != worker and not _alive(row.pid):
                session.delete(row)
        row = session.get(WakeListener, worker) or WakeListener(
            worker=worker, host=HOST, pid=0, port=0
        )
        row.host, row.pid, row.port, row.updated_at = HOST, os.getpid(), port, utcnow()
        session.add(row)


def withdraw(engine: Engine, worker: str) -> None:
    """`worker` no longer listens."""
    with session_scope(engine) as session:
        session.execute(delete(WakeListener).where(col(WakeListener.worker) == worker))


def tell(engine: Engine) -> None:
    """Send one datagram to every listener of this machine but this process's own."""
    global _sender
    ports = _ports(engine)
    if not ports:
        return
    with _lock:
        if _sender is None:
            _sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            _sender.setblocking(False)
        for port in ports:
            with contextlib.suppress(OSError):  # a listener gone, a full buffer: the tick polls
                _sender.sendto(b"1", ("127.0.0.1", port))


def _ports(engine: Engine) -> list[int]:
    key = str(engine.url)
    now = time.monotonic()
    with _lock:
        known = _known.get(key)
    if known is not None and now - known[0] < KNOWN_SECONDS:
        return known[1]
    with Session(engine) as session:
        ports = [
            int(port)
            for port, pid in session.execute(
                select(col(WakeListener.port), col(WakeListener.pid)).where(
                    col(WakeListener.host) == HOST
                )
            )
            if pid != os.getpid()
        ]
    with _lock:
        _known[key] = (now, ports)
    return ports


def forget() -> None:
    """Read the listeners from the database at the next `tell`."""
    with _lock:
        _known.clear()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Teller:
    """Tells the listeners from a thread of its own: a commit never waits on the database or a
    socket for it, and a burst of commits is one datagram per listener."""

    def __init__(self) -> None:
        self._asked: dict[str, Engine] = {}
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def ask(self, engine: Engine) -> None:
        with self._changed:
            self._asked[str(engine.url)] = engine
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="job-word", daemon=True)
                self._thread.start()
            self._changed.notify()

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._asked:
                    self._changed.wait()
                asked, self._asked = list(self._asked.values()), {}
            for engine in asked:
                with contextlib.suppress(Exception):  # the drain tick finds the job anyway
                    tell(engine)


_teller = _Teller()


@event.listens_for(OrmSession, "after_commit")
def _after_commit(session: OrmSession) -> None:
    if not session.info.pop(QUEUED, False):
        return
    with contextlib.suppress(Exception):
        bind: Any = session.get_bind()
        engine = bind if isinstance(bind, Engine) else getattr(bind, "engine", None)
        if engine is not None and way(engine) == DATAGRAM:
            _teller.ask(engine)


@event.listens_for(OrmSession, "after_rollback")
def _after_rollback(session: OrmSession) -> None:
    session.info.pop(QUEUED, None)
