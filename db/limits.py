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
        return allow_all(self.engine, [(self, key)])

    def full(self, key: str) -> bool:
        """True when `key` has used up its attempts of the window (nothing is counted)."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(R.c.times).where(R.c.kind == self.kind, R.c.key == key)
            ).first()
        return len(self._recent(row.times if row else "", self._clock())) >= self.limit

    def _room(self, session: Session, key: str, now: float) -> tuple[list[float], bool] | None:
        """The attempts of `key` still in the window and whether its row exists, its row locked;
        None when the limit is reached."""
        row = session.execute(
            select(R.c.times).where(R.c.kind == self.kind, R.c.key == key).with_for_update()
        ).first()
        times = self._recent(row.times if row else "", now)
        return None if len(times) >= self.limit else (times, row is not None)

    def _count(
        self, session: Session, key: str, times: list[float], known: bool, now: float
    ) -> None:
        times.append(now)
        values = {"times": ",".join(f"{t:.3f}" for t in times), "updated_at": _moment(now)}
        if not known:
            session.execute(insert(R).values(kind=self.kind, key=key, **values))
        else:
            session.execute(update(R).where(R.c.kind == self.kind, R.c.key == key).values(**values))
        if now - self._swept >= SWEEP_SECONDS:
            self._swept = now
            self._sweep(session, now)

    def _recent(self, times: str, now: float) -> list[float]:
        oldest = now - self.window
        return [t for t in (float(x) for x in times.split(",") if x) if t > oldest]

    def _sweep(self, session: Session, now: float) -> None:
        idle = _moment(now) - timedelta(seconds=self.window)
        session.execute(delete(R).where(R.c.kind == self.kind, R.c.updated_at < idle))


def _moment(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def allow_all(engine: Engine, attempts: list[tuple[SharedLimit, str]]) -> bool:
    """Count one attempt under each (limit, key), in one transaction, only if every one has room:
    a request refused by one limit (a phone that asked too often) uses up nothing of the others
    (the device it came from)."""

    def take() -> bool:
        with session_scope(engine) as session:
            rooms = []
            for limit, key in attempts:
                room = limit._room(session, key, limit._clock())
                if room is None:
                    return False
                rooms.append(room)
            for (limit, key), (times, known) in zip(attempts, rooms, strict=True):
                limit._count(session, key, times, known, limit._clock())
        return True

    what = " and ".join(limit.kind for limit, _ in attempts)
    for attempt in (1, 2):
        try:
            return deadlock_retried(take, f"counting a {what} attempt")
        except IntegrityError:  # another process counted a key's first attempt meanwhile
            if attempt == 2:
                raise
    raise AssertionError("unreachable")
