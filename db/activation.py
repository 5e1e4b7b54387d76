"""The ActivationService: a payment becomes a subscription and a queued router account.

Everything happens in one transaction: the payment (a reference activates at most once), the
subscription (new, or extended from its current expiry), and the client's router account row (one row
per router account, re-queued with the desired state "activate"). A refusal writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from db import logs, secrets
from db.catalog import Refused, get_client, get_package
from db.engine import immediate, session_scope
from db.models import Client, Package, Payment, RouterProvisioning, Subscription
from db.queue import queue_account
from db.shaping import add_validity, format_validity
from db.types import utcnow


class DuplicatePayment(Refused):
    """The payment reference was already applied; nothing was done a second time."""


@dataclass(frozen=True)
class Activation:
    """What an activation did."""

    client: str
    package: str
    subscription_id: int | None
    payment_id: int | None
    job_id: int
    expires_on: datetime | None
    renewed: bool


class ActivationService:
    """Activates clients on packages against one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def activate(
        self,
        client: str,
        package: str,
        payment_ref: str | None = None,
        create_subscription: bool = True,
        *,
        amount: Decimal | None = None,
        method: str | None = None,
        now: datetime | None = None,
    ) -> Activation:
        """Activate `client` (username) on `package` (name). Retries once on a lost race.

        A payment reference is trimmed and stored in capitals (as M-Pesa prints its receipts), so
        one typed in lower case is the same payment on every database; a blank one is no reference.
        """
        payment_ref = (payment_ref or "").strip().upper() or None
        for attempt in (1, 2):
            try:
                with session_scope(immediate(self.engine)) as session:
                    return _activate(
                        session,
                        client,
                        package,
                        payment_ref,
                        create_subscription,
                        amount,
                        method,
                        now or utcnow(),
                    )
            except IntegrityError:
                # Another process inserted the same payment reference or account row first.
                if payment_ref:
                    with session_scope(self.engine) as session:
                        _refuse_repeat_payment(session, payment_ref)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def _activate(
    session: Session,
    username: str,
    package_name: str,
    payment_ref: str | None,
    create_subscription: bool,
    amount: Decimal | None,
    method: str | None,
    now: datetime,
) -> Activation:
    client = get_client(session, username)
    package = get_package(session, package_name)
    _check_can_activate(client, package)
    if payment_ref:
        _refuse_repeat_payment(session, payment_ref)
    payment = (
        _record_payment(session, client, package, payment_ref, amount, method, now)
        if create_subscription or payment_ref
        else None
    )
    subscription, renewed = (
        _subscribe(session, client, package, payment, now) if create_subscription else (None, False)
    )
    account = _queue_account(session, client, package, subscription, now)
    if subscription is not None:
        subscription.provisioning_id = account.id
        session.add(subscription)
    return Activation(
        client=client.username,
        package=package.name,
        subscription_id=subscription.id if subscription else None,
        payment_id=payment.id if payment else None,
        job_id=int(account.id or 0),
        expires_on=subscription.expires_on if subscription else None,
        renewed=renewed,
    )


def _check_can_activate(client: Client, package: Package) -> None:
    if client.status != "active":
        raise Refused(
            f"client {client.username} is {client.status}; only active clients can be activated."
        )
    if package.router_id is None:
        raise Refused(f"package {package.name} has no router; set one before selling it.")


def _refuse_repeat_payment(session: Session, reference: str) -> None:
    earlier = session.scalars(select(Payment).where(Payment.reference == reference)).first()  # type: ignore[arg-type]
    if earlier is not None:
        client = session.get(Client, earlier.client_id)
        who = client.username if client else f"client {earlier.client_id}"
        raise DuplicatePayment(
            f"payment reference {reference} was already applied on "
            f"{earlier.transaction_date:%Y-%m-%d %H:%M} UTC to {who}; nothing was done again."
        )


