"""Jobs queued by other processes, drained at once instead of at the next drain tick.

On PostgreSQL every job made due (queued, handed back, made due again) is announced on the
`wisp_jobs` channel by a trigger when its transaction commits (migration 0009). The engine keeps
one connection that LISTENs and wakes the drain on each notice; a burst of notices is one wake.
If the connection is lost, the drain tick's polling carries on alone until it is made again.
SQLite and MariaDB have no such channel: their engines poll.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.engine import Engine

logger = logging.getLogger("wisp.engine")
said = logging.getLogger("wisp.run")
"""The runner's own lines, shown at its level: when listening starts."""

CHANNEL = "wisp_jobs"
RECONNECT_SECONDS = 5.0
"""After the listening connection is lost (or cannot be made), when to try again."""
POLL_SECONDS = 1.0
"""How often the listener looks whether it is asked to stop."""


class JobNotices:
    """A thread listening for jobs made due by any process, calling `wake` for them."""

    def __init__(self, engine: Engine, wake: Callable[[], None]) -> None:
        self._engine = engine
        self._wake = wake
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.listening = threading.Event()
        """Set while notices are listened for (tests and the status line may look)."""

    @property
    def available(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    def start(self) -> None:
        if not self.available or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="job-notices", daemon=True)
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
                        str(error).strip().splitlines()[0] if str(error).strip() else error,
                    )
                lost = True
                self._stop.wait(RECONNECT_SECONDS)
        self.listening.clear()
