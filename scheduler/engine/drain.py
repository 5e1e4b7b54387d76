"""The queue drain: claim a router's due jobs, converge them on the router, record the outcomes.

Each router is drained by its own task (serial per router in this process, concurrent across
routers), so a slow or dead router never holds up the others. A router that cannot be reached or
refuses the login hands its jobs back without spending their attempts and shows why in its health.
Claims are atomic in the database (db.queue), so any number of drainers can share one queue.

A batch is dealt over a few sessions per router ([routers] sessions); on each, the jobs' commands
go out tagged and pipelined ([routers] commands_in_flight), each job's own commands in order, so a
router far away costs a round trip per window of commands rather than per command. Profiles are
ensured first, one at a time. A job whose pipelined attempt lost its session gets the same fresh
try, one command at a time, as a job of the unpipelined path, and ends with the same verdict.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from functools import partial
from typing import NamedTuple, TypeGuard

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from db import queue
from db.config import Settings
from db.engine import ahead, kept, yielding
from db.models import Action, Health, JobStatus, Router, RouterProvisioning, RouterStatus
from db.outage import is_outage
from db.types import utcnow
from scheduler.engine.events import DrainFinished, DrainReport, EventSink, emit
from scheduler.engine.health import Observation, health_of, record_health
from scheduler.engine.lanes import Connections, RouterLanes
from scheduler.engine.leases import Leases
from scheduler.engine.outcomes import Batch, Outcome, Verdict, record
from scheduler.engine.ownership import record_adoption
from scheduler.engine.plan import Work, plan
from scheduler.engine.profiles import ProfileCache
from scheduler.engine.way import Way
from scheduler.routeros import actions
from scheduler.routeros.actions import NotOurs
from scheduler.routeros.client import RouterClient, RouterError
from scheduler.routeros.errors import Kind
from scheduler.routeros.pipeline import Pipeline
from scheduler.routeros.steps import Steps

logger = logging.getLogger("wisp.engine")
AWAY_HEALTH = (Health.DOWN, Health.AUTH_FAILED)


ROUTER_TASKS = 32
"""Routers drained at the same time by one process (routers away or stuck not counted)."""
AWAY_TASKS = 4
"""Routers known to be away (or stuck in a command) drained at the same time: their share of the
threads, so that however many hang, the others are drained at once."""
TASKS_CAP = 256
"""Router tasks alive at once, whatever their kind (a last bound on threads)."""
STUCK_SECONDS = 3.0
"""A command unanswered this long (or half the command timeout, if shorter) marks its router as
stuck: its task then counts in the share of routers away."""
STOP_GRACE_SECONDS = 2.0
"""On stopping, how long a command in flight may still finish before it is abandoned."""
STOPPING = "WISP Console is stopping"
RETRY_SECONDS = 5.0
"""After a router's drain stopped on an error of the database or of ours, when to look again."""
PAUSE_CAP_SECONDS = 60.0
"""Longest wait before a paused router's jobs are tried again (the health probe may end it sooner)."""
LEASE_FIT = 0.5
"""Share of a lease one batch is sized to take, at the pace the router's last batch went."""
KEPT_CONNECTIONS = 8
"""SQLite connections the drain keeps open (more are opened while more are in use)."""
BULK_RECORD = 50
"""Outcomes of bulk work written per transaction."""


def default_worker() -> str:
    """host:pid, the name this process claims jobs under unless configured."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Due(NamedTuple):
    """A router with jobs due."""

    router_id: int
    away: bool
    """Known down or refusing us, or paused after an error."""
    urgent: bool
    """A customer's own job (URGENT) is among them."""


class BatchRun:
    """One batch on one router, shared by its lanes: the first lane to find the router away
    cuts the others' commands, so the batch ends at the first timeout, not one per lane."""

    def __init__(self, lanes: RouterLanes, profiles: ProfileCache, *, bulk: bool = False) -> None:
        self.lanes = lanes
        self.profiles = profiles
        self.bulk = bulk
        """Bulk work: it gives way to urgent work between its steps."""
        self.away: RouterError | None = None
        self._lock = threading.Lock()

    def router_away(self, error: RouterError) -> None:
        """Note why the router is away (the first reason wins) and stop every lane."""
        with self._lock:
            if self.away is not None:
                return
            self.away = error
        self.lanes.interrupt("another session found the router away")


