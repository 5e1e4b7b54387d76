"""Is a subscription's account on its router? The queue row of the account says so."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlmodel import Session, col

from db.models import RouterProvisioning, Subscription


def on_router(session: Session, subscription: Subscription) -> bool:
    """True when the subscription's account row is completed with the action activate."""
    if subscription.provisioning_id is None:
        return False
    row = session.get(RouterProvisioning, subscription.provisioning_id)
    return row is not None and row.status == "completed" and row.action == "activate"


def on_router_by_id(session: Session, subscription_ids: Iterable[int]) -> dict[int, bool]:
    """`on_router` for many subscriptions in one query (for a pane of subscriptions)."""
    ids = list(subscription_ids)
    if not ids:
        return {}
    P = RouterProvisioning
    rows = session.execute(
        select(col(Subscription.id), col(P.status), col(P.action))
        .outerjoin(P, P.id == Subscription.provisioning_id)  # type: ignore[arg-type]
        .where(Subscription.id.in_(ids))  # type: ignore[union-attr]
    ).all()
    return {sid: status == "completed" and action == "activate" for sid, status, action in rows}
