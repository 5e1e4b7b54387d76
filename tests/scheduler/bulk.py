"""Many queued accounts at once, inserted in bulk (activating 10,000 clients one by one is slow)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db import secrets
from db.models import Package, Router, RouterProvisioning
from db.types import utcnow


def queue_accounts(
    engine: Engine,
    *,
    router: str,
    package: str,
    count: int,
    prefix: str = "u",
    passwords: Sequence[str] | None = None,
) -> list[str]:
    """Queue `count` activations of accounts prefix0000… on a router; returns their names.

    `passwords` gives each account its own login password, in order; by default they share one.
    """
    with Session(engine) as session:
        router_id = session.scalars(select(Router.id).where(Router.name == router)).one()  # type: ignore[arg-type]
        chosen = session.scalars(select(Package).where(Package.name == package)).one()  # type: ignore[arg-type]
    now = utcnow()
    names = [f"{prefix}{n:05}" for n in range(count)]
    sealed = (
        [secrets.encrypt(password) for password in passwords]
        if passwords is not None
        else [secrets.encrypt("pw-" + prefix)] * count
    )
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
        for name, password in zip(names, sealed, strict=True)
    ]
    with engine.begin() as connection:
        for start in range(0, len(rows), 2000):
            connection.execute(insert(RouterProvisioning.__table__), rows[start : start + 2000])  # type: ignore[attr-defined]
    return names
