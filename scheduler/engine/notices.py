"""Jobs queued by other processes, drained at once instead of at the next drain tick.

On PostgreSQL every job made due (queued, handed back, made due again) is announced on the
`wisp_jobs` channel by a trigger when its transaction commits (migration 0009). The engine keeps
one connection that LISTENs and wakes the drain on each notice; a burst of notices is one wake.
If the connection is lost, the drain tick's polling carries on alone until it is made again.

SQLite and MariaDB have no such channel: the engine listens on a loopback UDP port announced
in `wake_listeners`, and a process that queued a job sends it a datagram after its commit
(`db.wakes`); processes on other machines are found by the drain tick's polling.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable

from sqlalchemy.engine import Engine

from db import wakes
from db.outage import reason

logger = logging.getLogger("wisp.engine")
said = logging.getLogger("wisp.run")
"""The runner's own lines, shown at its level: when listening starts."""

CHANNEL = "wisp_jobs"
RECONNECT_SECONDS = 5.0
"""After the listening connection is lost (or cannot be made), when to try again."""
POLL_SECONDS = 0.2
"""How often the listener looks whether it is asked to stop."""


class JobNotices:
    """A thread listening for jobs made due by any process, calling `wake` for them."""

    def __init__(self, engine: Engine, wake: Callable[[], None], worker: str) -> None:
        self._engine = engine
        self._worker = worker
        self._wake = wake
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.listening = threading.Event()
        """Set while notices are listened for (tests and the status line may look)."""

    def start(self) -> None:
        way = wakes.way(self._engine)
        if self._thread is not None or way is None:
            return
        self._stop.clear()
        listen = self._datagrams if way == wakes.DATAGRAM else self._run
        self._thread = threading.Thread(target=listen, name="job-notices", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=POLL_SECONDS + 1)
            self._thread = None

    def _conninfo(self) -> str:
        url = self._engine.url.set(drivername="postgresql")
        return url.render_as_string(hide_password=False)

    def _run(self) -> None:
        import psycopg

        lost = False
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo(), autocommit=True, connect_timeout=10) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    said.info(
                        "listening %sfor jobs queued by other processes", "again " if lost else ""
                    )
                    lost = False
                    self._wake()  # what was queued while nobody listened
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=POLL_SECONDS):
                            self._wake()
            except psycopg.Error as error:
                self.listening.clear()
                if not lost and not self._stop.is_set():
                    logger.warning(
                        "stopped listening for jobs queued by other processes (%s); they are "
                        "drained at each drain tick until the connection is made again",
                        reason(error),
                    )
                lost = True
                self._stop.wait(RECONNECT_SECONDS)
        self.listening.clear()

    def _datagrams(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            sock.settimeout(POLL_SECONDS)
            port = int(sock.getsockname()[1])
            while not self._stop.is_set():
                try:
                    wakes.announce(self._engine, self._worker, port)
                    break
                except Exception as error:  # the database is away: the tick polls meanwhile
                    logger.warning(
                        "cannot announce where to hear of jobs queued by other processes (%s); "
                        "trying again in %g s",
                        reason(error),
                        RECONNECT_SECONDS,
                    )
                    self._stop.wait(RECONNECT_SECONDS)
            else:
                return
            self.listening.set()
            said.info("listening for jobs queued by other processes on this machine")
            try:
                while not self._stop.is_set():
                    try:
                        sock.recv(64)
                    except TimeoutError:
                        continue
                    sock.setblocking(False)  # a burst of datagrams is one wake
                    with contextlib.suppress(BlockingIOError):
                        while sock.recv(64):
                            pass
                    sock.settimeout(POLL_SECONDS)
                    self._wake()
            finally:
                self.listening.clear()
                with contextlib.suppress(Exception):
                    wakes.withdraw(self._engine, self._worker)
