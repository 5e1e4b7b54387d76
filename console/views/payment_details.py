"""The details of one M-Pesa transaction: its parsed fields, its raw payload and its history; and
of one used voucher, the payments pane's other kind of row: its batch, package, router, first login,
subscription, state and router job.

The payload is shown as Daraja sent it, pretty-printed, except for anything secret: it is scrubbed
as the LogService scrubs a log's context (values under a name that holds a password, a secret, a
token or a credential, and any secret this process knows, such as the Daraja credentials and the
callback token, wherever it appears).
"""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_
from sqlalchemy.orm import Session

from console.views.details import Details, NotFound, _history, _router_name, _text
from console.views.format import amount_text, local
from console.views.payments import payment_state
from db.logs import scrub
from db.models import (
    Client,
    MpesaStatus,
    MpesaTransaction,
    Package,
    Payment,
    RouterProvisioning,
    Subscription,
    SystemLog,
    Voucher,
    VoucherBatch,
)
from db.vouchers import voucher_state


def payload_text(raw: dict[str, Any] | None) -> str:
    """The raw payload as pretty JSON, secrets masked."""
    if not raw:
        return "no payload stored"
    return json.dumps(scrub(raw), indent=2, ensure_ascii=False, default=str)


def payment(session: Session, transaction_id: int, zone: ZoneInfo) -> Details:
    """An M-Pesa transaction's parsed fields, raw payload, router job and history."""
    row = session.get(MpesaTransaction, transaction_id)
    if row is None:
        raise NotFound(f"M-Pesa transaction {transaction_id} no longer exists.")
    client = session.get(Client, row.client_id) if row.client_id else None
    package = session.get(Package, row.package_id) if row.package_id else None
    job = _job(session, row.payment_id)
    fields = [
        ("Transaction", str(row.id)),
        ("Kind", "STK Push" if row.kind == "stk" else "C2B (paybill or till)"),
        ("State", payment_state(row.status, row.result_code)),
        ("Time", local(row.transaction_time or row.created_at, zone)),
        ("Amount", f"KES {amount_text(row.amount)}"),
        ("Receipt", _text(row.receipt)),
        ("Phone", _text(row.msisdn)),
        ("Payer", _text(row.payer_name)),
        ("Account number", _text(row.bill_ref)),
        ("Client", f"{client.full_name} ({client.username})" if client else "-"),
        ("Package", package.name if package else "-"),
        ("Payment", _payment(session, row.payment_id)),
        ("Router job", _job_text(job)),
        ("CheckoutRequestID", _text(row.checkout_request_id)),
        ("Result", _result(row)),
        ("Shortcode", _text(row.shortcode)),
        ("Source", f"{row.source}, delivered {row.deliveries} time(s)"),
        ("Stored", local(row.created_at, zone)),
        ("Applied", local(row.applied_at, zone)),
    ]
    return Details(
        f"M-Pesa transaction {row.id}: {row.receipt or row.checkout_request_id or row.kind}",
        fields,
        row.note if row.status in (MpesaStatus.UNMATCHED, MpesaStatus.FAILED) else None,
        _history(session, zone, *_mentions(row)),
        payload=payload_text(row.raw),
        error_label="Why unmatched" if row.status == MpesaStatus.UNMATCHED else "Why not paid",
    )


def voucher(session: Session, voucher_id: int, zone: ZoneInfo) -> Details:
    """A used voucher: its code, batch, package, router, first login, subscription and router job."""
    row = session.get(Voucher, voucher_id)
    if row is None:
        raise NotFound(f"voucher {voucher_id} no longer exists.")
    batch = session.get(VoucherBatch, row.batch_id)
    package = session.get(Package, batch.package_id) if batch else None
    client = session.get(Client, row.client_id) if row.client_id else None
    sub = session.get(Subscription, row.subscription_id) if row.subscription_id else None
    job = session.get(RouterProvisioning, row.provisioning_id) if row.provisioning_id else None
    fields = [
        ("Voucher", row.code),
        ("Batch", batch.name if batch else "-"),
        ("Price", f"KES {amount_text(batch.price)}" if batch else "-"),
        ("Package", package.name if package else "-"),
        ("Router", _router_name(session, row.router_id)),
        ("First login", local(row.first_login_at, zone)),
        ("Client", f"{client.full_name} ({client.username})" if client else "-"),
        ("Subscription", f"{sub.id}, {sub.status}" if sub else "-"),
        ("Subscription end", local(sub.expires_on, zone) if sub else "-"),
        ("State", str(voucher_state(session, row))),  # type: ignore[arg-type]
        ("Revoked", local(row.revoked_at, zone)),
        ("Router job", _job_text(job)),
    ]
    mentions = [SystemLog.message.like(f"%{row.code}%")]  # type: ignore[attr-defined]
    if row.provisioning_id is not None:
        mentions.append(SystemLog.provisioning_id == row.provisioning_id)
    return Details(
        f"Voucher {row.code}" + (f" ({batch.name})" if batch else ""),
        fields,
        job.last_error if job is not None and job.status == "failed" else None,
        _history(session, zone, *mentions),
    )


def _mentions(row: MpesaTransaction) -> list[Any]:
    """Log lines about this transaction: by its id, its receipt or its CheckoutRequestID."""
    message = SystemLog.message
    clauses = [
        message.like(f"%transaction {row.id} %"),  # type: ignore[attr-defined]
        message.like(f"%transaction {row.id}:%"),  # type: ignore[attr-defined]
    ]
    for reference in (row.receipt, row.checkout_request_id):
        if reference:
            clauses.append(message.like(f"%{reference}%"))  # type: ignore[attr-defined]
    return [or_(*clauses)]


def _job(session: Session, payment_id: int | None) -> RouterProvisioning | None:
    """The router job of the subscription the payment bought or renewed."""
    payment = session.get(Payment, payment_id) if payment_id else None
    sub = session.get(Subscription, payment.subscription_id) if payment else None
    if sub is None or sub.provisioning_id is None:
        return None
    return session.get(RouterProvisioning, sub.provisioning_id)


def _job_text(job: RouterProvisioning | None) -> str:
    if job is None:
        return "-"
    error = f": {job.last_error}" if job.last_error and job.status == "failed" else ""
    return f"job {job.id} {job.status} ({job.action} {job.router_username}){error}"


def _payment(session: Session, payment_id: int | None) -> str:
    found = session.get(Payment, payment_id) if payment_id else None
    if found is None:
        return "-"
    return f"{found.id}: {found.amount:,.2f} {found.method}, {found.status}"


def _result(row: MpesaTransaction) -> str:
    if row.result_code is None:
        return "-"
    return f"{row.result_code}: {row.result_desc or ''}".rstrip(": ")
