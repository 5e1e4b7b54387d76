"""The provisioning service: APScheduler 3.11 as a per-process timer over the queue (never the queue).

Timers with explicit ids, `max_instances=1` and `coalesce=True`: drain (every drain_interval),
expiry (subscriptions past their end → deactivate), reaper (leases of crashed workers back to
pending), health (/system/resource of every router) and vouchers. A `wake()` is
served by a thread of its own, not by the drain timer: a timer still running skips a run asked of
it, and a wake that landed in that gap would wait a whole drain interval. The same object runs
embedded in the console and headless in `wisp run`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import Engine

from db import queue
from db.config import Settings
from db.engine import session_scope
from db.expiry import expire_due
from db.outage import outages
from db.types import utcnow
from scheduler.engine.drain import Drainer
from scheduler.engine.endpoints import Sessions, opened_for
from scheduler.engine.events import DrainReport, EventSink
from scheduler.engine.health import HealthChecker
from scheduler.engine.notices import JobNotices
from scheduler.engine.vouchers import look_for_first_logins
from scheduler.reconcile.fix import check_all_drift

logger = logging.getLogger("wisp.engine")

__all__ = ["DrainReport", "ProvisioningService"]


class ProvisioningService:
    """Drains the queue to the routers, sweeps expiries, reaps dead leases, watches router health."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        worker: str | None = None,
        on_event: EventSink | None = None,
        lanes: int | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.on_event = on_event
        self.drainer = Drainer(settings, engine, worker=worker, sink=on_event, lanes=lanes)
        self.worker = self.drainer.worker
        self.health = HealthChecker(engine, settings.routers, on_event)
        self.last_drain: datetime | None = None
        self._scheduler: BackgroundScheduler | None = None
        self._paused = False
        self._woken = threading.Event()
        """A wake came: the waker dispatches (once for however many came while it was busy)."""
        self._waker: threading.Thread | None = None
        self._stopping = False
        self.notices = JobNotices(engine, self.wake, self.worker)
        """Jobs queued by other processes (PostgreSQL, MariaDB): drained at once."""
        self._sessions = Sessions()
        self._overruns = OverrunLog()
        # APScheduler's own lines, through this service's overrun filter.
        self._timer_log = logging.getLogger("wisp.timers").getChild(self.worker)
        for old in [f for f in self._timer_log.filters if isinstance(f, OverrunLog)]:
            self._timer_log.removeFilter(old)
        self._timer_log.addFilter(self._overruns)

    @property
    def state(self) -> str:
        """running, paused or off."""
        if self._scheduler is None or not self._scheduler.running:
            return "off"
        return "paused" if self._paused else "running"

    def start(self) -> None:
        """Start the timers; the first drain, expiry sweep, reap, health probe and look for
        vouchers first logged in run at once."""
        if self._scheduler is not None:
            return
        scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": 30},
            logger=self._timer_log,
        )
        timers = self.settings.scheduler
        for job_id, function, seconds in (
            ("drain", self._drain_tick, timers.drain_interval),
            ("expiry", self.sweep_expiry, timers.expiry_interval),
            ("reaper", self.reap, timers.reaper_interval),
            ("health", self._health_tick, timers.health_interval),
            ("vouchers", self.look_for_vouchers, timers.voucher_interval),
        ):
            scheduler.add_job(
                _guarded(job_id, function, self._sessions, self._overruns),
                "interval",
                seconds=seconds,
                id=job_id,
                name=job_id,
                next_run_time=datetime.now(UTC),
            )
        if timers.drift_interval > 0:
            # Read-only and slow on big routers: first run after one interval, not at start-up.
            scheduler.add_job(
                _guarded("drift", self.check_drift, self._sessions, self._overruns),
                "interval",
                seconds=timers.drift_interval,
                id="drift",
                name="drift",
            )
        scheduler.start()
        self._scheduler = scheduler
        self._stopping = False
        self._waker = threading.Thread(target=self._wake_loop, name="wake", daemon=True)
        self._waker.start()
        self.notices.start()

    def shutdown(self, wait: bool = True) -> None:
        """Stop the timers and the drain; claimed jobs not yet on a router go back to pending.

        Nothing waits on a router: probes are abandoned at once, and a command in flight gets a
        short grace (see `Drainer.stop_soon`) before it is abandoned and its job handed back.
        """
        self.drainer.stop_soon()
        self.health.stop_soon()
        self._sessions.abort("WISP Console is stopping")
        self._stopping = True
        self._woken.set()
        self.notices.stop()
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=wait)
            self._scheduler = None
        if self._waker is not None:
            if wait:
                self._waker.join()
            self._waker = None
        self.drainer.stop(wait=wait)
        self.health.close()

    def pause(self) -> None:
        """Stop taking jobs (the batch in hand is finished); timers keep their schedule."""
        self._paused = True
        self.drainer.pause()
        if self._scheduler is not None:
            self._scheduler.pause()

    def resume(self) -> None:
        """Take jobs again, starting with a drain now."""
        self._paused = False
        self.drainer.resume()
        if self._scheduler is not None:
            self._scheduler.resume()
        self.wake()

    def wake(self) -> None:
        """Drain now (call after an enqueue in this process). Never lost: one that comes while
        the waker is dispatching makes it dispatch again, one before `start` is served by it, and
        a paused engine drains at `resume`."""
        self._woken.set()

    def _wake_loop(self) -> None:
        while True:
            self._woken.wait()
            if self._stopping:
                return
            self._woken.clear()
            try:
                # A wake follows jobs queued in this process, most often a customer's payment:
                # bulk work gives way while the waker looks for them, and a router task it
                # starts for a customer's job holds the way on from there.
                with self.drainer.way.held():
                    self._dispatch()
            except Exception:
                logger.exception("the drain could not look for due jobs; it tries again")
            else:
                outages.recovered()

    def drain_once(self) -> DrainReport:
        """Drain everything due now and wait for it."""
        report = self.drainer.drain_once()
        self.last_drain = utcnow()
        return report

    def sweep_expiry(self) -> int:
        """Queue the expiry action of subscriptions past their end; returns how many expired."""
        action = self.settings.scheduler.expiry_action
        expired = expire_due(self.engine, action=action, batch_size=self.settings.queue.batch_size)
        if expired:
            self.drainer.dispatch()
        return expired

    def reap(self) -> int:
        """Return jobs whose worker died (lease expired) to pending; returns how many."""
        with session_scope(self.engine) as session:
            count = queue.reap(session, lease_seconds=self.settings.queue.lease_seconds)
        if count:
            logger.warning(
                "%d job(s) whose lease was not renewed in %d s returned to the queue",
                count,
                self.settings.queue.lease_seconds,
            )
            self.drainer.dispatch()
        return count

    def check_health(self) -> None:
        """Probe every active router, record its health and wait for the answers."""
        self.health.check_all()

    def _health_tick(self) -> None:
        """The timer's probe round: starts the probes and returns (a hung router never makes the
        next round wait, or be skipped)."""
        self.health.check_all(wait=False)

    def look_for_vouchers(self) -> int:
        """Start the clock of vouchers first logged in since the last look; returns how many."""
        return len(look_for_first_logins(self.engine, self.settings.routers).started)

    def check_drift(self) -> None:
        """Compare every active router with the database (read-only); counts go on the router."""
        check_all_drift(self.engine, self.settings)

    def _drain_tick(self) -> None:
        """The timer's drain: start a task for each router with due jobs."""
        self._dispatch()

    def _dispatch(self) -> None:
        self.drainer.dispatch_or_retry()
        self.last_drain = utcnow()


