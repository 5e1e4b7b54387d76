"""Expiry, decided from our database in UTC and never from dates printed by a router.

A subscription past `expires_on` is marked expired and its router account is re-queued with the
expiry action (deactivate: disable, kick, drop the cookie; or remove). Safe to run from any number
of processes at once: each subscription is taken by one conditional UPDATE.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from db import logs
from db.engine import immediate, session_scope
from db.models import Client, RouterProvisioning, Subscription
from db.queue import queue_account
from db.types import utcnow

S = Subscription.__table__  # type: ignore[attr-defined]


def expire_due(
    engine: Engine,
    *,
    now: datetime | None = None,
    batch_size: int = 500,
    action: str = "deactivate",
) -> int:
    """Expire every subscription past its end, in batches of one transaction each; returns the count."""
    now = now or utcnow()
    total = 0
    while True:
        with session_scope(immediate(engine)) as session:
            found, expired = _expire_batch(session, now, batch_size, action)
        total += expired
        if found < batch_size:
            return total


def _expire_batch(session: Session, now: datetime, batch_size: int, action: str) -> tuple[int, int]:
    """Expire one batch; returns how many were due and how many this process expired."""
    due = session.scalars(
        select(Subscription)
        .where(Subscription.status == "active", Subscription.expires_on <= now)  # type: ignore[arg-type]
        .order_by(Subscription.expires_on)  # type: ignore[arg-type]
        .limit(batch_size)
    ).all()
    expired = 0
    for subscription in due:
        taken = session.execute(
            update(S)
            .where(S.c.id == subscription.id, S.c.status == "active")
            .values(status="expired", updated_at=now)
        ).rowcount  # type: ignore[attr-defined]
        if taken:
            expired += 1
            _withdraw_account(session, subscription, now, action)
    return len(due), expired


def _withdraw_account(
    session: Session, subscription: Subscription, now: datetime, action: str
) -> None:
    client = session.get(Client, subscription.client_id)
    still_active = session.scalars(
        select(col(Subscription.id)).where(
            Subscription.client_id == subscription.client_id,  # type: ignore[arg-type]
            Subscription.router_id == subscription.router_id,  # type: ignore[arg-type]
            Subscription.status == "active",  # type: ignore[arg-type]
            Subscription.expires_on > now,  # type: ignore[arg-type]
        )
    ).first()
    context = {"subscription_id": subscription.id}
    if still_active is not None or client is None or subscription.router_id is None:
        logs.info(
            session,
            "Subscription",
            f"Subscription {subscription.id} expired; the account stays "
            "active for another subscription.",
            context,
            client_id=subscription.client_id,
        )
        return
    account = session.scalars(
        select(RouterProvisioning).where(
            RouterProvisioning.router_id == subscription.router_id,  # type: ignore[arg-type]
            RouterProvisioning.router_username == client.username,  # type: ignore[arg-type]
        )
    ).first()
    if account is None:
        logs.warning(
            session,
            "Subscription",
            f"Subscription {subscription.id} of {client.username} expired, "
            "but it has no router account to withdraw.",
            context,
            client_id=client.id,
        )
        return
    queue_account(
        session,
        router_id=account.router_id,
        router_username=account.router_username,
        service_type=account.service_type,
        action=action,
        now=now,
    )
    logs.info(
        session,
        "Subscription",
        f"Subscription {subscription.id} of {client.username} expired; router account queued to {action}.",
        {**context, "job_id": account.id},
        client_id=client.id,
        provisioning_id=account.id,
    )
