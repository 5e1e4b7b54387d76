"""A client's ledger: what they paid, what it bought, what credit is left, and their router accounts.

Read-only; the CLI (`wisp client show`) and the console show it. Passwords stay encrypted unless the
caller asks for them (the technician telling a new PPPoE customer their login).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from db import secrets
from db.catalog import get_client
from db.models import (
    Action,
    Client,
    JobStatus,
    Package,
    Payment,
    Router,
    RouterProvisioning,
    Subscription,
)
from db.reports import clock


@dataclass(frozen=True)
class Ledger:
    """Everything money and access for one client, newest first."""

    client: dict[str, Any]
    credit: Decimal
    payments: list[dict[str, Any]]
    subscriptions: list[dict[str, Any]]
    accounts: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "credit": self.credit,
            "payments": self.payments,
            "subscriptions": self.subscriptions,
            "accounts": self.accounts,
        }


def client_ledger(session: Session, username: str, *, show_password: bool = False) -> Ledger:
    """The ledger of the client with this username (Refused when there is none)."""
    client = get_client(session, username)
    packages = {p.id: p for p in session.scalars(select(Package))}
    routers = dict(session.execute(select(col(Router.id), col(Router.name))).all())

    def package_name(package_id: int | None) -> str | None:
        package = packages.get(package_id)
        return package.name if package else None

    paid = session.scalars(
        select(Payment)
        .where(col(Payment.client_id) == client.id)
        .order_by(col(Payment.transaction_date).desc(), col(Payment.id).desc())
    ).all()
    bought: dict[int, int] = {}
    for p in paid:
        if p.subscription_id is not None:
            bought[p.subscription_id] = bought.get(p.subscription_id, 0) + (p.granted_seconds or 0)
    payments = [
        {
            "id": p.id,
            "date": p.transaction_date,
            "amount": str(p.amount),
            "method": p.method,
            "reference": p.reference,
            "package": package_name(p.package_id),
            "status": p.status,
            "subscription": p.subscription_id,
            "time_bought": p.granted_seconds,
        }
        for p in paid
    ]
    subscriptions = [
        {
            "id": s.id,
            "package": package_name(s.package_id),
            "router": routers.get(s.router_id),
            "status": s.status,
            "start": s.start_date,
            "expires": s.expires_on,
            "clock": clock(s),
            "delivered_at": s.delivered_at,
            "paused_at": s.paused_at,
            "paused_seconds": s.paused_seconds or 0,
            "time_bought": bought.get(s.id or 0),
        }
        for s in session.scalars(
            select(Subscription)
            .where(col(Subscription.client_id) == client.id)
            .order_by(col(Subscription.id).desc())
        )
    ]
    accounts = [
        _account(a, routers, show_password)
        for a in session.scalars(
            select(RouterProvisioning)
            .where(col(RouterProvisioning.client_id) == client.id)
            .order_by(col(RouterProvisioning.id))
        )
    ]
    return Ledger(
        client=client_fields(client),
        credit=(client.credit or Decimal("0")).quantize(Decimal("0.01")),
        payments=payments,
        subscriptions=subscriptions,
        accounts=accounts,
    )


def _account(
    account: RouterProvisioning, routers: dict[int, str], show_password: bool
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "job": account.id,
        "router": routers.get(account.router_id),
        "service": account.service_type,
        "username": account.router_username,
        "profile": account.router_profile,
        "wanted": "enabled" if account.action == Action.ACTIVATE else account.action + "d",
        "status": account.status,
        "on_router_since": account.completed_at if account.status == JobStatus.COMPLETED else None,
        "last_error": account.last_error,
    }
    if show_password:
        row["password"] = (
            secrets.decrypt(account.router_password) if account.router_password else None
        )
    return row


def client_fields(client: Client) -> dict[str, Any]:
    """Who a client is, under the names the console and the CLI show."""
    return {
        "username": client.username,
        "full_name": client.full_name,
        "phone": client.phone,
        "email": client.email,
        "account_type": client.account_type,
        "status": client.status,
    }