def _guarded(
    name: str, function: Callable[[], object], sessions: Sessions, overruns: OverrunLog
) -> Callable[[], None]:
    """A timer job that logs its failure and runs again next time (the database may be back).

    The router sessions it opens are the service's to cut when it stops.
    """

    def run() -> None:
        try:
            with opened_for(sessions):
                function()
            outages.recovered()
        except Exception:
            logger.exception("the %s job failed; it runs again at its next time", name)
        finally:
            overruns.ended(name)

    run.__name__ = name
    return run


class OverrunLog(logging.Filter):
    """APScheduler warns at every tick that a timer still running is skipped (a check waiting on
    a router that does not answer); this says it once per overrun, and the same for missed runs."""

    SKIPPED = "maximum number of running instances"
    MISSED = "was missed by"

    def __init__(self) -> None:
        super().__init__()
        self._told: set[str] = set()
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        text = str(record.msg)
        if self.SKIPPED not in text and self.MISSED not in text:
            return True
        job = record.args[0] if isinstance(record.args, tuple) and record.args else None
        name = str(getattr(job, "id", job))
        with self._lock:
            if name in self._told:
                return False
            self._told.add(name)
        what = "is still running" if self.SKIPPED in text else "fell behind"
        record.msg = (
            f"the {name} timer {what}; its turns are skipped until it ends (said once until then)"
        )
        record.args = None
        return True

    def ended(self, name: str) -> None:
        """The timer ran to its end: a new overrun is worth a line again."""
        with self._lock:
            self._told.discard(name)
