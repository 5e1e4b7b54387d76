"""Many queued accounts at once, inserted in bulk (activating 10,000 clients one by one is slow)."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db import secrets
from db.models import Package, Router, RouterProvisioning
from db.types import utcnow


def queue_accounts(
    engine: Engine, *, router: str, package: str, count: int, prefix: str = "u"
) -> list[str]:
    """Queue `count` activations of accounts prefix0000… on a router; returns their names."""
    with Session(engine) as session:
        router_id = session.scalars(select(Router.id).where(Router.name == router)).one()  # type: ignore[arg-type]
        chosen = session.scalars(select(Package).where(Package.name == package)).one()  # type: ignore[arg-type]
    password, now = secrets.encrypt("pw-" + prefix), utcnow()
    names = [f"{prefix}{n:05}" for n in range(count)]
    rows = [
        {
            "router_id": router_id,
            "package_id": chosen.id,
            "service_type": chosen.type,
            "action": "activate",
            "router_username": name,
            "router_password": password,
            "router_profile": chosen.router_profile,
            "status": "pending",
            "attempts": 0,
            "revision": 1,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for name in names
    ]
    with engine.begin() as connection:
        for start in range(0, len(rows), 2000):
            connection.execute(insert(RouterProvisioning.__table__), rows[start : start + 2000])  # type: ignore[attr-defined]
    return names
