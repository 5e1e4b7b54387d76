"""The queue drain: claim a router's due jobs, converge them on the router, record the outcomes.

Each router is drained by its own task (serial per router in this process, concurrent across
routers), so a slow or dead router never holds up the others. A router that cannot be reached or
refuses the login hands its jobs back without spending their attempts and shows why in its health.
Claims are atomic in the database (db.queue), so any number of drainers can share one queue.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from db import queue
from db.config import Settings
from db.models import Action, JobStatus, Router, RouterProvisioning, RouterStatus
from db.types import utcnow
from scheduler.engine.events import DrainFinished, DrainReport, EventSink, emit
from scheduler.engine.health import Observation, health_of, record_health
from scheduler.engine.lanes import LANES, Connections
from scheduler.engine.leases import Leases
from scheduler.engine.outcomes import Batch, Outcome, Verdict, record
from scheduler.engine.ownership import record_adoption
from scheduler.engine.plan import Work, plan
from scheduler.engine.profiles import ProfileCache
from scheduler.routeros import actions
from scheduler.routeros.actions import NotOurs
from scheduler.routeros.client import RouterClient, RouterError
from scheduler.routeros.errors import Kind

logger = logging.getLogger("wisp.engine")


@dataclass
class LaneShare:
    """What one lane did with its share of a batch, and the error that made the router away."""

    outcomes: list[Outcome] = field(default_factory=list)
    away: RouterError | None = None


ROUTER_TASKS = 32
"""Routers drained at the same time by one process."""
PAUSE_CAP_SECONDS = 60.0
"""Longest wait before a paused router's jobs are tried again (the health probe may end it sooner)."""
LEASE_FIT = 0.5
"""Share of a lease one batch is sized to take, at the pace the router's last batch went."""


