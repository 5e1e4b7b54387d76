"""Leases kept alive while their batch runs, and given up as soon as they are lost.

A claim is a lease of `queue.lease_seconds`; the reaper of any process hands back a job whose lease
ran out. A batch may outlive one lease (a far router, a run of slow answers), so a heartbeat renews
the leases of every batch in hand a few times per lease. A job whose lease was lost anyway (the
database was out of reach for a whole lease, or the reaper took it) is left to whoever holds it now:
its old worker never starts it, and says so.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection

from sqlalchemy.engine import Engine

from db import queue
from db.engine import session_scope

logger = logging.getLogger("wisp.engine")

BEATS_PER_LEASE = 3
"""Renewals per lease: two may be missed (a busy database) before a lease runs out."""
TRUST_SHARE = 0.8
"""Share of a lease a renewal is trusted for: past it, a job is taken as lost without proof."""


class Leases:
    """The jobs this process works on, renewed by one heartbeat thread."""

    def __init__(
        self,
        engine: Engine,
        worker: str,
        lease_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._worker = worker
        self.lease_seconds = float(lease_seconds)
        self.interval = self.lease_seconds / BEATS_PER_LEASE
        self._clock = clock
        self._confirmed: dict[int, float] = {}
        self._lost: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, ids: Collection[int]) -> None:
        """Start renewing these just-claimed jobs (their lease begins now)."""
        now = self._clock()
        with self._lock:
            for job_id in ids:
                self._confirmed[job_id] = now
                self._lost.discard(job_id)
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(
                    target=self._beat, name="lease-heartbeat", daemon=True
                )
                self._thread.start()

    def let_go(self, ids: Collection[int]) -> None:
        """Stop renewing these jobs (their outcome is about to be written)."""
        with self._lock:
            for job_id in ids:
                self._confirmed.pop(job_id, None)
                self._lost.discard(job_id)

    def lost(self, job_id: int) -> bool:
        """True when this worker no longer holds the job, or cannot be sure it still does."""
        with self._lock:
            if job_id in self._lost:
                return True
            confirmed = self._confirmed.get(job_id)
        if confirmed is None:
            return False
        return self._clock() - confirmed > self.lease_seconds * TRUST_SHARE

    def renew(self) -> set[int]:
        """Renew every lease in hand now; returns the ids found lost by this renewal."""
        with self._lock:
            ids = list(self._confirmed)
        if not ids:
            return set()
        started = self._clock()
        with session_scope(self._engine) as session:
            held = queue.renew(session, ids, worker=self._worker)
        lost: set[int] = set()
        with self._lock:
            for job_id in ids:
                if job_id not in self._confirmed:
                    continue  # let go meanwhile: its outcome is being written
                if job_id in held:
                    self._confirmed[job_id] = started
                elif job_id not in self._lost:
                    self._lost.add(job_id)
                    lost.add(job_id)
        if lost:
            logger.warning(
                "worker %s lost the lease of job(s) %s while working on them (the reaper handed "
                "them back after %g s without a renewal); they are left to the worker that "
                "holds them now",
                self._worker,
                _ids(lost),
                self.lease_seconds,
            )
        return lost

    def close(self) -> None:
        """Stop the heartbeat."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=5)

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.renew()
            except Exception:  # the database may be back at the next beat
                logger.warning(
                    "worker %s could not renew its leases; trying again in %g s",
                    self._worker,
                    self.interval,
                    exc_info=True,
                )


def _ids(ids: Collection[int]) -> str:
    shown = sorted(ids)
    text = ", ".join(str(i) for i in shown[:10])
    return text + (f" and {len(shown) - 10} more" if len(shown) > 10 else "")
