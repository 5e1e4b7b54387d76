"""Router health: up, down or auth_failed, since when and why; probed through /system/resource.

A change is decided by one conditional UPDATE, so among many processes only one logs it. When a
router comes back, the jobs it held are brought forward instead of waiting out their pause.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
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


class HealthChecker:
    """Probes every active router on its own session (never one a drain is using)."""

    def __init__(
        self, engine: Engine, settings: RouterSettings, sink: EventSink | None = None
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._sink = sink
        self._clients: dict[int, RouterClient] = {}

    def check_all(self) -> list[Observation]:
        """Probe every active router at once; store and report what changed."""
        with session_scope(self._engine) as session:
            routers = list(
                session.scalars(select(Router).where(col(Router.status) == RouterStatus.ACTIVE))
            )
        if not routers:
            return []
        with ThreadPoolExecutor(min(16, len(routers)), thread_name_prefix="health") as pool:
            return list(pool.map(self.check, routers))

    def check(self, router: Router) -> Observation:
        """Probe one router and record the result."""
        try:
            client = self._client(router)
            seen = Observation(router.id or 0, router.name, info=client.identity())
        except RouterError as error:
            seen = Observation(router.id or 0, router.name, error=error)
        record_health(self._engine, seen, self._sink)
        return seen

    def _client(self, router: Router) -> RouterClient:
        endpoint = endpoint_of(router)
        current = self._clients.get(router.id or 0)
        if current is None or current.endpoint != endpoint:
            if current is not None:
                current.close()
            current = self._clients[router.id or 0] = RouterClient(endpoint, self._settings)
        return current

    def close(self) -> None:
        """Close the probing sessions."""
        for client in self._clients.values():
            client.close()
        self._clients.clear()