def default_worker() -> str:
    """host:pid, the name this process claims jobs under unless configured."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Drainer:
    """Drains the provisioning queue of every router, one task per router."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        worker: str | None = None,
        sink: EventSink | None = None,
        lanes: int = LANES,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.engine = engine
        self.worker = worker or settings.scheduler.worker_name or default_worker()
        self.sink = sink
        self._connections = Connections(settings.routers, lanes)
        self._pool = ThreadPoolExecutor(ROUTER_TASKS, thread_name_prefix="drain")
        self._recorder = ThreadPoolExecutor(4, thread_name_prefix="record")
        self._busy: dict[int, bool] = {}
        self._tasks: dict[int, Future[DrainReport]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._paused = threading.Event()
        self._pauses: dict[int, int] = {}
        self._leases = Leases(engine, self.worker, settings.queue.lease_seconds)
        self._pace: dict[int, float] = {}

    def due_routers(self, due_by: datetime | None = None) -> list[int]:
        """Active routers that have jobs due by `due_by` (default: now)."""
        J = RouterProvisioning
        query = (
            select(col(J.router_id))
            .join(Router, Router.id == J.router_id)  # type: ignore[arg-type]
            .where(
                col(J.status) == JobStatus.PENDING,
                col(J.next_attempt_at) <= (due_by or self.clock()),
                col(Router.status) == RouterStatus.ACTIVE,
            )
            .distinct()
        )
        with Session(self.engine) as session:
            return sorted(session.scalars(query))

    def dispatch(self, due_by: datetime | None = None) -> list[Future[DrainReport]]:
        """Start a task for each router with due jobs that has none running; returns at once.

        `due_by` limits the tasks to jobs due by then (a drain's start), instead of by each claim.
        """
        if self._stopping.is_set() or self._paused.is_set():
            return []
        started = []
        for router_id in self.due_routers(due_by):
            with self._lock:
                if router_id in self._busy:
                    self._busy[router_id] = True  # the running task goes round once more
                    continue
                self._busy[router_id] = False
            try:
                future = self._pool.submit(self._router_task, router_id, due_by)
            except RuntimeError:  # the pool closed: this process is stopping
                with self._lock:
                    self._busy.pop(router_id, None)
                break
            with self._lock:
                self._tasks[router_id] = future
            started.append(future)
        return started

    def running(self) -> list[Future[DrainReport]]:
        """The router tasks still at work."""
        with self._lock:
            return [f for f in self._tasks.values() if not f.done()]

    def drain_once(self) -> DrainReport:
        """Drain everything due now, wait for it, and report (used by `wisp run --once` and tests).

        Only jobs due when it starts are taken: a job it puts back (to retry, or held for a router
        away) waits for the next drain, however short its backoff and however slow this machine.
        """
        total = DrainReport()
        start = self.clock()
        while not self._stopping.is_set():
            futures = self.dispatch(due_by=start)
            futures += [f for f in self.running() if f not in futures]
            if not futures:
                break
            rounds = DrainReport()
            for future in futures:
                rounds.add(future.result())
            total.add(rounds)
            if rounds.handled == 0:
                break
        emit(self.sink, DrainFinished(total))
        return total

    def pause(self) -> None:
        """The operator's pause: take no new batches (the batch in hand is finished)."""
        self._paused.set()

    def resume(self) -> None:
        """Resume taking batches."""
        self._paused.clear()

    def stop_soon(self) -> None:
        """Take no new job: each session finishes the one it is on, the rest are handed back.

        Safe from a signal handler; `stop` then waits for it and closes the sessions.
        """
        self._stopping.set()

    def stop(self, wait: bool = True) -> None:
        """Finish the job each session is on, hand the rest back, close the sessions."""
        self.stop_soon()
        self._pool.shutdown(wait=wait)
        self._recorder.shutdown(wait=wait)
        if wait:
            self._leases.close()
            self._connections.close()

    def _router_task(self, router_id: int, due_by: datetime | None) -> DrainReport:
        report = DrainReport()
        try:
            report = self._drain_router(router_id, due_by)
        except Exception:
            logger.exception("the drain of router %s stopped on an unexpected error", router_id)
        finally:
            with self._lock:
                again = self._busy.pop(router_id, False)
        if again and not self._stopping.is_set():
            self.dispatch()
        return report

    def _drain_router(self, router_id: int, due_by: datetime | None) -> DrainReport:
        """Batches of one router until none is due; each batch is recorded while the next runs."""
        report = DrainReport()
        name = str(router_id)
        recording: Future[DrainReport] | None = None
        while not (self._stopping.is_set() or self._paused.is_set()):
            jobs = queue.claim(
                self.engine,
                worker=self.worker,
                limit=self._batch_size(router_id),
                router_id=router_id,
                now=self.clock(),
                due_by=due_by,
            )
            if not jobs:
                break
            ids = [job.id for job in jobs]
            self._leases.hold(ids)
            started = time.monotonic()
            try:
                with Session(self.engine) as session:
                    router = session.get(Router, router_id)
                assert router is not None, "a claimed job's router is gone"
                name = router.name
                outcomes, error = self._converge_batch(router, jobs)
            finally:
                # From here the outcomes are written, well within the lease renewed last.
                self._leases.let_go(ids)
            self._note_pace(router_id, started, outcomes)
            if recording is not None:
                report.add(recording.result())
            recording = self._recorder.submit(self._finish, router, outcomes, error)
            if error is not None:
                break
        if recording is not None:
            report.add(recording.result())
        if report.handled:
            emit(self.sink, DrainFinished(report, name))
        return report

    def _batch_size(self, router_id: int) -> int:
        """Jobs to claim: the configured batch, or fewer if the router is too slow for the lease."""
        size = self.settings.queue.batch_size
        pace = self._pace.get(router_id)
        if pace:
            size = min(size, int(self.settings.queue.lease_seconds * LEASE_FIT / pace))
        return max(1, size)

    def _note_pace(self, router_id: int, started: float, outcomes: list[Outcome]) -> None:
        """Seconds per job of the router's last batch (of the jobs that reached it)."""
        tried = sum(o.status in (Verdict.DONE, Verdict.ERROR) for o in outcomes)
        if tried:
            self._pace[router_id] = (time.monotonic() - started) / tried

    def _converge_batch(
        self, router: Router, jobs: list[queue.Job]
    ) -> tuple[list[Outcome], RouterError | None]:
        """Converge one batch on the router; the error that made the router away, if any.

        An unexpected fault fails the batch's jobs visibly instead of leaving them claimed.
        """
        try:
            works = plan(self.engine, jobs)
            try:
                lanes = self._connections.lanes(router)
                lanes.first.connect()
            except RouterError as error:
                return [Outcome(w, Verdict.HELD) for w in works], error
            # Profiles are trusted for this batch only: one edited on the router since is put right.
            profiles = ProfileCache(self.engine, router.id or 0)
            shares = lanes.run(works, partial(self._converge_lane, profiles))
        except Exception as fault:
            logger.exception("a batch of router %s failed on an unexpected error", router.name)
            reason = f"unexpected error: {type(fault).__name__}: {fault}"
            return [Outcome(Work(job), Verdict.ERROR, reason) for job in jobs], None
        away = next((share.away for share in shares if share.away is not None), None)
        return [outcome for share in shares for outcome in share.outcomes], away

    def _finish(
        self, router: Router, outcomes: list[Outcome], error: RouterError | None
    ) -> DrainReport:
        router_id = router.id or 0
        reached = error is None and any(o.status in (Verdict.DONE, Verdict.ERROR) for o in outcomes)
        if error is not None:
            self._pauses[router_id] = self._pauses.get(router_id, 0) + 1
        elif reached:
            self._pauses.pop(router_id, None)
        batch = Batch(
            router.name,
            self.worker,
            self._pause_seconds(router_id, error),
            str(error) if error else None,
        )
        # The outcomes first: a failure to note the router's health must never leave the batch
        # claimed until its lease runs out (and then done a second time by another drainer).
        report = record(self.engine, self.settings.queue, batch, outcomes, self.sink)
        if error is not None or reached:
            try:
                self._note_health(router, error)
            except Exception:
                logger.exception("the health of router %s could not be recorded", router.name)
        return report

    def _pause_seconds(self, router_id: int, error: RouterError | None) -> float:
        if error is None:
            return 0.0
        queue_settings = self.settings.queue
        delay = queue_settings.backoff_base * 2 ** (self._pauses.get(router_id, 1) - 1)
        return min(delay, queue_settings.backoff_max, PAUSE_CAP_SECONDS)

    def _note_health(self, router: Router, error: RouterError | None) -> None:
        # The row was read for this batch: a probe (or another process) that marked the router
        # down since is seen, where a memory of our own would keep calling it up.
        if router.health == health_of(error) and error is None:
            return
        record_health(self.engine, Observation(router.id or 0, router.name, error=error), self.sink)

    def _converge_lane(
        self, profiles: ProfileCache, client: RouterClient, works: list[Work]
    ) -> LaneShare:
        """One lane's share of a batch, in order; once the router is away the rest is held."""
        share = LaneShare()
        for work in works:
            if share.away is not None or self._stopping.is_set():
                reason = str(share.away) if share.away else None
                share.outcomes.append(Outcome(work, Verdict.HELD, reason))
                continue
            if self._leases.lost(work.job.id):
                # Another worker holds it now (or may): doing it here would write it twice.
                share.outcomes.append(Outcome(work, Verdict.LOST))
                continue
            outcome, share.away = self._converge_job(profiles, client, work)
            share.outcomes.append(outcome)
        return share

    def _converge_job(
        self, profiles: ProfileCache, client: RouterClient, work: Work
    ) -> tuple[Outcome, RouterError | None]:
        """One job; a lost session gets one fresh try before the router is taken as away."""
        if work.problem is not None:
            return Outcome(work, Verdict.ERROR, str(work.problem)), None
        failure = self._attempt(profiles, client, work, fresh=False)
        if isinstance(failure, RouterError) and failure.kind != Kind.TRAP:
            failure = self._attempt(profiles, client, work, fresh=True)
            if isinstance(failure, RouterError) and failure.pauses_router:
                return Outcome(work, Verdict.HELD, str(failure)), failure
        if failure is None:
            return Outcome(work, Verdict.DONE), None
        if isinstance(failure, NotOurs):
            # What is on the router is not ours: trying again cannot change that, the operator can.
            return Outcome(work, Verdict.ERROR, str(failure), final=True), None
        if isinstance(failure, RouterError):
            return Outcome(work, Verdict.ERROR, str(failure)), None
        return Outcome(
            work, Verdict.ERROR, f"unexpected error: {type(failure).__name__}: {failure}"
        ), None

    def _attempt(
        self, profiles: ProfileCache, client: RouterClient, work: Work, *, fresh: bool
    ) -> Exception | None:
        """Apply one job (on a fresh session if asked); the error it met, if any."""
        try:
            if fresh:
                client.connect()
            self._apply_job(profiles, client, work)
        except (RouterError, NotOurs) as error:
            return error
        except Exception as error:  # a fault of ours must fail the job visibly, not kill the drain
            logger.exception("job %s failed on an unexpected error", work.job.id)
            return error
        return None

    def _apply_job(self, profiles: ProfileCache, client: RouterClient, work: Work) -> None:
        job = work.job
        if job.action == Action.DEACTIVATE:
            actions.deactivate(client, job.service_type, job.router_username, adopt=job.adopt)
        elif job.action == Action.REMOVE:
            actions.remove(client, job.service_type, job.router_username, adopt=job.adopt)
        else:
            self._apply_activation(profiles, client, work)

    def _apply_activation(self, profiles: ProfileCache, client: RouterClient, work: Work) -> None:
        assert work.profile is not None and work.account is not None, "planned activation"
        adopted = partial(record_adoption, self.engine, client.name, work.job)
        profiles.ensure(client, work.profile)
        try:
            actions.activate(client, work.account, adopted=adopted)
        except RouterError as error:
            if error.kind != Kind.TRAP or "profile" not in str(error):
                raise
            # The profile went missing on the router since it was ensured: ensure it again once.
            profiles.forget(work.profile)
            profiles.ensure(client, work.profile)
            actions.activate(client, work.account, adopted=adopted)
