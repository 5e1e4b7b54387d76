"""M-Pesa payments and voucher logins as the console shows them: the pane's rows and the status
bar's last hour.

A transaction's state is said in the operator's words: matched (it paid for a package or went to
credit), unmatched (an operator must assign it), pending (a push awaits the customer), received
(stored, being applied), cancelled (1032), timed out (1037) or failed. Beside it, the state of the
router job its activation queued.

A hotspot voucher shows from its first login, as a row of source "voucher": used (or revoked), the
client of its code's name, its batch's price, its router account's job and its code as receipt.
Its key is "v" and its id, so it never meets a transaction's. The last hour counts M-Pesa money
only.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import FromClause
from sqlalchemy.sql.schema import Table

from console.views.format import amount_text
from console.views.matching import matching
from console.views.window import WINDOW, Row, Window
from db.models import C, J, JobStatus, M, MpesaStatus, Payment, S, Voucher, VoucherBatch

CANCELLED, TIMED_OUT = 1032, 1037
"""Daraja's result codes for a push the customer cancelled, and one the phone never answered."""
PAID = (MpesaStatus.RECEIVED, MpesaStatus.APPLIED, MpesaStatus.UNMATCHED)
"""States of a transaction in which the money has moved."""
VOUCHER = "voucher"
"""The source of a voucher's row, and a word its filter matches."""
RECEIPT = 6
"""The receipt cell: a transaction's M-Pesa receipt, a voucher's code."""
V: Table = Voucher.__table__  # type: ignore[attr-defined]
B: Table = VoucherBatch.__table__  # type: ignore[attr-defined]
PAY: Table = Payment.__table__  # type: ignore[attr-defined]


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


def when_text(moment: datetime | None, now: datetime, zone: ZoneInfo) -> str:
    """A time in the operator's zone: 14:05 today, else 29 Nov 14:05 (the zone is in the header)."""
    if moment is None:
        return "-"
    local = moment.astimezone(zone)
    return (
        f"{local:%H:%M}" if local.date() == now.astimezone(zone).date() else f"{local:%d %b %H:%M}"
    )


def _job_status():  # type: ignore[no-untyped-def]
    """The status of the router job of the subscription the transaction's payment bought (or
    renewed: a subscription names only the last payment that extended it)."""
    return (
        select(J.c.status)
        .select_from(
            PAY.join(S, S.c.id == PAY.c.subscription_id).join(J, J.c.id == S.c.provisioning_id)
        )
        .where(PAY.c.id == M.c.payment_id)
        .limit(1)
        .scalar_subquery()
    )


def payments(
    session: Session, now: datetime, zone: ZoneInfo, text: str = "", limit: int = WINDOW
) -> Window:
    """M-Pesa transactions and used vouchers, newest first, with their client and router job."""
    mpesa, mpesa_total = _transactions(session, now, zone, text, limit)
    used, used_total = _vouchers(session, now, zone, text, limit)
    merged = heapq.merge(mpesa, used, key=lambda timed: timed[0], reverse=True)
    rows = [row for _, row in merged][:limit]
    return Window(rows, mpesa_total + used_total)


def voucher_id(key: str) -> int | None:
    """The voucher a payments row's key names ("v12": 12), or None for an M-Pesa transaction."""
    return int(key[1:]) if key.startswith("v") and key[1:].isdigit() else None


def voucher_code(row: Row) -> str | None:
    """The code of a voucher's row (its receipt cell), or None for an M-Pesa transaction's."""
    return row.cells[RECEIPT] if voucher_id(row.key) is not None else None


Timed = tuple[datetime, Row]
"""A row and the moment it is ordered by."""


def _total(session: Session, query, shown: int, limit: int) -> int:  # type: ignore[no-untyped-def]
    """How many rows `query` matches: those shown, unless the window is full."""
    if shown < limit:
        return shown
    return int(session.execute(select(func.count()).select_from(query.subquery())).scalar_one())


def _transactions(
    session: Session, now: datetime, zone: ZoneInfo, text: str, limit: int
) -> tuple[list[Timed], int]:
    """M-Pesa transactions, newest first (by id), each with its moment, and how many match."""
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
    if where is None:
        counted = select(M.c.id)
    else:
        query = query.where(where)
        counted = query
    found = session.execute(query.order_by(M.c.id.desc()).limit(limit)).all()
    rows = [(r.transaction_time or r.created_at, _row(r, now, zone)) for r in found]
    return rows, _total(session, counted, len(rows), limit)


def _vouchers(
    session: Session, now: datetime, zone: ZoneInfo, text: str, limit: int
) -> tuple[list[Timed], int]:
    """Vouchers logged in at least once, newest first login first, and how many match.

    Unfiltered, the window's ids are read alone, backwards along the index on the first login,
    and only they are joined to their batch, client and router account (by primary key): the
    window costs the same beside a hundred thousand codes, whatever order a planner would join
    in. A filter reads every used voucher, as the transactions' filter reads every transaction.
    """
    used = V.c.first_login_at.is_not(None)
    newest = (V.c.first_login_at.desc(), V.c.id.desc())
    # A word of "voucher" holds for every voucher: only the other words filter them.
    words = [w for w in text.split() if w.lower().replace("%", "").replace("_", "") not in VOUCHER]
    where = matching(" ".join(words), V.c.code, B.c.name, C.c.username)
    base: FromClause = V
    if where is None:
        window = select(V.c.id).where(used).order_by(*newest).limit(limit).subquery("newest")
        base = window.join(V, V.c.id == window.c.id)
        counted = select(V.c.id).where(used)
    joined = (
        base.join(B, B.c.id == V.c.batch_id)
        .outerjoin(C, C.c.id == V.c.client_id)
        .outerjoin(J, J.c.id == V.c.provisioning_id)
    )
    query = select(
        V.c.id,
        V.c.code,
        V.c.first_login_at,
        V.c.revoked_at,
        B.c.price,
        C.c.username,
        J.c.status.label("job_status"),
    ).select_from(joined)
    if where is not None:
        query = query.where(used, where)
        counted = query
    found = session.execute(query.order_by(*newest).limit(limit)).all()
    rows = [(r.first_login_at, _voucher_row(r, now, zone)) for r in found]
    return rows, _total(session, counted, len(rows), limit)


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


def _voucher_row(r, now: datetime, zone: ZoneInfo) -> Row:  # type: ignore[no-untyped-def]
    state = "revoked" if r.revoked_at is not None else "used"
    return Row(
        key=f"v{r.id}",
        cells=(
            f"v{r.id}",
            when_text(r.first_login_at, now, zone),
            state,
            r.username or r.code,
            amount_text(r.price),
            job_word(r.job_status),
            r.code,
            VOUCHER,
            "-",
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