def _record_payment(
    session: Session,
    client: Client,
    package: Package,
    reference: str | None,
    amount: Decimal | None,
    method: str | None,
    now: datetime,
) -> Payment:
    payment = Payment(
        client_id=client.id,  # type: ignore[arg-type]
        package_id=package.id,  # type: ignore[arg-type]
        amount=package.price if amount is None else amount,
        method=method or ("mpesa" if reference else "cash"),
        reference=reference,
        transaction_date=now,
    )
    session.add(payment)
    session.flush()  # a repeated reference fails here, inside the transaction
    logs.info(
        session,
        "Payment",
        f"Payment {payment.amount} ({payment.method}{' ' + reference if reference else ''}) "
        f"from {client.username} for {package.name}.",
        {"payment_id": payment.id, "reference": reference, "amount": str(payment.amount)},
        client_id=client.id,
    )
    return payment


def _subscribe(
    session: Session, client: Client, package: Package, payment: Payment | None, now: datetime
) -> tuple[Subscription, bool]:
    """Extend the active subscription on this package from its expiry, or start a new one."""
    current = session.scalars(
        select(Subscription)
        .where(Subscription.client_id == client.id)  # type: ignore[arg-type]
        .where(Subscription.router_id == package.router_id)  # type: ignore[arg-type]
        .where(Subscription.status == "active")  # type: ignore[arg-type]
        .order_by(Subscription.expires_on.desc())  # type: ignore[attr-defined]
    ).all()
    for old in current:
        if old.package_id == package.id and old.expires_on > now:
            _extend(session, old, client, package, payment)
            return old, True
        # Past its expiry (sweep not yet run) or another package on the same router account.
        old.status = "expired" if old.expires_on <= now else "cancelled"
        session.add(old)
        logs.info(
            session,
            "Subscription",
            f"Subscription {old.id} of {client.username} {old.status} "
            f"(replaced by {package.name}).",
            {"subscription_id": old.id},
            client_id=client.id,
        )
    subscription = Subscription(
        client_id=client.id,  # type: ignore[arg-type]
        package_id=package.id,  # type: ignore[arg-type]
        router_id=package.router_id,
        payment_id=payment.id if payment else None,
        start_date=now,
        expires_on=add_validity(now, package.duration_length, package.duration_unit),
        status="active",
    )
    session.add(subscription)
    session.flush()
    logs.info(
        session,
        "Subscription",
        f"Subscription {subscription.id}: {client.username} on {package.name} until "
        f"{subscription.expires_on:%Y-%m-%d %H:%M} UTC.",
        {"subscription_id": subscription.id, "package_id": package.id},
        client_id=client.id,
    )
    return subscription, False


def _extend(
    session: Session,
    subscription: Subscription,
    client: Client,
    package: Package,
    payment: Payment | None,
) -> None:
    """Renew an active subscription by one validity from its current expiry."""
    subscription.expires_on = add_validity(
        subscription.expires_on, package.duration_length, package.duration_unit
    )
    subscription.payment_id = payment.id if payment else subscription.payment_id
    session.add(subscription)
    session.flush()
    logs.info(
        session,
        "Subscription",
        f"Subscription {subscription.id} of {client.username} on {package.name} extended by "
        f"{format_validity(package.duration_length, package.duration_unit)} "
        f"to {subscription.expires_on:%Y-%m-%d %H:%M} UTC.",
        {"subscription_id": subscription.id},
        client_id=client.id,
    )


def _queue_account(
    session: Session,
    client: Client,
    package: Package,
    subscription: Subscription | None,
    now: datetime,
) -> RouterProvisioning:
    existing = session.scalars(
        select(RouterProvisioning)
        .where(RouterProvisioning.router_id == package.router_id)  # type: ignore[arg-type]
        .where(RouterProvisioning.router_username == client.username)  # type: ignore[arg-type]
    ).first()
    password = (
        None
        if existing and existing.router_password
        else secrets.encrypt(secrets.generate_password())
    )
    account = queue_account(
        session,
        router_id=package.router_id,  # type: ignore[arg-type]
        router_username=client.username,
        service_type=package.type,
        action="activate",
        router_profile=package.router_profile,
        router_password=password,
        client_id=client.id,
        package_id=package.id,
        subscription_id=subscription.id if subscription else None,
        now=now,
    )
    verb = "re-queued" if existing else "queued"
    logs.info(
        session,
        "Activation",
        f"Router account {client.username} {verb} for activation on {package.router_profile} "
        f"(job {account.id}).",
        {"job_id": account.id, "router_id": package.router_id, "profile": package.router_profile},
        client_id=client.id,
        provisioning_id=account.id,
    )
    return account
