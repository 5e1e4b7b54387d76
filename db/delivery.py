"""Delivery: the moment a subscription's account is confirmed on the router.

With `activation.validity_starts = "delivery"` a subscription's clock waits for this moment: its
start and expiry move forward by the time the account spent waiting for its router, so an outage
never eats the time a customer paid for. Called in the transaction that marks the jobs completed.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from db import logs
from db.localtime import at
from db.models import Subscription, SubscriptionStatus


def mark_delivered(session: Session, job_ids: Collection[int], now: datetime) -> int:
    """Record the first delivery of the active subscriptions of these accounts; returns how many."""
    if not job_ids:
        return 0
    waiting = session.scalars(
        select(Subscription)
        .where(
            col(Subscription.provisioning_id).in_(list(job_ids)),
            col(Subscription.status) == SubscriptionStatus.ACTIVE,
            col(Subscription.delivered_at).is_(None),
        )
        .order_by(col(Subscription.id))
        .with_for_update()  # a renewal committed meanwhile is read, not overwritten
        .execution_options(populate_existing=True)
    ).all()
    for subscription in waiting:
        subscription.delivered_at = now
        if subscription.starts_on_delivery and now > subscription.start_date:
            waited = now - subscription.start_date
            subscription.start_date = now
            subscription.expires_on = subscription.expires_on + waited
            logs.info(
                session,
                "Subscription",
                f"Subscription {subscription.id} delivered; its clock starts now and it runs "
                f"until {at(subscription.expires_on)}.",
                {"subscription_id": subscription.id, "waited_seconds": int(waited.total_seconds())},
                client_id=subscription.client_id,
            )
        session.add(subscription)
    return len(waiting)
