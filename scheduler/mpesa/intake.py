"""The intake behind the callback receiver: callbacks stored in groups, applied on a worker.

One writer thread stores every callback that arrived while the previous group was being written
in one transaction (group commit); each request is answered once the commit holding its row
returned, so "Accepted" still means "durably stored". Rows that need applying go to one applier
thread, which applies them in batches (one transaction each) and then wakes the provisioning
engine of this process, so the router account is written at once instead of at the next drain.
A crash between the two leaves rows received and not applied: the applier takes them up when it
starts again, and every recovery round does too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future

from sqlalchemy.engine import Engine

from db.config import Settings
from db.engine import kept
from db.models import MpesaStatus
from db.mpesa import Applied, Arrival, Stored, apply_many, received_ids, store_many

logger = logging.getLogger("wisp.mpesa")

GROUP = 256
"""Most callbacks stored in one transaction."""
APPLY_BATCH = 100
"""Most rows applied in one transaction."""
APPLY_SECONDS = 0.05
"""What one applying transaction is sized to take, at the pace the last one went: the writer
waits for it (SQLite has one write lock), and answering Daraja comes first."""
GATHER_SECONDS = 0.02
"""How long the applier waits for more rows after the first of a batch: a transaction costs
about as much as applying a dozen plain payments in it, so under a stream of callbacks
batches of several are far cheaper than one each; a single payment waits this long at most."""


class Intake:
    """Stores callbacks in groups and applies what they paid for, once."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self._arrivals: queue.SimpleQueue[tuple[Arrival, Future[Stored]] | None] = (
            queue.SimpleQueue()
        )
        self._to_apply: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self._queued: set[int] = set()
        """Rows queued and not applied yet: a repeated callback does not queue its row again."""
        self._queued_lock = threading.Lock()
        self._turns = Turns()
        self._wake: Callable[[], object] | None = None
        self._threads: list[threading.Thread] = []
        self._db: Engine = engine
        """Where the writer and the applier work: on SQLite, an engine whose two connections stay
        open (opening the file costs as much as storing a small group)."""
        self._batch = 8

    def wakes(self, wake: Callable[[], object] | None) -> None:
        """Call `wake` after a batch applied a payment (the provisioning engine's `wake`)."""
        self._wake = wake

    def start(self) -> None:
        if self._threads:
            return
        # Kept open, the connections also keep SQLite's write-ahead log: when the last
        # connection to a WAL database closes, SQLite checkpoints and removes the log, and the
        # next transaction creates it again.
        self._db = kept(self.engine)
        for name, target in (("mpesa-writer", self._write), ("mpesa-applier", self._apply)):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        self.apply_left()

    def stop(self, timeout: float = 30) -> None:
        """Store what has arrived, apply what is queued, then end the threads."""
        if not self._threads:
            return
        writer, applier = self._threads
        self._arrivals.put(None)
        writer.join(timeout)
        self._to_apply.put(None)
        applier.join(timeout)
        self._threads = []
        if self._db is not self.engine:
            self._db.dispose()
            self._db = self.engine

    def apply_left(self) -> None:
        """Queue every row stored and not applied (left by a stop or a crash)."""
        try:
            left = received_ids(self.engine, limit=10_000)
        except Exception:  # the database is away: the recovery rounds apply them later
            logger.exception("M-Pesa payments left unapplied could not be looked up")
            return
        for transaction_id in left:
            self._queue(transaction_id)

    def submit(self, arrival: Arrival) -> Future[Stored]:
        """Store `arrival` with the next group; the future is done once it is committed."""
        if not self._threads:
            raise RuntimeError("the M-Pesa intake is not running")
        future: Future[Stored] = Future()
        self._arrivals.put((arrival, future))
        return future

    async def store(self, arrival: Arrival) -> Stored:
        """Await `arrival`'s commit (for the receiver's endpoints)."""
        return await asyncio.wrap_future(self.submit(arrival))

    def _write(self) -> None:
        while True:
            first = self._arrivals.get()
            if first is None:
                return
            group = [first]
            while len(group) < GROUP:
                try:
                    more = self._arrivals.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._arrivals.put(None)  # end after this group
                    break
                group.append(more)
            try:
                self._store(group)
            except Exception as error:  # never leave a sender waiting, nor the writer dead
                logger.exception("M-Pesa callbacks could not be stored")
                for _, future in group:
                    _tell(future, error)

    def _store(self, group: list[tuple[Arrival, Future[Stored]]]) -> None:
        try:
            with self._turns.take(first=True):
                answers = store_many(self._db, [arrival for arrival, _ in group])
        except Exception as error:  # the database is away: each sender is told, none accepted
            for _, future in group:
                _tell(future, error)
            return
        for (_, future), answer in zip(group, answers, strict=True):
            if not isinstance(answer, Exception) and answer.status == MpesaStatus.RECEIVED:
                self._queue(answer.id)
            _tell(future, answer)

    def _queue(self, transaction_id: int) -> None:
        with self._queued_lock:
            if transaction_id in self._queued:
                return
            self._queued.add(transaction_id)
        self._to_apply.put(transaction_id)

    def _apply(self) -> None:
        ending = False
        while not ending:
            first = self._to_apply.get()
            if first is None:
                return
            batch = [first]
            until = time.monotonic() + GATHER_SECONDS
            while len(batch) < self._batch:
                try:
                    more = self._to_apply.get(timeout=max(0.0, until - time.monotonic()))
                except queue.Empty:
                    break
                if more is None:
                    ending = True
                    break
                batch.append(more)  # queued once (see `_queue`)
            with self._queued_lock:
                self._queued.difference_update(batch)
            self._apply_batch(batch)

    def _apply_batch(self, batch: list[int]) -> None:
        try:
            with self._turns.take(first=False):
                began = time.monotonic()
                done = apply_many(self._db, self.settings, batch)
                took = time.monotonic() - began
            self._batch = next_batch(self._batch, len(batch), took)
        except Exception:
            # Stored and acknowledged: the next recovery round applies them.
            logger.exception("M-Pesa transactions %s could not be applied now", batch)
            return
        for applied in done:
            logger.info("M-Pesa transaction %s: %s %s", applied.id, applied.status, applied.note)
        if self._wake is not None and any(a.job_id for a in done):
            woken(self._wake, done)


