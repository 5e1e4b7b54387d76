"""The console benchmark's database: routers, packages, and N clients, subscriptions and queue rows.

Bulk inserts of plain rows (one executemany per chunk), so 100,000 of each take seconds.
"""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import insert
from sqlalchemy.engine import Engine

from db import catalog, secrets
from db.engine import make_engine, session_scope, upgrade
from db.models import Client, Payment, RouterProvisioning, Subscription
from db.types import utcnow

CHUNK = 10_000
STATUSES = ("completed",) * 90 + ("pending",) * 6 + ("failed",) * 3 + ("processing",)


def build_database(path: str, rows: int, port: int, password: str) -> Engine:
    """Create and fill the database at `path`; router r1 points at the simulator on `port`."""
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with session_scope(engine) as session:
        catalog.add_router(session, name="r1", host="127.0.0.1", port=port, password=password)
        for name in ("r2", "r3"):
            catalog.add_router(session, name=name, host="127.0.0.1", port=1, password=password)
        for index, router in enumerate(("r1", "r2", "r3")):
            catalog.add_package(
                session,
                catalog.PackageSpec(
                    f"Home {5 * (index + 1)}M",
                    "hotspot",
                    router,
                    "1500",
                    "30d",
                    f"{5 * (index + 1)}M",
                ),
            )
    sealed = secrets.encrypt("bench-client-pw")
    with engine.begin() as conn:
        for start in range(0, rows, CHUNK):
            _chunk(conn, range(start, min(start + CHUNK, rows)), sealed)
    return engine


def _chunk(conn, ids: range, sealed: str) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    rand = random.Random(ids.start)
    clients, payments, jobs, subscriptions = [], [], [], []
    for n in ids:
        key = n + 1
        package = key % 3 + 1
        created = now - timedelta(minutes=rand.randint(0, 60 * 24 * 30))
        status = rand.choice(STATUSES)
        clients.append(
            {
                "id": key,
                "full_name": f"Client {key}",
                "username": f"c{key:06d}",
                "phone": f"+2547{key:08d}",
                "created_at": created,
                "updated_at": created,
            }
        )
        payments.append(
            {
                "id": key,
                "client_id": key,
                "package_id": package,
                "amount": 1500,
                "method": "mpesa",
                "reference": f"QB{key:08d}",
                "status": "completed",
                "transaction_date": created,
                "created_at": created,
                "updated_at": created,
            }
        )
        jobs.append(
            {
                "id": key,
                "client_id": key,
                "router_id": package,
                "package_id": package,
                "subscription_id": key,
                "service_type": "hotspot",
                "action": "activate",
                "router_username": f"c{key:06d}",
                "router_password": sealed,
                "router_profile": f"HOTSPOT_{5 * package}M_PERSONAL",
                "status": status,
                "attempts": 5 if status == "failed" else 0,
                "revision": 1,
                "last_error": "router r2 (127.0.0.1:1) refused the connection"
                if status == "failed"
                else None,
                "next_attempt_at": created,
                "completed_at": created if status == "completed" else None,
                "created_at": created,
                "updated_at": created,
            }
        )
        subscriptions.append(
            {
                "id": key,
                "client_id": key,
                "package_id": package,
                "router_id": package,
                "payment_id": key,
                "provisioning_id": key,
                "start_date": created,
                "expires_on": created + timedelta(days=30),
                "status": "active",
                "created_at": created,
                "updated_at": created,
            }
        )
    for model, values in (
        (Client, clients),
        (Payment, payments),
        (RouterProvisioning, jobs),
        (Subscription, subscriptions),
    ):
        conn.execute(insert(model.__table__), values)  # type: ignore[attr-defined]
