"""Read-only listings for scripts and people: subscriptions and payments across all clients.

Rows are plain dicts of typed values (ints, bools, aware UTC datetimes, Decimals); the CLI shows
them in the operator's zone, as a table or as JSON.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from db.catalog import get_client
from db.models import (
    Client,
    Package,
    Payment,
    Router,
    RouterProvisioning,
    Subscription,
    SubscriptionStatus,
)

CURRENT = (SubscriptionStatus.ACTIVE, SubscriptionStatus.SCHEDULED)


def clock(subscription: Subscription) -> str | None:
    """running, waiting for delivery, stopped (client suspended); None when not active."""
    if subscription.status != SubscriptionStatus.ACTIVE:
        return None
    if subscription.paused_at is not None:
        return "stopped"
    return "waiting" if subscription.clock_waiting else "running"


def expires_in(subscription: Subscription, now: datetime) -> int | None:
    """Whole seconds until it ends while its clock runs; None while it does not."""
    if clock(subscription) != "running":
        return None
    return max(int((subscription.expires_on - now).total_seconds()), 0)


def left(subscription: Subscription, now: datetime) -> int | None:
    """Whole seconds of paid time not used yet, whether the clock runs or not."""
    if subscription.status == SubscriptionStatus.SCHEDULED or subscription.clock_waiting:
        return int((subscription.expires_on - subscription.start_date).total_seconds())
    if subscription.status != SubscriptionStatus.ACTIVE:
        return None
    until = subscription.paused_at or now
    return max(
        int((subscription.expires_on - max(until, subscription.start_date)).total_seconds()), 0
    )


def subscriptions(
    session: Session,
    now: datetime,
    *,
    client: str | None = None,
    expiring_within: float | None = None,
    every: bool = False,
) -> list[dict[str, Any]]:
    """Subscriptions, soonest end first: current ones (active and scheduled) unless `every`.

    `expiring_within` (seconds) keeps only running clocks that end within that time from `now`.
    """
    query = (
        select(
            Subscription,
            col(Client.username),
            col(Package.name),
            col(Router.name),
            RouterProvisioning,
        )
        .join(Client, col(Client.id) == col(Subscription.client_id))
        .join(Package, col(Package.id) == col(Subscription.package_id))
        .outerjoin(Router, col(Router.id) == col(Subscription.router_id))
        .outerjoin(
            RouterProvisioning, col(RouterProvisioning.id) == col(Subscription.provisioning_id)
        )
        .order_by(col(Subscription.expires_on), col(Subscription.id))
    )
    if client is not None:
        query = query.where(col(Subscription.client_id) == get_client(session, client).id)
    if not every:
        query = query.where(col(Subscription.status).in_(CURRENT))
    rows = []
    for sub, username, package, router, account in session.execute(query):
        ends_in = expires_in(sub, now)
        if expiring_within is not None and (ends_in is None or ends_in > expiring_within):
            continue
        rows.append(
            {
                "id": sub.id,
                "client": username,
                "package": package,
                "job_status": account.status if account else None,
                "job_action": account.action if account else None,
                "expires_in": ends_in,
                "status": sub.status,
                "router": router,
                "clock": clock(sub),
                "left": left(sub, now),
                "start": sub.start_date,
                "expires_on": sub.expires_on,
                "delivered_at": sub.delivered_at,
                "paused_at": sub.paused_at,
                "paused_seconds": sub.paused_seconds or 0,
                "job": account.id if account else None,
            }
        )
    return rows


def payments(session: Session, *, since: datetime | None = None) -> list[dict[str, Any]]:
    """Payments newest first, since a moment if given."""
    query = (
        select(Payment, col(Client.username), col(Package.name))
        .join(Client, col(Client.id) == col(Payment.client_id))
        .join(Package, col(Package.id) == col(Payment.package_id))
        .order_by(col(Payment.transaction_date).desc(), col(Payment.id).desc())
    )
    if since is not None:
        query = query.where(col(Payment.transaction_date) >= since)
    return [
        {
            "id": payment.id,
            "date": payment.transaction_date,
            "client": username,
            "amount": payment.amount,
            "method": payment.method,
            "reference": payment.reference,
            "package": package,
            "status": payment.status,
            "subscription": payment.subscription_id,
            "time_bought": payment.granted_seconds,
        }
        for payment, username, package in session.execute(query)
    ]
