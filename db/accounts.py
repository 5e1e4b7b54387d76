"""Which router accounts a client's money pays for, and withdrawing the ones it no longer does.

A client's active subscriptions name the accounts they pay for: one per (router, service) of their
packages, under the client's username. Any other account of the client that is still meant to be
enabled is withdrawn (disabled or removed, as expiry does) in the caller's transaction, so a move to
another service, router or package never leaves an old login alive.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select
from sqlmodel import Session, col

from db import logs, secrets
from db.models import (
    Action,
    Client,
    Package,
    RouterProvisioning,
    Subscription,
    SubscriptionStatus,
)
from db.queue import URGENT, queue_account, requeue_accounts

_LOCK_CLIENT = select(col(Client.id)).where(col(Client.id) == bindparam("id")).with_for_update()
_PAID = (
    select(col(Package.router_id), col(Package.type))
    .join(Subscription, col(Subscription.package_id) == col(Package.id))
    .where(
        col(Subscription.client_id) == bindparam("client_id"),
        col(Subscription.status) == SubscriptionStatus.ACTIVE,
    )
)
_ENABLED = (
    select(RouterProvisioning)
    .where(
        col(RouterProvisioning.client_id) == bindparam("client_id"),
        col(RouterProvisioning.action) == Action.ACTIVATE,
    )
    .order_by(col(RouterProvisioning.id))
)
# Statements built once: each payment runs them.


def lock_client(session: Session, client_id: int) -> None:
    """Take the client's row for this transaction: one payment, expiry or start at a time per client.

    Two payments of one client arriving together (M-Pesa callbacks racing) would otherwise both see
    no running subscription and start two side by side. SQLite's BEGIN IMMEDIATE already serialises
    writers; PostgreSQL and MariaDB lock the row.
    """
    session.execute(_LOCK_CLIENT, {"id": client_id})


def paid_accounts(session: Session, client_id: int) -> set[tuple[int, str]]:
    """(router_id, service) of every account the client's active subscriptions pay for."""
    rows = session.execute(_PAID, {"client_id": client_id}).all()
    return {(router_id, service) for router_id, service in rows if router_id is not None}


def client_accounts(session: Session, client_id: int) -> list[RouterProvisioning]:
    """The client's router accounts that are meant to be enabled, oldest first."""
    return list(session.scalars(_ENABLED, {"client_id": client_id}))


def withdraw_unpaid(
    session: Session,
    client_id: int,
    *,
    action: str,
    now: datetime,
    reason: str,
    priority: int = URGENT,
) -> list[int]:
    """Queue `action` for each enabled account of the client that no active subscription pays for.

    Returns the ids of the account rows queued (at `priority`: BULK for the expiry sweep).
    """
    paid = paid_accounts(session, client_id)
    unpaid = [
        account
        for account in client_accounts(session, client_id)
        if (account.router_id, account.service_type) not in paid
    ]
    withdrawn = requeue_accounts(session, unpaid, action=action, now=now, priority=priority)
    for account in unpaid:
        logs.info(
            session,
            "Subscription",
            f"Router account {account.router_username} ({account.service_type}) queued to "
            f"{action}: {reason}.",
            {"job_id": account.id, "action": action},
            client_id=client_id,
            provisioning_id=account.id,
        )
    return withdrawn


def queue_client_account(
    session: Session,
    client: Client,
    package: Package,
    subscription: Subscription | None,
    *,
    now: datetime,
    adopt: bool | None = None,
) -> RouterProvisioning:
    """Queue the client's account for `package` (router, service, username) to be activated.

    A new account gets a generated password; an existing one keeps its own. The subscription, if
    given, is linked to the account so that its delivery can be recorded.
    """
    account = queue_account(
        session,
        router_id=package.router_id,  # type: ignore[arg-type]
        router_username=client.username,
        service_type=package.type,
        action=Action.ACTIVATE,
        router_profile=package.router_profile,
        new_password=lambda: secrets.encrypt(secrets.generate_password()),
        client_id=client.id,
        package_id=package.id,
        subscription_id=subscription.id if subscription else None,
        adopt=adopt,
        now=now,
    )
    if subscription is not None:
        subscription.provisioning_id = account.id
        session.add(subscription)
    logs.info(
        session,
        "Activation",
        queued_text(client.username, package, int(account.id or 0), account.revision, adopt),
        {"job_id": account.id, "router_id": package.router_id, "profile": package.router_profile},
        client_id=client.id,
        provisioning_id=account.id,
    )
    return account


def queued_text(
    username: str, package: Package, job_id: int, revision: int, adopt: bool | None
) -> str:
    """The log text of a client's router account queued for activation."""
    verb = "queued" if revision == 1 else "re-queued"
    adopted = "; it may take over an existing router account of that name" if adopt else ""
    return (
        f"Router account {username} ({package.type}) {verb} for activation on "
        f"{package.router_profile} (job {job_id}){adopted}."
    )
