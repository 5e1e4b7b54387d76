"""The headless runner (`wisp run`): the provisioning service under systemd, no Textual.

One log line per job outcome and per router health change. SIGTERM and SIGINT stop it gracefully:
the job each session is on finishes, the rest of its claims go back to pending.
"""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType

from sqlalchemy.engine import Engine

from db.config import Settings
from db.models import Health
from scheduler.engine.events import (
    DrainReport,
    EngineEvent,
    JobCompleted,
    JobFailed,
    RouterHealthChanged,
)
from scheduler.engine.service import ProvisioningService

logger = logging.getLogger("wisp.run")


def describe(event: EngineEvent) -> str | None:
    """The log line of an event, or None for events that get no line."""
    if isinstance(event, JobCompleted):
        return f"job {event.job_id} completed: {event.username} {event.action} on {event.router}"
    if isinstance(event, JobFailed):
        verdict = "failed for good" if event.final else "failed, will retry"
        return f"job {event.job_id} {verdict} (attempt {event.attempts}): {event.username} {event.action} on {event.router}: {event.error}"
    if isinstance(event, RouterHealthChanged):
        why = f": {event.error}" if event.error else ""
        return f"router {event.router} is {event.health} (was {event.previous}){why}"
    return None


def log_event(event: EngineEvent) -> None:
    """Log an engine event as one line (warnings for failures and routers going away)."""
    line = describe(event)
    if line is None:
        return
    bad = isinstance(event, JobFailed) or (
        isinstance(event, RouterHealthChanged) and event.health != Health.UP
    )
    logger.log(logging.WARNING if bad else logging.INFO, line)


def summary(report: DrainReport) -> str:
    """One line for the end of `wisp run --once`."""
    text = (
        f"drained: {report.completed} completed, {report.failed} failed, "
        f"{report.retried} to retry, {report.paused} held"
    )
    if report.paused_routers:
        text += f" (router{'s' if len(report.paused_routers) > 1 else ''} away: {', '.join(sorted(report.paused_routers))})"
    return text


def quiet_duplicate_logs() -> None:
    """Job and health entries of the LogService would repeat the runner's own lines on stderr."""
    logger.setLevel(logging.INFO)
    logging.getLogger("wisp.router").setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class OnceReport:
    """What `wisp run --once` did before draining (leases reaped, subscriptions expired, vouchers
    seen logged in for the first time) and the drain's report."""

    reaped: int
    expired: int
    vouchers_started: int
    drain: DrainReport


def run_once(settings: Settings, engine: Engine, *, worker: str | None = None) -> OnceReport:
    """Reap dead leases, sweep expiries, start vouchers first logged in, drain what is due.

    SIGTERM or SIGINT ends the drain early and gracefully: the jobs not yet on a router go back.
    """
    quiet_duplicate_logs()
    service = ProvisioningService(settings, engine, worker=worker, on_event=log_event)
    with stopping_on_signals(service.drainer.stop_soon):
        try:
            reaped = service.reap()
            expired = service.sweep_expiry()
            started = service.look_for_vouchers()
            report = service.drain_once()
        finally:
            service.shutdown(wait=True)
    logger.info(summary(report))
    return OnceReport(reaped, expired, started, report)


def run_forever(
    settings: Settings,
    engine: Engine,
    *,
    worker: str | None = None,
    wake_on: Callable[[Callable[[], None] | None], object] | None = None,
) -> int:
    """Run until SIGTERM or SIGINT, then stop gracefully; returns 0.

    `wake_on` is given the engine's `wake` while it runs (and None once it stops), for whatever
    else in this process queues jobs (the M-Pesa intake), so their jobs are drained at once.
    """
    quiet_duplicate_logs()
    # `kill -USR1 PID` writes where every thread of a runner is to its stderr (the journal under
    # systemd): what a runner that does not stop, or does not drain, is waiting for.
    with contextlib.suppress(AttributeError, ValueError, OSError):
        faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=True)
    stop = threading.Event()
    with stopping_on_signals(stop.set):
        service = ProvisioningService(settings, engine, worker=worker, on_event=log_event)
        try:
            service.start()
            if wake_on is not None:
                wake_on(service.wake)
            logger.info("provisioning engine running as %s", service.worker)
            while not stop.wait(0.5):
                pass
        finally:
            if wake_on is not None:
                wake_on(None)
            service.shutdown(wait=True)
    logger.info("stopped; no job left claimed by %s", service.worker)
    return 0


@contextlib.contextmanager
def stopping_on_signals(stop: Callable[[], object]) -> Iterator[None]:
    """Call `stop` on SIGTERM or SIGINT (instead of dying with claims held) while inside."""

    def on_signal(number: int, _frame: FrameType | None) -> None:
        logger.info("stopping on %s", signal.Signals(number).name)
        stop()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
