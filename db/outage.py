"""A database outage is said once, not as a traceback from every timer, lane and batch it stops.

While the database cannot be reached, each drain thread, timer and receiver that touches it fails
in turn; each would log its traceback. A filter on the log handlers lets the first through as one
line naming the reason, drops the rest, and a line says when the database is back (the engine
calls `recovered()` after a timer that used it succeeds). "Back" waits until QUIET_SECONDS have
passed since the last failure was seen: a thread that failed during the outage may log it only
after another thread's first success (seen on a loaded machine), and that failure belongs to the
outage already said, not to a new one.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable

logger = logging.getLogger("wisp.database")

QUIET_SECONDS = 2.0
"""How long after the last failure seen a success says the database is back."""


def is_outage(exc: BaseException) -> bool:
    """True for errors that mean the database cannot be reached or used right now (not a
    deadlock: the database is there, and broke off one transaction of two)."""
    if "sqlalchemy.exc" not in sys.modules:
        return False  # nothing has used the database yet (logging is set up before it loads)
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    from db.engine import is_deadlock

    if is_deadlock(exc):
        return False
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def reason(exc: BaseException) -> str:
    """The first line of a database error (of its driver error when it wraps one)."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return lines[0] if lines else type(orig).__name__


class OutageLog(logging.Filter):
    """Passes the first failure of an outage as one line; drops the others until it is over."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._down = False
        self._last_failure = float("-inf")
        self._clock = clock
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None or not is_outage(exc):
            return True
        with self._lock:
            self._last_failure = self._clock()
            if self._down:
                return False
            self._down = True
        record.msg = (
            "the database cannot be used (%s); the engine keeps trying and says when it is back"
        )
        record.args = (reason(exc),)
        record.exc_info, record.exc_text = None, None
        return True

    def recovered(self) -> None:
        """Say that the database is back, if an outage was said and no failure was seen for
        QUIET_SECONDS (else a later success says it)."""
        with self._lock:
            if not self._down or self._clock() - self._last_failure < QUIET_SECONDS:
                return
            self._down = False
        logger.warning("the database is back; the engine carries on")


outages = OutageLog()


def install() -> None:
    """Put the outage filter on every handler of the root logger."""
    for handler in logging.getLogger().handlers:
        if outages not in handler.filters:
            handler.addFilter(outages)