def next_batch(limit: int, size: int, took: float) -> int:
    """The most rows the next applying transaction takes, after `size` rows took `took` s.

    A transaction costs as much as a dozen plain payments before its first row, so what a small
    batch took says little of what a larger one would: the limit doubles while a full batch
    stays within APPLY_SECONDS, and is scaled down to fit once one takes longer."""
    if took > APPLY_SECONDS:
        return max(1, min(limit, int(size * APPLY_SECONDS / took)))
    if size >= limit:
        return min(APPLY_BATCH, limit * 2)
    return limit


def _tell(future: Future[Stored], answer: Stored | BaseException) -> None:
    """Answer a waiting request once; one given up meanwhile (its sender went away) was stored
    all the same."""
    if future.done() or not (future.running() or future.set_running_or_notify_cancel()):
        return
    if isinstance(answer, BaseException):
        future.set_exception(answer)
    else:
        future.set_result(answer)


class Turns:
    """The writer and the applier take turns at the database in this process, instead of
    meeting in SQLite's busy handler (which sleeps in steps of milliseconds); a waiting writer
    goes first, so that answering Daraja never waits behind a queue of activations."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._busy = False
        self._first_waiting = 0

    @contextlib.contextmanager
    def take(self, *, first: bool) -> Iterator[None]:
        with self._changed:
            self._first_waiting += first
            while self._busy or (not first and self._first_waiting):
                self._changed.wait()
            self._first_waiting -= first
            self._busy = True
        try:
            yield
        finally:
            with self._changed:
                self._busy = False
                self._changed.notify_all()


def woken(wake: Callable[[], object], done: list[Applied]) -> None:
    """Wake the provisioning engine; a failure to wake only delays delivery to the next drain."""
    try:
        wake()
    except Exception:
        logger.exception("the provisioning engine could not be woken for %d payment(s)", len(done))