class Drainer:
    """Drains the provisioning queue of every router, one task per router."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        worker: str | None = None,
        sink: EventSink | None = None,
        lanes: int | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._given = engine
        self.engine = kept(engine, KEPT_CONNECTIONS)
        """On SQLite, an engine whose connections stay open: a customer's job took six
        transactions from wake to router, and opening the file for each was a third of that."""
        self.worker = worker or settings.scheduler.worker_name or default_worker()
        self.sink = sink
        self._connections = Connections(settings.routers, lanes or settings.routers.sessions)
        self._pool = ThreadPoolExecutor(TASKS_CAP, thread_name_prefix="drain")
        self._recorder = ThreadPoolExecutor(4, thread_name_prefix="record")
        self._busy: dict[int, bool] = {}
        self._away_tasks: dict[int, bool] = {}
        self._skipped = False
        self._stuck_after = min(STUCK_SECONDS, settings.routers.command_timeout / 2)
        self._grace: threading.Timer | None = None
        self._retry: threading.Timer | None = None
        self._tasks: dict[int, Future[DrainReport]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._paused = threading.Event()
        self._pauses: dict[int, int] = {}
        self._leases = Leases(engine, self.worker, settings.queue.lease_seconds)
        self._pace: dict[int, float] = {}
        self._way = Way()

    @property
    def way(self) -> Way:
        """This drain's urgent work, which its bulk work gives way to."""
        return self._way

    @property
    def leases(self) -> Leases:
        """The leases of the jobs this drainer works on (renewed by their heartbeat)."""
        return self._leases

    def clock(self) -> datetime:
        """Now, by the clock this drainer was given, else `db.types.utcnow` as it is when asked."""
        return self._clock() if self._clock else utcnow()

    def due_routers(self, due_by: datetime | None = None) -> list[int]:
        """Active routers that have jobs due by `due_by` (default: now), those answering first."""
        return [due.router_id for due in self._due(due_by)]

    def _due(self, due_by: datetime | None) -> list[Due]:
        """Each active router with due jobs: whether it is away (known down or refusing us) and
        whether a customer's own job is among them; those answering first."""
        J = RouterProvisioning
        query = (
            select(col(J.router_id), col(Router.health), func.min(col(J.priority)))
            .join(Router, Router.id == J.router_id)  # type: ignore[arg-type]
            .where(
                col(J.status) == JobStatus.PENDING,
                col(J.next_attempt_at) <= (due_by or self.clock()),
                col(Router.status) == RouterStatus.ACTIVE,
            )
            .group_by(col(J.router_id), col(Router.health))
        )
        with Session(self.engine) as session:
            found = session.execute(query).all()
        due = [
            Due(router_id, health in AWAY_HEALTH or router_id in self._pauses, first < queue.BULK)
            for router_id, health, first in found
        ]
        return sorted(due, key=lambda item: (item.away, item.router_id))

    def dispatch(self, due_by: datetime | None = None) -> list[Future[DrainReport]]:
        """Start a task for each router with due jobs that has none running; returns at once.

        Routers known to be away, and those stuck in a command, share AWAY_TASKS threads; the
        others ROUTER_TASKS. A router left out for want of a thread is started by the next
        dispatch (a task ending, or the next tick). `due_by` limits the tasks to jobs due by then
        (a drain's start), instead of due at each claim. A task started for a customer's job
        is urgent work from now (see scheduler.engine.way), not only once its thread runs.
        """
        if self._stopping.is_set() or self._paused.is_set():
            return []
        started = []
        due = self._due(due_by)
        with self._lock:
            self._skipped = False
            answering, away = self._shares()
        for router_id, known_away, urgent in due:
            with self._lock:
                if router_id in self._busy:
                    self._busy[router_id] = True  # the running task goes round once more
                    continue
                full = (away >= AWAY_TASKS) if known_away else (answering >= ROUTER_TASKS)
                if full or len(self._busy) >= TASKS_CAP:
                    self._skipped = True
                    continue
                if known_away:
                    away += 1
                else:
                    answering += 1
                self._busy[router_id] = False
                self._away_tasks[router_id] = known_away
            if urgent:
                self._way.enter()  # the task takes it over
            try:
                future = self._pool.submit(self._router_task, router_id, due_by, urgent)
            except RuntimeError:  # the pool closed: this process is stopping
                if urgent:
                    self._way.leave()
                with self._lock:
                    self._busy.pop(router_id, None)
                    self._away_tasks.pop(router_id, None)
                break
            with self._lock:
                self._tasks[router_id] = future
            started.append(future)
        return started

    def _shares(self) -> tuple[int, int]:
        """Running tasks of routers answering, and of routers away or stuck (lock held)."""
        away = sum(
            1
            for router_id in self._busy
            if self._away_tasks.get(router_id)
            or self._connections.busy_for(router_id) > self._stuck_after
        )
        return len(self._busy) - away, away

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
            if rounds.handled == 0 and not self._skipped:
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
        """Take no new job; the rest of each batch is handed back without spending attempts.

        A command in flight gets STOP_GRACE_SECONDS to finish; then it is abandoned (a router
        that does not answer cannot hold the process) and its job handed back like the rest.
        Safe from a signal handler; `stop` then waits for it and closes the sessions.
        """
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._grace = threading.Timer(STOP_GRACE_SECONDS, self._connections.abort, (STOPPING,))
        self._grace.daemon = True
        self._grace.start()

    def stop(self, wait: bool = True) -> None:
        """Hand back every job not yet on a router, then close the sessions."""
        self.stop_soon()
        with self._lock:
            if self._retry is not None:
                self._retry.cancel()
        self._pool.shutdown(wait=wait)
        self._recorder.shutdown(wait=wait)
        if wait:
            self._leases.close()
            self._connections.close()
            if self.engine is not self._given:
                self.engine.dispose()

    def _router_task(
        self, router_id: int, due_by: datetime | None, urgent: bool = False
    ) -> DrainReport:
        """Drain one router; `urgent`: the dispatch marked this task's urgent work as under way."""
        report = DrainReport()
        try:
            report = self._drain_router(router_id, due_by, urgent)
        except Exception:
            logger.exception("the drain of router %s stopped on an unexpected error", router_id)
            self._retry_soon()
        finally:
            with self._lock:
                again = self._busy.pop(router_id, False) or self._skipped
                self._away_tasks.pop(router_id, None)
        if again and not self._stopping.is_set():
            try:
                self.dispatch_or_retry(due_by)
            except Exception:
                logger.exception("the drain could not look for due jobs; it tries again")
        return report

    def _retry_soon(self) -> None:
        """Look for due jobs again after RETRY_SECONDS (a database outage, a fault of ours):
        the next drain tick may be an hour away when wakes are what usually start drains."""
        with self._lock:
            if self._retry is not None or self._stopping.is_set():
                return
            self._retry = threading.Timer(RETRY_SECONDS, self._retry_now)
            self._retry.daemon = True
            self._retry.start()

    def _retry_now(self) -> None:
        with self._lock:
            self._retry = None
        try:
            self.dispatch_or_retry()
        except Exception:
            logger.exception("the drain could not look for due jobs; it tries again")

    def dispatch_or_retry(self, due_by: datetime | None = None) -> list[Future[DrainReport]]:
        """`dispatch`; if the due jobs cannot be looked up (the database is away), look again
        after RETRY_SECONDS as well as raising."""
        try:
            return self.dispatch(due_by)
        except Exception:
            self._retry_soon()
            raise

    def _drain_router(
        self, router_id: int, due_by: datetime | None, entered: bool = False
    ) -> DrainReport:
        """Batches of one router until none is due; each batch is recorded while the next runs.

        `entered`: urgent work was marked as under way for this task's first claim."""
        report = DrainReport()
        name = str(router_id)
        recording: Future[DrainReport] | None = None
        bulk = False
        if entered and (self._stopping.is_set() or self._paused.is_set()):
            self._way.leave()
        while not (self._stopping.is_set() or self._paused.is_set()):
            # Urgent work may be found unless the last batch was bulk: marked from before the
            # claim, which waits for the database like any writer (see scheduler.engine.way).
            urgent = not bulk
            if urgent and not entered:
                self._way.enter()
            entered = False
            try:
                if bulk:
                    self._way.give_way()
                # The router is read before the claim: a database lost between the two would
                # leave the batch claimed, unknown to this drain, until its lease ran out.
                with Session(self.engine) as session:
                    router = session.get(Router, router_id)
                if router is None:
                    break
                name = router.name
                # After a bulk batch the claim is most likely bulk too: it lets other writers
                # of this process (a payment, another router's urgent claim) go first. A claim
                # that may find a customer's job goes before the writers waiting (a payment's
                # transaction takes several times as long).
                with yielding() if bulk else ahead():
                    jobs = queue.claim(
                        self.engine,
                        worker=self.worker,
                        limit=self._batch_size(router_id),
                        router_id=router_id,
                        now=self.clock(),
                        due_by=due_by,
                        one_priority=True,
                    )
                if not jobs:
                    break
                bulk = jobs[0].priority >= queue.BULK
                if bulk and urgent:
                    urgent = False
                    self._way.leave()
                elif not bulk and not urgent:
                    # A customer's job came to a router that was on bulk work: it is urgent too.
                    urgent = True
                    self._way.enter()
                ids = [job.id for job in jobs]
                self._leases.hold(ids)
                started = time.monotonic()
                try:
                    outcomes, error = self._converge_batch(router, jobs, bulk=bulk)
                finally:
                    # From here the outcomes are written, well within the lease renewed last.
                    self._leases.let_go(ids)
                self._note_pace(router_id, started, outcomes)
                if recording is not None:
                    report.add(recording.result())
                recording = self._recorder.submit(
                    self._finish_batch, router, outcomes, error, urgent=urgent
                )
                urgent = False  # the recorder leaves once the outcomes are written
            finally:
                if urgent:
                    self._way.leave()
            if error is not None:
                break
        if recording is not None:
            report.add(recording.result())
        if report.handled:
            emit(self.sink, DrainFinished(report, name))
        return report

    def _batch_size(self, router_id: int) -> int:
        """Jobs to claim: the configured batch, or fewer if the router is too slow for the lease.

        A router that was away gets one job: it shows whether the router is back, and a full
        batch follows at once if it is.
        """
        if router_id in self._pauses:
            return 1
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
        self, router: Router, jobs: list[queue.Job], *, bulk: bool = False
    ) -> tuple[list[Outcome], RouterError | None]:
        """Converge one batch on the router; the error that made the router away, if any.

        An unexpected fault fails the batch's jobs visibly instead of leaving them claimed.
        """
        try:
            works = plan(self.engine, jobs, self._way.give_way if bulk else None)
            try:
                lanes = self._connections.lanes(router)
                lanes.resume()
                lanes.first.connect()
            except RouterError as error:
                if self._stopping.is_set():
                    return [Outcome(w, Verdict.HELD) for w in works], None
                return [Outcome(w, Verdict.HELD) for w in works], error
            # Profiles are trusted for this batch only: one edited on the router since is put right.
            run = BatchRun(lanes, ProfileCache(self.engine, router.id or 0), bulk=bulk)
            shares = lanes.run(works, partial(self._converge_lane, run))
        except Exception as fault:
            if is_outage(fault):  # the database went away mid-batch: no fault of the jobs'
                logger.exception("a batch of router %s is handed back", router.name)
                return [Outcome(Work(job), Verdict.HELD) for job in jobs], None
            logger.exception("a batch of router %s failed on an unexpected error", router.name)
            reason = f"unexpected error: {type(fault).__name__}: {fault}"
            return [Outcome(Work(job), Verdict.ERROR, reason) for job in jobs], None
        return [outcome for share in shares for outcome in share], run.away

    def _finish_batch(
        self, router: Router, outcomes: list[Outcome], error: RouterError | None, *, urgent: bool
    ) -> DrainReport:
        """Record a batch: an urgent one ends its urgency once written; a bulk one gives way
        to urgent work before it writes."""
        if urgent:
            try:
                return self._finish(router, outcomes, error)
            finally:
                self._way.leave()
        # Written a part at a time (a batch that found the router away at once, as its pause
        # is counted per batch), so urgent work waits for the database no more than a part.
        step = max(1, len(outcomes)) if error is not None else BULK_RECORD
        report = DrainReport()
        for start in range(0, len(outcomes), step):
            self._way.give_way()
            with yielding():
                report.add(self._finish(router, outcomes[start : start + step], error))
        return report

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
        report = record(
            self.engine, self.settings.queue, batch, outcomes, self.sink, self._stopping.is_set
        )
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
        self, run: BatchRun, client: RouterClient, works: list[Work]
    ) -> list[Outcome]:
        """One lane's share of a batch: pipelined, or one command at a time when so configured."""
        if self.settings.routers.commands_in_flight > 1 and len(works) > 1:
            return self._converge_pipelined(run, client, works)
        return self._converge_in_turn(run, client, works)

    def _converge_in_turn(
        self, run: BatchRun, client: RouterClient, works: list[Work]
    ) -> list[Outcome]:
        """The share one job after another; once the router is away the rest is held."""
        outcomes = []
        for work in works:
            if run.bulk:
                self._way.give_way()
            outcomes.append(self._before(run, work) or self._converge_job(run, client, work))
        return outcomes

    def _before(self, run: BatchRun, work: Work) -> Outcome | None:
        """The outcome of a job that is not to be tried now (router away, stopping, lease lost,
        no plan); None for a job to try."""
        if run.away is not None or self._stopping.is_set():
            return Outcome(work, Verdict.HELD, str(run.away) if run.away else None)
        if self._leases.lost(work.job.id):
            # Another worker holds it now (or may): doing it here would write it twice.
            return Outcome(work, Verdict.LOST)
        if work.problem is not None:
            return Outcome(work, Verdict.ERROR, str(work.problem))
        return None

    def _converge_pipelined(
        self, run: BatchRun, client: RouterClient, works: list[Work]
    ) -> list[Outcome]:
        """The share with every job's commands in flight together (each job's in order).

        The accounts of a batch are distinct, so their commands are independent. Profiles are
        ensured first, one at a time; a session failing then settles that job as the unpipelined
        way does (a fresh try, or the router taken as away and the rest held).
        """
        outcomes: list[Outcome | None] = [None] * len(works)
        tried: list[int] = []
        sequences: list[Steps[object]] = []
        failures: dict[int, Exception | None] = {}
        for index, work in enumerate(works):
            # Looked at job by job: ensuring a profile may find the router away.
            outcomes[index] = self._before(run, work)
            if outcomes[index] is not None:
                continue
            try:
                sequences.append(
                    self._leased(run, work, self._job_steps(run.profiles, client, work))
                )
                tried.append(index)
            except RouterError as error:
                if _session_failure(error):
                    # Settled on its own (a fresh try, or the router taken as away) before
                    # anything is sent pipelined.
                    outcomes[index] = self._verdict(run, client, work, error)
                else:
                    failures[index] = error
            except NotOurs as refusal:
                failures[index] = refusal
            except Exception as error:  # a fault of ours fails the job visibly
                logger.exception("job %s failed on an unexpected error", work.job.id)
                failures[index] = error
        window = self.settings.routers.commands_in_flight
        pipeline = Pipeline(client, window, before_sending=self._way.give_way if run.bulk else None)
        for index, result in zip(tried, pipeline.drive(sequences), strict=True):
            if isinstance(result, Skipped):
                outcomes[index] = result.outcome
            else:
                failures[index] = result if isinstance(result, Exception) else None
        pipelined = set(tried)
        for index, failure in failures.items():
            work = works[index]
            if index in pipelined and _profile_missing(work, failure) and not self._cut(run):
                failure = self._attempt(
                    run.profiles, client, work, fresh=False, apply=self._activate_afresh
                )
            elif failure is not None and not isinstance(failure, RouterError | NotOurs):
                logger.error("job %s failed on an unexpected error: %r", work.job.id, failure)
            outcomes[index] = self._verdict(run, client, work, failure)
        return [outcome for outcome in outcomes if outcome is not None]

    def _leased(self, run: BatchRun, work: Work, steps: Steps[object]) -> Steps[object]:
        """A job's steps, stopped before any further command once it is not to go on (its lease
        lost, the router away, the drain stopping): as one command at a time stops before the
        next job. What it already sent stands; the worker holding it now converges it again."""
        try:
            command = next(steps)
            while True:
                outcome = self._before(run, work)
                if outcome is not None:
                    steps.close()
                    raise Skipped(outcome)
                try:
                    reply = yield command
                except RouterError as error:
                    command = steps.throw(error)
                else:
                    command = steps.send(reply)
        except StopIteration as end:
            return end.value

    def _job_steps(self, profiles: ProfileCache, client: RouterClient, work: Work) -> Steps[object]:
        """The steps of one job, its profile ensured first (raises what the ensuring met)."""
        job = work.job
        router = client.name
        if job.action == Action.DEACTIVATE:
            return actions.deactivate_steps(
                router, job.service_type, job.router_username, adopt=job.adopt
            )
        if job.action == Action.REMOVE:
            return actions.remove_steps(
                router, job.service_type, job.router_username, adopt=job.adopt
            )
        assert work.profile is not None and work.account is not None, "planned activation"
        profiles.ensure(client, work.profile)
        adopted = partial(record_adoption, self.engine, router, job)
        return actions.activate_steps(router, work.account, adopted=adopted)

    def _converge_job(self, run: BatchRun, client: RouterClient, work: Work) -> Outcome:
        """One job, one command at a time."""
        failure = self._attempt(run.profiles, client, work, fresh=False)
        return self._verdict(run, client, work, failure)

    def _verdict(
        self, run: BatchRun, client: RouterClient, work: Work, failure: Exception | None
    ) -> Outcome:
        """The outcome of a job's attempt. A session lost mid-job gets one fresh try before the
        router is taken as away; a router that logged in and then did not answer is away at once
        (a second wait of a whole timeout would tell nothing new)."""
        if _session_failure(failure) and failure.kind != Kind.TIMEOUT and not self._cut(run):
            failure = self._attempt(run.profiles, client, work, fresh=True)
        if failure is None:
            return Outcome(work, Verdict.DONE)
        if is_outage(failure):  # our database went away mid-job: no fault of the job's
            return Outcome(work, Verdict.HELD)
        if _session_failure(failure):
            if self._cut(run):
                # Abandoned by this process (stopping, or another lane found the router away):
                # no verdict on the job, which goes back without spending an attempt.
                return Outcome(work, Verdict.HELD, str(run.away) if run.away else None)
            if failure.pauses_router:
                run.router_away(failure)
                return Outcome(work, Verdict.HELD, str(failure))
        if isinstance(failure, NotOurs):
            # What is on the router is not ours: trying again cannot change that, the operator can.
            return Outcome(work, Verdict.ERROR, str(failure), final=True)
        if isinstance(failure, RouterError):
            return Outcome(work, Verdict.ERROR, str(failure))
        return Outcome(
            work, Verdict.ERROR, f"unexpected error: {type(failure).__name__}: {failure}"
        )

    def _cut(self, run: BatchRun) -> bool:
        """True when the batch's commands are being cut short: stopping, or the router away."""
        return self._stopping.is_set() or run.away is not None

    def _attempt(
        self,
        profiles: ProfileCache,
        client: RouterClient,
        work: Work,
        *,
        fresh: bool,
        apply: Callable[[ProfileCache, RouterClient, Work], None] | None = None,
    ) -> Exception | None:
        """Apply one job (on a fresh session if asked), by `apply` if given; the error it met,
        if any."""
        try:
            if fresh:
                client.connect()
            (apply or self._apply_job)(profiles, client, work)
        except (RouterError, NotOurs) as error:
            return error
        except Exception as error:  # a fault of ours must fail the job visibly, not kill the drain
            logger.exception("job %s failed on an unexpected error", work.job.id)
            return error
        return None

    def _apply_job(self, profiles: ProfileCache, client: RouterClient, work: Work) -> None:
        """The job one command at a time."""
        job = work.job
        if job.action == Action.DEACTIVATE:
            actions.deactivate(client, job.service_type, job.router_username, adopt=job.adopt)
        elif job.action == Action.REMOVE:
            actions.remove(client, job.service_type, job.router_username, adopt=job.adopt)
        else:
            assert work.profile is not None, "planned activation"
            profiles.ensure(client, work.profile)
            try:
                self._activate(client, work)
            except RouterError as error:
                if not _profile_missing(work, error):
                    raise
                self._activate_afresh(profiles, client, work)

    def _activate_afresh(self, profiles: ProfileCache, client: RouterClient, work: Work) -> None:
        """The profile went missing on the router since it was ensured: ensure it again, once,
        and activate."""
        assert work.profile is not None, "planned activation"
        profiles.forget(work.profile)
        profiles.ensure(client, work.profile)
        self._activate(client, work)

    def _activate(self, client: RouterClient, work: Work) -> None:
        assert work.account is not None, "planned activation"
        adopted = partial(record_adoption, self.engine, client.name, work.job)
        actions.activate(client, work.account, adopted=adopted)


class Skipped(Exception):
    """A pipelined job stopped before its next command; `outcome` says why."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.status)
        self.outcome = outcome


def _profile_missing(work: Work, failure: Exception | None) -> bool:
    """An activation refused for its profile (gone from the router since it was ensured)."""
    return (
        work.job.action == Action.ACTIVATE
        and isinstance(failure, RouterError)
        and failure.kind == Kind.TRAP
        and "profile" in str(failure)
    )


def _session_failure(failure: Exception | None) -> TypeGuard[RouterError]:
    """A failure of the session (no answer, connection lost), not an answer of the router."""
    return isinstance(failure, RouterError) and failure.kind != Kind.TRAP
