"""Vouchers' first logins, read from the routers: the moment a voucher's clock starts.

A voucher is unused until someone logs in with it. Each look reads, on every router holding
unused vouchers, the hotspot's active sessions and its users' uptime (read-only, two prints
with only the fields needed), and starts each voucher seen in use from the moment it was first
logged in: now less the longer of its session's uptime and its user's total uptime. A look
that misses a short session loses nothing: the user's uptime keeps it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from db.config import RouterSettings
from db.models import Router
from db.shaping import ShapeError, parse_duration_seconds
from db.types import utcnow
from db.vouchers import start_first_use, unused_codes
from scheduler.engine.endpoints import client_for
from scheduler.routeros.client import RouterClient
from scheduler.routeros.errors import RouterError

logger = logging.getLogger("wisp.vouchers")

ACTIVE = "/ip/hotspot/active"
USERS = "/ip/hotspot/user"


@dataclass
class FirstLogins:
    """What one look found: codes started, and routers that could not be read (with why)."""

    started: list[str] = field(default_factory=list)
    unreachable: dict[str, str] = field(default_factory=dict)


def first_logins(client: RouterClient, codes: set[str], now: datetime) -> dict[str, datetime]:
    """The unused codes seen logged in on this router, each with its first login."""
    used: dict[str, int] = {}
    for row in client.print(ACTIVE, proplist=("user", "uptime")):
        _keep(used, codes, row.get("user"), row.get("uptime"), online=True)
    for row in client.print(USERS, proplist=("name", "uptime")):
        _keep(used, codes, row.get("name"), row.get("uptime"), online=False)
    return {code: now - timedelta(seconds=seconds) for code, seconds in used.items()}


def _keep(
    used: dict[str, int], codes: set[str], name: object, uptime: object, *, online: bool
) -> None:
    """Note a code's uptime when it is online now (however short) or has used any time."""
    if not isinstance(name, str) or name not in codes:
        return
    try:
        seconds = parse_duration_seconds(str(uptime or "0"))
    except ShapeError:
        return
    if online or seconds > 0 or name in used:
        used[name] = max(seconds, used.get(name, 0))


def look_for_first_logins(
    engine: Engine,
    settings: RouterSettings,
    *,
    now: Callable[[], datetime] = lambda: utcnow(),
) -> FirstLogins:
    """One look on every router holding unused vouchers; start those seen in use."""
    found = FirstLogins()
    for router_id, codes in sorted(unused_codes(engine).items()):
        with Session(engine) as session:
            router = session.get(Router, router_id)
        if router is None:
            continue
        try:
            with client_for(router, settings) as client:
                seen = first_logins(client, codes, now())
        except RouterError as error:
            found.unreachable[router.name] = str(error)
            continue
        if seen:
            started = start_first_use(engine, router_id, seen, now=now())
            found.started += started
            if started:
                logger.info(
                    "%d voucher(s) first logged in on %s: %s",
                    len(started),
                    router.name,
                    ", ".join(started[:10]) + (" …" if len(started) > 10 else ""),
                )
    return found


def start_seen(
    engine: Engine, router_name: str, seen: list[tuple[str, str]], *, online: bool
) -> list[str]:
    """Start the unused vouchers among (name, uptime) pairs a person just read on a router
    (the router users screen): online sessions however short, users with any uptime."""
    with Session(engine) as session:
        router = session.scalars(select(Router).where(col(Router.name) == router_name)).first()
    if router is None or router.id is None:
        return []
    codes = unused_codes(engine).get(router.id, set())
    if not codes:
        return []
    used: dict[str, int] = {}
    for name, uptime in seen:
        _keep(used, codes, name, uptime, online=online)
    if not used:
        return []
    now = utcnow()
    first = {code: now - timedelta(seconds=seconds) for code, seconds in used.items()}
    return start_first_use(engine, router.id, first, now=now)
