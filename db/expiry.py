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
    if not due:
        return 0, 0
    usernames = dict(
        session.execute(
            select(col(Client.id), col(Client.username)).where(
                col(Client.id).in_({s.client_id for s in due})
            )
        ).all()
    )
    expired = 0
    for subscription in due:
        taken = session.execute(
            update(S)
            .where(S.c.id == subscription.id, S.c.status == "active")
            .values(status="expired", updated_at=now)
        ).rowcount  # type: ignore[attr-defined]
        if taken:
            expired += 1
            _withdraw_account(
                session, subscription, usernames.get(subscription.client_id), now, action
            )
    return len(due), expired


def _still_active(session: Session, subscription: Subscription, now: datetime) -> bool:
    """Whether the client holds another running subscription on the same router account."""
    return (
        session.scalars(
            select(col(Subscription.id)).where(
                Subscription.client_id == subscription.client_id,  # type: ignore[arg-type]
                Subscription.router_id == subscription.router_id,  # type: ignore[arg-type]
                Subscription.status == "active",  # type: ignore[arg-type]
                Subscription.expires_on > now,  # type: ignore[arg-type]
            )
        ).first()
        is not None
    )


def _withdraw_account(
    session: Session, subscription: Subscription, username: str | None, now: datetime, action: str
) -> None:
    context = {"subscription_id": subscription.id}
    if _still_active(session, subscription, now):
        logs.info(
            session,
            "Subscription",
            f"Subscription {subscription.id} expired; the account stays "
            "active for another subscription.",
            context,
            client_id=subscription.client_id,
        )
        return
    account = (
        session.scalars(
            select(RouterProvisioning).where(
                RouterProvisioning.router_id == subscription.router_id,  # type: ignore[arg-type]
                RouterProvisioning.router_username == username,  # type: ignore[arg-type]
            )
        ).first()
        if username is not None and subscription.router_id is not None
        else None
    )
    if account is None:
        logs.warning(
            session,
            "Subscription",
            f"Subscription {subscription.id} of {username or f'client {subscription.client_id}'} "
            "expired, but it has no router account to withdraw.",
            context,
            client_id=subscription.client_id,
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
        f"Subscription {subscription.id} of {username} expired; router account queued to {action}.",
        {**context, "job_id": account.id},
        client_id=subscription.client_id,
        provisioning_id=account.id,
    )
