"""M-Pesa payments as the console shows them: the pane's rows and the status bar's last hour.

A transaction's state is said in the operator's words: matched (it paid for a package or went to
credit), unmatched (an operator must assign it), pending (a push awaits the customer), received
(stored, being applied), cancelled (1032), timed out (1037) or failed. Beside it, the state of the
router job its activation queued.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.views.window import WINDOW, Row, Window, matching
from db.models import C, J, JobStatus, M, MpesaStatus, S

CANCELLED, TIMED_OUT = 1032, 1037
"""Daraja's result codes for a push the customer cancelled, and one the phone never answered."""
PAID = (MpesaStatus.RECEIVED, MpesaStatus.APPLIED, MpesaStatus.UNMATCHED)
"""States of a transaction in which the money has moved."""


def payment_state(status: str, result_code: int | None) -> str:
    """A transaction's state in the operator's words."""
    if status == MpesaStatus.APPLIED:
        return "matched"
    if status == MpesaStatus.FAILED:
        return {CANCELLED: "cancelled", TIMED_OUT: "timed out"}.get(result_code or -1, "failed")
    return str(status)


def job_word(status: str | None) -> str:
    """The activation's router job: waiting, processing, completed, failed, or '-' (none)."""
    if status is None:
        return "-"
    return "waiting" if status == JobStatus.PENDING else str(status)


def amount_text(amount: Decimal | None) -> str:
    """Shillings without cents when there are none: 1,500 or 99.50."""
    if amount is None:
        return "-"
    return f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"


def when_text(moment: datetime | None, now: datetime, zone: ZoneInfo) -> str:
    """A time in the operator's zone: 14:05 today, else 29 Nov 14:05 (the zone is in the header)."""
    if moment is None:
        return "-"
    local = moment.astimezone(zone)
    return (
        f"{local:%H:%M}" if local.date() == now.astimezone(zone).date() else f"{local:%d %b %H:%M}"
    )


def zone_name(now: datetime, zone: ZoneInfo) -> str:
    """The zone's abbreviation now (EAT)."""
    return now.astimezone(zone).strftime("%Z")


def _job_status():  # type: ignore[no-untyped-def]
    """The status of the router job of the subscription the transaction's payment bought."""
    return (
        select(J.c.status)
        .select_from(S.join(J, J.c.id == S.c.provisioning_id))
        .where(S.c.payment_id == M.c.payment_id)
        .order_by(S.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def payments(
    session: Session, now: datetime, zone: ZoneInfo, text: str = "", limit: int = WINDOW
) -> Window:
    """M-Pesa transactions, newest first, with their client and their activation's job."""
    query = select(
        M.c.id,
        M.c.kind,
        M.c.origin,
        M.c.status,
        M.c.result_code,
        M.c.receipt,
        M.c.msisdn,
        M.c.amount,
        M.c.bill_ref,
        M.c.transaction_time,
        M.c.created_at,
        C.c.username,
        _job_status().label("job_status"),
    ).select_from(M.outerjoin(C, C.c.id == M.c.client_id))
    where = matching(
        text, M.c.receipt, M.c.msisdn, M.c.bill_ref, M.c.status, M.c.kind, C.c.username
    )
    if where is not None:
        query = query.where(where)
    rows = [_row(r, now, zone) for r in session.execute(query.order_by(M.c.id.desc()).limit(limit))]
    total = len(rows)
    if total >= limit:
        counted = query.subquery() if where is not None else M
        total = int(session.execute(select(func.count()).select_from(counted)).scalar_one())
    return Window(rows, total)


def payment_source(kind: str, origin: str | None, bill_ref: str | None) -> str:
    """Where a payment came from, in a word: portal (a walk-in's push), STK (the operator's
    push), paybill (an account number typed) or till."""
    if kind == "stk":
        return "portal" if origin == "portal" else "STK"
    return "paybill" if bill_ref else "till"


def _row(r, now: datetime, zone: ZoneInfo) -> Row:  # type: ignore[no-untyped-def]
    state = payment_state(r.status, r.result_code)
    client = r.username or (f"({r.bill_ref})" if r.bill_ref else "-")
    return Row(
        key=str(r.id),
        cells=(
            str(r.id),
            when_text(r.transaction_time or r.created_at, now, zone),
            state,
            client,
            amount_text(r.amount),
            job_word(r.job_status),
            r.receipt or "-",
            payment_source(r.kind, r.origin, r.bill_ref),
            r.msisdn or "-",
        ),
        status=state,
    )


@dataclass(frozen=True)
class PaymentsHour:
    """Money in over the last hour: how many payments and their total in shillings."""

    count: int = 0
    total: Decimal = Decimal(0)


def last_hour(session: Session, now: datetime) -> PaymentsHour:
    """Payments whose money moved in the hour before `now` (matched, unmatched or being applied)."""
    since = now - timedelta(hours=1)
    moment = func.coalesce(M.c.transaction_time, M.c.created_at)
    query = select(func.count(), func.coalesce(func.sum(M.c.amount), 0)).where(
        M.c.status.in_([str(s) for s in PAID]),
        M.c.created_at >= since - timedelta(days=1),
        moment >= since,
        moment <= now,
    )
    count, total = session.execute(query).one()
    return PaymentsHour(int(count), Decimal(str(total)))
