"""Router health: up, down or auth_failed, since when and why; probed through /system/resource.

A change is decided by one conditional UPDATE, so among many processes only one logs it. When a
router comes back, the jobs it held are brought forward instead of waiting out their pause.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.engine import Engine
from sqlmodel import col

from db import logs
from db.config import RouterSettings
from db.engine import session_scope
from db.models import Health, J, JobStatus, R, Router, RouterStatus
from db.secrets import mask
from db.types import utcnow
from scheduler.engine.endpoints import endpoint_of
from scheduler.engine.events import EventSink, RouterHealthChanged, emit
from scheduler.routeros.client import RouterClient, RouterError
from scheduler.routeros.errors import Kind


def health_of(error: RouterError | None) -> Health:
    """The health a router error means: auth_failed for a refused login, down for the rest."""
    if error is None:
        return Health.UP
    return Health.AUTH_FAILED if error.kind == Kind.AUTH else Health.DOWN


@dataclass(frozen=True)
class Observation:
    """What one contact with a router showed."""

    router_id: int
    router: str
    error: RouterError | None = None
    info: dict[str, str] | None = None

    @property
    def health(self) -> str:
        """up, down or auth_failed."""
        return health_of(self.error)


def record_health(engine: Engine, seen: Observation, sink: EventSink | None = None) -> bool:
    """Store what was seen; returns True (and reports it) when the health changed."""
    now = utcnow()
    with session_scope(engine) as session:
        previous = session.execute(select(R.c.health).where(R.c.id == seen.router_id)).scalar()
        result = session.execute(
            update(R)
            .where(R.c.id == seen.router_id, R.c.health != seen.health)
            .values(health=seen.health, health_since=now)
        )
        changed = result.rowcount == 1  # type: ignore[attr-defined]
        session.execute(update(R).where(R.c.id == seen.router_id).values(_details(seen, now)))
        if changed:
            _log_change(session, seen, now)
    if changed:
        error = mask(str(seen.error)) if seen.error else None
        emit(
            sink,
            RouterHealthChanged(
                seen.router_id, seen.router, seen.health, previous or Health.UNKNOWN, error, now
            ),
        )
    return changed


def _details(seen: Observation, now: datetime) -> dict[str, object]:
    if seen.error is not None:
        return {"last_error": mask(str(seen.error))[:4000], "updated_at": now}
    values: dict[str, object] = {"last_seen": now, "last_error": None, "updated_at": now}
    if seen.info:
        values |= {
            "version": seen.info.get("version") or None,
            "uptime": seen.info.get("uptime") or None,
            "identity": seen.info.get("identity") or None,
        }
    return values


def _log_change(session, seen: Observation, now: datetime) -> None:  # type: ignore[no-untyped-def]
    context = {"router_id": seen.router_id, "health": seen.health}
    if seen.error is None:
        logs.info(session, "Router", f"Router {seen.router} is up.", context)
        _bring_forward(session, seen, now)
    else:
        logs.warning(
            session, "Router", f"Router {seen.router} is {seen.health}: {seen.error}", context
        )


def _bring_forward(session, seen: Observation, now: datetime) -> None:  # type: ignore[no-untyped-def]
    """Jobs held while the router was away (their last error names the router) are due now."""
    session.execute(
        update(J)
        .where(
            J.c.router_id == seen.router_id,
            J.c.status == JobStatus.PENDING,
            J.c.next_attempt_at > now,
            # "router r1 (host:port) did not answer…" or "router r1: the host name … cannot be resolved"
            or_(
                J.c.last_error.startswith(f"router {seen.router} ", autoescape=True),
                J.c.last_error.startswith(f"router {seen.router}:", autoescape=True),
            ),
        )
        .values(next_attempt_at=now)
    )


PROBES = 16
"""Routers probed at the same time (a hung one holds its probe until the command deadline)."""


class HealthChecker:
    """Probes every active router on its own session (never one a drain is using).

    A timer's round only starts the probes of routers not still being probed, and returns: a
    router that does not answer is probed again once its last probe ended, never piled up.
    """

    def __init__(
        self, engine: Engine, settings: RouterSettings, sink: EventSink | None = None
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._sink = sink
        self._clients: dict[int, RouterClient] = {}
        self._probing: dict[int, Future[Observation | None]] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(PROBES, thread_name_prefix="health")
        self._stopping = False

    def check_all(self, *, wait: bool = True) -> list[Observation]:
        """Probe every active router at once; store and report what changed.

        With `wait`, returns what each probe saw; without, returns at once (the timer's way).
        """
        if self._stopping:
            return []
        with session_scope(self._engine) as session:
            routers = list(
                session.scalars(select(Router).where(col(Router.status) == RouterStatus.ACTIVE))
            )
        # Routers that answered last time first: a queue of hung ones never delays them.
        routers.sort(key=lambda router: router.health in (Health.DOWN, Health.AUTH_FAILED))
        futures = []
        for router in routers:
            with self._lock:
                running = self._probing.get(router.id or 0)
                if running is None or running.done():
                    try:
                        running = self._pool.submit(self.check, router)
                    except RuntimeError:  # closed: this process is stopping
                        return []
                    self._probing[router.id or 0] = running
            futures.append(running)
        if not wait:
            return []
        return [seen for seen in (future.result() for future in futures) if seen is not None]

    def check(self, router: Router) -> Observation | None:
        """Probe one router and record the result (None when stopping: nothing is recorded)."""
        if self._stopping:
            return None
        try:
            client = self._client(router)
            seen = Observation(router.id or 0, router.name, info=client.identity())
        except RouterError as error:
            if self._stopping:
                return None  # abandoned, not a verdict on the router
            seen = Observation(router.id or 0, router.name, error=error)
        record_health(self._engine, seen, self._sink)
        return seen

    def _client(self, router: Router) -> RouterClient:
        endpoint = endpoint_of(router)
        with self._lock:
            current = self._clients.get(router.id or 0)
            if current is not None and current.endpoint == endpoint:
                return current
            fresh = self._clients[router.id or 0] = RouterClient(endpoint, self._settings)
            if self._stopping:
                fresh.abort()
        if current is not None:
            current.close()
        return fresh

    def stop_soon(self) -> None:
        """Abandon the probes in flight and start no more (safe from a signal handler)."""
        self._stopping = True
        for client in list(self._clients.values()):
            client.abort()

    def close(self) -> None:
        """Stop probing and close the probing sessions."""
        self.stop_soon()
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()
