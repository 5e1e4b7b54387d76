"""Suspending a client: their router accounts disabled and their paid time kept for later.

A suspension stops the clock of each running subscription (`paused_at`): the expiry sweep passes it
by, and what was left is left. Resuming moves each stopped expiry forward by the time it stood
(`paused_seconds` adds it up, so bought time = expiry - start - paused time) and queues the
accounts to be enabled again. A subscription whose clock still waits for its first delivery needs
no move: its clock starts when the account reaches the router. Both happen in the caller's
transaction, with the client's row locked as payments and expiry lock it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session, col

from db import logs
from db.accounts import client_accounts, lock_client, queue_client_account
from db.catalog import Refused, get_client
from db.models import (
    Action,
    Client,
    ClientStatus,
    Package,
    Subscription,
    SubscriptionStatus,
)
from db.queue import requeue_accounts


@dataclass(frozen=True)
class Suspension:
    """What a suspend or resume did."""

    client: Client
    subscriptions: list[int]
    """The subscriptions whose clock stopped (suspend) or runs again (resume)."""
    accounts: list[int]
    """The router accounts queued to be disabled (suspend) or enabled (resume)."""
    stood: timedelta = timedelta()
    """Resume: how long the clocks stood still, by which the expiries moved."""


def _subscriptions(session: Session, client_id: int, *statuses: str) -> list[Subscription]:
    return list(
        session.scalars(
            select(Subscription)
            .where(
                col(Subscription.client_id) == client_id,
                col(Subscription.status).in_(statuses),
            )
            .order_by(col(Subscription.id))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


def _locked(session: Session, username: str) -> Client:
    client = get_client(session, username)
    lock_client(session, int(client.id or 0))
    session.refresh(client)
    return client


def suspend_client(session: Session, username: str, *, now: datetime) -> Suspension:
    """Disable the client's router accounts and stop the clock of their running subscriptions."""
    client = _locked(session, username)
    if client.status == ClientStatus.SUSPENDED:
        raise Refused(f"client {client.username} is already suspended.")
    if client.status != ClientStatus.ACTIVE:
        raise Refused(
            f"client {client.username} is {client.status}; only an active client can be suspended."
        )
    stopped = []
    for subscription in _subscriptions(session, int(client.id or 0), SubscriptionStatus.ACTIVE):
        if subscription.expires_on <= now and not subscription.clock_waiting:
            continue  # already over: the sweep expires it as it would have
        subscription.paused_at = now
        session.add(subscription)
        stopped.append(int(subscription.id or 0))
    disabled = requeue_accounts(
        session, client_accounts(session, int(client.id or 0)), action=Action.DEACTIVATE, now=now
    )
    client.status = ClientStatus.SUSPENDED
    session.add(client)
    session.flush()
    logs.info(
        session,
        "Subscription",
        f"Client {client.username} suspended: {len(stopped)} subscription clock(s) stopped, "
        f"{len(disabled)} router account(s) queued to be disabled.",
        {"subscriptions": stopped, "accounts": disabled},
        client_id=client.id,
    )
    return Suspension(client, stopped, disabled)


def resume_client(session: Session, username: str, *, now: datetime) -> Suspension:
    """Move the stopped expiries forward by the time they stood and enable the accounts again."""
    client = _locked(session, username)
    if client.status != ClientStatus.SUSPENDED:
        raise Refused(f"client {client.username} is {client.status}, not suspended.")
    running = _subscriptions(session, int(client.id or 0), SubscriptionStatus.ACTIVE)
    longest = timedelta()
    resumed = []
    for subscription in running:
        if subscription.paused_at is None:
            continue
        if not subscription.clock_waiting:
            stood = timedelta(
                seconds=round(max(now - subscription.paused_at, timedelta()).total_seconds())
            )
            subscription.expires_on += stood
            subscription.paused_seconds = (subscription.paused_seconds or 0) + int(
                stood.total_seconds()
            )
            longest = max(longest, stood)
        subscription.paused_at = None
        session.add(subscription)
        resumed.append(int(subscription.id or 0))
    # What was bought to follow starts that much later too (its length is kept).
    for later in _subscriptions(session, int(client.id or 0), SubscriptionStatus.SCHEDULED):
        later.start_date += longest
        later.expires_on += longest
        session.add(later)
    client.status = ClientStatus.ACTIVE
    session.add(client)
    session.flush()
    enabled = []
    for subscription in running:
        package = session.get(Package, subscription.package_id)
        if package is None or package.router_id is None:
            continue
        if subscription.expires_on <= now and not subscription.clock_waiting:
            continue  # over before the suspension: the sweep expires it
        account = queue_client_account(session, client, package, subscription, now=now)
        enabled.append(int(account.id or 0))
    logs.info(
        session,
        "Subscription",
        f"Client {client.username} resumed: {len(resumed)} subscription(s) run again, their "
        f"expiry moved by the {int(longest.total_seconds())} s they stood; "
        f"{len(enabled)} router account(s) queued to be enabled.",
        {
            "subscriptions": resumed,
            "accounts": enabled,
            "stood_seconds": int(longest.total_seconds()),
        },
        client_id=client.id,
    )
    return Suspension(client, resumed, enabled, longest)
