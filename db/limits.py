"""Rate limits kept in the database, so that every process serving the portal counts together.

A sliding window per key: the row of (kind, key) holds the times of the attempts still within the
window. An attempt locks that row (SQLite: the write lock every write transaction takes at
BEGIN), drops the times that left the window, and is counted only while fewer than the limit
remain; so two processes cannot both take the last attempt. Rows idle for a whole window are
deleted now and then, so a phone or device seen once costs a row for one window only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from db.engine import deadlock_retried, session_scope
from db.models import RateLimit

R = RateLimit.__table__  # type: ignore[attr-defined]
SWEEP_SECONDS = 60.0
"""How often one limit deletes the rows idle for a whole window."""


class SharedLimit:
    """At most `limit` attempts of `kind` per key within `window` seconds, across processes."""

    def __init__(
        self,
        engine: Engine,
        kind: str,
        limit: int,
        window: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.kind = kind
        self.limit = limit
        self.window = window
        self._clock = clock
        self._swept = float("-inf")

    def allow(self, key: str) -> bool:
        """Count one attempt for `key`; False (and not counted) when the limit is reached."""
        for attempt in (1, 2):
            try:
                return deadlock_retried(lambda: self._take(key), f"counting a {self.kind} attempt")
            except IntegrityError:  # another process counted this key's first attempt meanwhile
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def full(self, key: str) -> bool:
        """True when `key` has used up its attempts of the window (nothing is counted)."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(R.c.times).where(R.c.kind == self.kind, R.c.key == key)
            ).first()
        return len(self._recent(row.times if row else "", self._clock())) >= self.limit

    def _take(self, key: str) -> bool:
        now = self._clock()
        with session_scope(self.engine) as session:
            row = session.execute(
                select(R.c.times).where(R.c.kind == self.kind, R.c.key == key).with_for_update()
            ).first()
            times = self._recent(row.times if row else "", now)
            if len(times) >= self.limit:
                return False
            times.append(now)
            values = {"times": ",".join(f"{t:.3f}" for t in times), "updated_at": _moment(now)}
            if row is None:
                session.execute(insert(R).values(kind=self.kind, key=key, **values))
            else:
                session.execute(
                    update(R).where(R.c.kind == self.kind, R.c.key == key).values(**values)
                )
            if now - self._swept >= SWEEP_SECONDS:
                self._swept = now
                self._sweep(session, now)
        return True

    def _recent(self, times: str, now: float) -> list[float]:
        oldest = now - self.window
        return [t for t in (float(x) for x in times.split(",") if x) if t > oldest]

    def _sweep(self, session: Session, now: float) -> None:
        idle = _moment(now) - timedelta(seconds=self.window)
        session.execute(delete(R).where(R.c.kind == self.kind, R.c.updated_at < idle))


def _moment(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
