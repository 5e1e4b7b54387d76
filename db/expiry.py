"""Expiry, decided from our database in UTC and never from dates printed by a router.

A subscription past `expires_on` is marked expired (one whose clock still waits for delivery, or
stands while its client is suspended, is not past anything); a subscription bought to follow it
starts, and every router account that no running subscription pays for any more is re-queued with
the expiry action (deactivate: disable, kick, drop the cookie; or remove). Safe to run from any
number of processes at once: each subscription is taken by one conditional UPDATE.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, not_, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from db import logs
from db.accounts import lock_client, queue_client_account, withdraw_unpaid
from db.engine import session_scope
from db.localtime import at
from db.models import (
    Action,
    Client,
    ClientStatus,
    Package,
    S,
    Subscription,
    SubscriptionStatus,
)
from db.queue import BULK
from db.types import utcnow


def expire_due(
    engine: Engine,
    *,
    now: datetime | None = None,
    batch_size: int = 500,
    action: str = Action.DEACTIVATE,
) -> int:
    """Expire every subscription past its end, in batches of one transaction each; returns the count."""
    now = now or utcnow()
    total = 0
    while True:
        with session_scope(engine) as session:
            found, expired = _expire_batch(session, now, batch_size, action)
        total += expired
        if found < batch_size:
            break
    with session_scope(engine) as session:
        start_orphaned(session, now, action=action)
    return total


def _expire_batch(session: Session, now: datetime, batch_size: int, action: str) -> tuple[int, int]:
    """Expire one batch; returns how many were due and how many this process expired."""
    waiting = and_(col(Subscription.starts_on_delivery), col(Subscription.delivered_at).is_(None))
    due = session.scalars(
        select(Subscription)
        .where(
            col(Subscription.status) == SubscriptionStatus.ACTIVE,
            col(Subscription.expires_on) <= now,
            not_(waiting),
            col(Subscription.paused_at).is_(None),
        )
        .order_by(col(Subscription.expires_on))
        .limit(batch_size)
    ).all()
    if not due:
        return 0, 0
    ended: dict[int, Subscription] = {}
    still_due = and_(
        S.c.status == SubscriptionStatus.ACTIVE,
        S.c.expires_on <= now,  # a payment may have extended it since it was read
        not_(and_(S.c.starts_on_delivery, S.c.delivered_at.is_(None))),
        S.c.paused_at.is_(None),  # a suspension may have stopped its clock since
    )
    # The client first, then the subscription, in one order for every process and for payments.
    for subscription in sorted(due, key=lambda s: (s.client_id, s.id or 0)):
        lock_client(session, subscription.client_id)
        taken = session.execute(
            update(S)
            .where(S.c.id == subscription.id, still_due)
            .values(status=SubscriptionStatus.EXPIRED, updated_at=now)
        ).rowcount  # type: ignore[attr-defined]
        if taken:
            ended[subscription.client_id] = subscription
            logs.info(
                session,
                "Subscription",
                f"Subscription {subscription.id} expired ({at(subscription.expires_on)}).",
                {"subscription_id": subscription.id},
                client_id=subscription.client_id,
            )
    for client_id, subscription in sorted(ended.items()):
        if not _running(session, client_id):
            start_next(session, client_id, subscription.expires_on, now)
        withdraw_unpaid(
            session,
            client_id,
            action=action,
            now=now,
            reason=f"subscription {subscription.id} expired",
            priority=BULK,  # a customer's payment goes ahead of a midnight's expiries
        )
    return len(due), len(ended)


def _running(session: Session, client_id: int) -> bool:
    return (
        session.scalars(
            select(col(Subscription.id)).where(
                col(Subscription.client_id) == client_id,
                col(Subscription.status) == SubscriptionStatus.ACTIVE,
            )
        ).first()
        is not None
    )


def start_next(
    session: Session, client_id: int, ended_at: datetime, now: datetime
) -> Subscription | None:
    """Start the client's first scheduled subscription where the last one ended.

    Its paid length is kept; the router account for its package is queued now.
    """
    following = session.scalars(
        select(Subscription)
        .where(
            col(Subscription.client_id) == client_id,
            col(Subscription.status) == SubscriptionStatus.SCHEDULED,
        )
        .order_by(col(Subscription.start_date), col(Subscription.id))
    ).first()
    if following is None:
        return None
    client = session.get(Client, client_id)
    package = session.get(Package, following.package_id)
    if client is None or package is None or package.router_id is None:
        return None
    length = following.expires_on - following.start_date
    following.start_date = min(ended_at, now)
    following.expires_on = following.start_date + length
    following.status = SubscriptionStatus.ACTIVE
    suspended = client.status == ClientStatus.SUSPENDED
    if suspended:
        following.paused_at = now  # its clock stands until the client is resumed
    session.add(following)
    session.flush()
    if not suspended:
        queue_client_account(session, client, package, following, now=now)
    logs.info(
        session,
        "Subscription",
        f"Subscription {following.id} of {client.username} on {package.name} started "
        f"(bought to follow the one that ended); until "
        f"{at(following.expires_on)}"
        + (" once delivered" if following.starts_on_delivery else "")
        + ".",
        {"subscription_id": following.id},
        client_id=client_id,
    )
    return following


def start_orphaned(session: Session, now: datetime, *, action: str) -> int:
    """Start scheduled subscriptions whose client has nothing running (whatever ended it)."""
    active = select(col(Subscription.client_id)).where(
        col(Subscription.status) == SubscriptionStatus.ACTIVE
    )
    clients = set(
        session.scalars(
            select(col(Subscription.client_id)).where(
                col(Subscription.status) == SubscriptionStatus.SCHEDULED,
                col(Subscription.start_date) <= now,
                col(Subscription.client_id).not_in(active),
            )
        )
    )
    for client_id in sorted(clients):
        lock_client(session, client_id)
        if _running(session, client_id):
            continue  # a payment started one meanwhile: the scheduled one waits for it
        start_next(session, client_id, now, now)
        withdraw_unpaid(
            session, client_id, action=action, now=now, reason="a scheduled package started"
        )
    return len(clients)
