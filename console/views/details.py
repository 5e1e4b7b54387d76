"""The details view: every field of a job, a subscription or a package, and their history.

Passwords never appear here; `reveal_password` is a separate call made only on the reveal key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from console.views.format import local
from console.views.panes import account_state
from db import secrets
from db.models import Client, Package, Payment, Router, RouterProvisioning, Subscription, SystemLog
from db.shaping import format_bytes, format_validity

HISTORY = 50
HIDDEN = "hidden"
"""A password field's value: the details screen says which key reveals it."""


@dataclass(frozen=True)
class Details:
    """A titled list of fields, an error shown verbatim, and log history, newest last."""

    title: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None
    history: list[str] = field(default_factory=list)
    job_id: int | None = None
    """The router account whose client password may be revealed."""
    payload: str | None = None
    """The raw payload as received (an M-Pesa transaction's), pretty JSON with secrets masked."""
    error_label: str = "Last error"
    """What the error is called (a payment's: why it is unmatched or not paid)."""


class NotFound(LookupError):
    """The row was deleted since the pane showed it."""


def _text(value: object) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _history(session: Session, zone: ZoneInfo, *clauses) -> list[str]:  # type: ignore[no-untyped-def]
    query = select(SystemLog).where(or_(*clauses)).order_by(SystemLog.id.desc()).limit(HISTORY)  # type: ignore[union-attr]
    logs = list(session.scalars(query))
    return [
        f"{local(log.created_at, zone)}  {log.level:<7} {log.type:<12} {log.message}"
        for log in reversed(logs)
    ]


def _router_name(session: Session, router_id: int | None) -> str:
    router = session.get(Router, router_id) if router_id else None
    return router.name if router else "-"


def job(session: Session, job_id: int, zone: ZoneInfo) -> Details:
    """A provisioning job's every field, its last error verbatim and its LogService history."""
    row = session.get(RouterProvisioning, job_id)
    if row is None:
        raise NotFound(f"job {job_id} no longer exists.")
    client = session.get(Client, row.client_id) if row.client_id else None
    fields = [
        ("Job", str(row.id)),
        ("Router", _router_name(session, row.router_id)),
        ("Account", row.router_username),
        ("Client", f"{client.full_name} ({client.username})" if client else "-"),
        ("Service", row.service_type),
        ("Action", row.action),
        ("Profile", _text(row.router_profile)),
        ("Status", row.status),
        ("Attempts", str(row.attempts)),
        ("Revision", str(row.revision)),
        ("Next attempt", local(row.next_attempt_at, zone)),
        ("Locked by", _text(row.locked_by)),
        ("Locked at", local(row.locked_at, zone)),
        ("Completed at", local(row.completed_at, zone)),
        ("Created", local(row.created_at, zone)),
        ("Updated", local(row.updated_at, zone)),
        ("Password", HIDDEN if row.router_password else "-"),
    ]
    history = _history(session, zone, SystemLog.provisioning_id == row.id)
    return Details(
        f"Job {row.id}: {row.router_username}",
        fields,
        row.last_error,
        history,
        row.id if row.router_password else None,
    )


def subscription(session: Session, subscription_id: int, zone: ZoneInfo) -> Details:
    """A subscription's client, payment and router account state, with the client's history."""
    sub = session.get(Subscription, subscription_id)
    if sub is None:
        raise NotFound(f"subscription {subscription_id} no longer exists.")
    client = session.get(Client, sub.client_id)
    package = session.get(Package, sub.package_id)
    payment = session.get(Payment, sub.payment_id) if sub.payment_id else None
    account = session.get(RouterProvisioning, sub.provisioning_id) if sub.provisioning_id else None
    fields = [
        ("Subscription", str(sub.id)),
        ("Client", f"{client.full_name} ({client.username})" if client else "-"),
        ("Phone", _text(client.phone if client else None)),
        ("Email", _text(client.email if client else None)),
        ("Client status", _text(client.status if client else None)),
        ("Package", package.name if package else "-"),
        ("Router", _router_name(session, sub.router_id)),
        ("Status", sub.status),
        ("Started", local(sub.start_date, zone)),
        ("Expires", local(sub.expires_on, zone)),
        ("Payment", _payment(payment, zone)),
        ("Router account", _account(sub.status, account)),
        ("Password", HIDDEN if account and account.router_password else "-"),
    ]
    history = _history(session, zone, SystemLog.client_id == sub.client_id)
    return Details(
        f"Subscription {sub.id}: {client.username if client else sub.client_id}",
        fields,
        account.last_error if account else None,
        history,
        account.id if account and account.router_password else None,
    )


def _payment(payment: Payment | None, zone: ZoneInfo) -> str:
    if payment is None:
        return "-"
    ref = f" ref {payment.reference}" if payment.reference else ""
    return f"{payment.amount:,.2f} {payment.method}{ref}, {payment.status}, {local(payment.transaction_date, zone)}"


def _account(sub_status: str, account: RouterProvisioning | None) -> str:
    if account is None:
        return "not queued"
    state = account_state(sub_status, account.status, account.action)
    return (
        f"{state} (job {account.id}: {account.action}, {account.status}, {account.attempts} tries)"
    )


def package(session: Session, name: str, zone: ZoneInfo) -> Details:
    """A package's every shaping field and the exact rate-limit string sent to the router."""
    row = session.scalars(select(Package).where(Package.name == name)).first()  # type: ignore[arg-type]
    if row is None:
        raise NotFound(f"package {name} no longer exists.")
    fields = [
        ("Package", row.name),
        ("Type", row.type),
        ("Account type", row.account_type),
        ("Price", f"{row.price:,.2f}"),
        ("Validity", format_validity(row.duration_length, row.duration_unit)),
        ("Router", _router_name(session, row.router_id)),
        ("Router profile", row.router_profile),
        ("Rate limit", f"{row.rate_limit}   (rx/tx = client upload/download)"),
        ("Burst", "yes" if row.burst_enabled else "no"),
        ("Devices", _text(row.hotspot_device_limit)),
        ("Data limit", format_bytes(row.hotspot_data_limit) if row.hotspot_data_limit else "-"),
        ("Created", local(row.created_at, zone)),
    ]
    return Details(f"Package {row.name}", fields)


def reveal_password(session: Session, job_id: int) -> str:
    """The client's router login password, decrypted (only on the operator's explicit request)."""
    row = session.get(RouterProvisioning, job_id)
    if row is None or not row.router_password:
        raise NotFound(f"job {job_id} holds no password.")
    return secrets.decrypt(row.router_password)
