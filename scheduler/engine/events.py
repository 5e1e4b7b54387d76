"""What the engine reports while it works: small past-tense events, sent from worker threads.

The console turns them into Textual messages; the headless runner logs one line for each.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

logger = logging.getLogger("wisp.engine")


@dataclass(frozen=True)
class JobCompleted:
    """A router account reached its desired state."""

    job_id: int
    router: str
    username: str
    service: str
    action: str


@dataclass(frozen=True)
class JobFailed:
    """A job met an error; `final` when its attempts are spent (status failed), else it retries."""

    job_id: int
    router: str
    username: str
    action: str
    error: str
    attempts: int
    final: bool


@dataclass(frozen=True)
class RouterHealthChanged:
    """A router went up, down, or refused the login."""

    router_id: int
    router: str
    health: str
    previous: str
    error: str | None
    since: datetime


@dataclass
class DrainReport:
    """What one drain did: jobs completed, failed for good, retried later, held for a paused router."""

    completed: int = 0
    failed: int = 0
    retried: int = 0
    paused: int = 0
    paused_routers: set[str] = field(default_factory=set)

    def add(self, other: DrainReport) -> None:
        """Add another report's counts to this one."""
        self.completed += other.completed
        self.failed += other.failed
        self.retried += other.retried
        self.paused += other.paused
        self.paused_routers |= other.paused_routers

    @property
    def handled(self) -> int:
        """Jobs this drain touched."""
        return self.completed + self.failed + self.retried + self.paused


@dataclass(frozen=True)
class DrainFinished:
    """A drain ended: of one router (`router` set) or a whole pass (`router` None)."""

    report: DrainReport
    router: str | None = None


EngineEvent = JobCompleted | JobFailed | RouterHealthChanged | DrainFinished
"""Everything the engine tells its host (the console, the headless runner's log)."""
EventSink = Callable[[EngineEvent], None]


def emit(sink: EventSink | None, event: EngineEvent) -> None:
    """Hand an event to the sink; a failing sink is logged and does not stop the engine."""
    if sink is None:
        return
    try:
        sink(event)
    except Exception:
        logger.exception("the event handler failed on %r", event)
