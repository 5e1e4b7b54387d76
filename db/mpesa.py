"""M-Pesa payments: store first, match, apply once.

Every push we make and every transaction Daraja tells us of (a callback, a query's answer, a
pulled statement line) is a row of `mpesa_transactions`, committed before the sender is answered.
Applying a row is a separate step: it finds the client and package (the push's, or for C2B the
account number and the amount) and calls the ActivationService with the row's payment reference,
so a callback delivered five times, concurrently or replayed a week later, activates once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, col

from db import logs, plain_payments, portal
from db.activation import ActivationService, DuplicatePayment, PackageChange
from db.catalog import Refused
from db.config import Settings
from db.engine import is_deadlock, session_scope
from db.errors import UserError
from db.models import (
    Client,
    M,
    MpesaStatus,
    MpesaTransaction,
    Package,
    Payment,
    Subscription,
)
from db.secrets import remember
from db.types import utcnow
from db.validation import check_values

logger = logging.getLogger("wisp.mpesa")

NAIROBI = ZoneInfo("Africa/Nairobi")
STK, C2B = "stk", "c2b"
SECRET_NAMES = {
    "consumer_key": "WISP_MPESA_CONSUMER_KEY",
    "consumer_secret": "WISP_MPESA_CONSUMER_SECRET",
    "passkey": "WISP_MPESA_PASSKEY",
    "callback_token": "WISP_MPESA_CALLBACK_TOKEN",
}


class Invalid(UserError):
    """A payload that is not what Daraja sends, or not for us; nothing was stored."""


class UnknownPush(Invalid):
    """An STK result for a CheckoutRequestID we never pushed."""


# -- secrets ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MpesaSecrets:
    consumer_key: str
    consumer_secret: str
    passkey: str
    callback_token: str

    def missing(self, *names: str) -> list[str]:
        return [SECRET_NAMES[n] for n in names if not getattr(self, n)]


def mpesa_secrets() -> MpesaSecrets:
    """The Daraja credentials and the callback token, from the environment (or `.env`) only.

    Each is remembered as a secret, so that no log line shows it.
    """
    values = {name: os.environ.get(env, "").strip() for name, env in SECRET_NAMES.items()}
    for value in values.values():
        remember(value)
    return MpesaSecrets(**values)


# -- parsing ---------------------------------------------------------------------------------------


def normalise_msisdn(raw: Any) -> str | None:
    """A Kenyan mobile number as +2547XXXXXXXX (or +2541XXXXXXXX); None when it is not one."""
    digits = re.sub(r"[\s\-()+]", "", str(raw or ""))
    if not digits.isdigit():
        return None
    if digits.startswith("0") and len(digits) == 10:
        digits = "254" + digits[1:]
    elif len(digits) == 9 and digits[0] in "17":
        digits = "254" + digits
    if len(digits) == 12 and digits.startswith("254") and digits[3] in "17":
        return "+" + digits
    return None


def daraja_phone(msisdn: str) -> str:
    """+2547XXXXXXXX as Daraja writes it: 2547XXXXXXXX."""
    return msisdn.lstrip("+")


def nairobi_time(value: Any) -> datetime | None:
    """Daraja's YYYYMMDDHHmmss (Nairobi time) as UTC; None when absent or not a time."""
    text = str(value or "").strip()
    try:
        return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=NAIROBI).astimezone(UTC)
    except ValueError:
        return None


def _money(value: Any, what: str) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise Invalid(f"{what} {value!r} is not an amount.") from None
    if not amount.is_finite() or amount <= 0 or amount > Decimal("10000000"):
        raise Invalid(f"{what} {value!r} is not an amount M-Pesa pays.")
    return amount.quantize(Decimal("0.01"))


def _text(value: Any, what: str, limit: int, *, required: bool = True) -> str:
    if value is None or isinstance(value, dict | list | bool):
        if required or value is not None:
            raise Invalid(f"{what} is missing or not text.")
        return ""
    text = str(value).strip()
    if (required and not text) or len(text) > limit or not text.isprintable():
        raise Invalid(f"{what} {text[:40]!r} is not valid.")
    return text


RECEIPT = re.compile(r"[A-Z0-9]{8,20}")


def _receipt(value: Any) -> str:
    text = _text(value, "the receipt", 32).upper()
    if not RECEIPT.fullmatch(text):
        raise Invalid(f"the receipt {text!r} is not an M-Pesa receipt.")
    return text


@dataclass(frozen=True)
class StkResult:
    """The result of an STK Push, from its callback or a query."""

    checkout_request_id: str
    merchant_request_id: str
    result_code: int
    result_desc: str
    amount: Decimal | None = None
    receipt: str | None = None
    msisdn: str | None = None
    transaction_time: datetime | None = None

    @property
    def paid(self) -> bool:
        return self.result_code == 0


def parse_stk_callback(payload: Any) -> StkResult:
    """Body.stkCallback as Daraja posts it; `Invalid` for anything else."""
    try:
        callback = payload["Body"]["stkCallback"]
    except (TypeError, KeyError):
        raise Invalid("not an STK callback: Body.stkCallback is missing.") from None
    if not isinstance(callback, dict):
        raise Invalid("not an STK callback: Body.stkCallback is not an object.")
    code = callback.get("ResultCode")
    if isinstance(code, bool) or not isinstance(code, int | str) or not str(code).isdigit():
        raise Invalid(f"ResultCode {code!r} is not a number.")
    result = StkResult(
        checkout_request_id=_text(callback.get("CheckoutRequestID"), "CheckoutRequestID", 64),
        merchant_request_id=_text(
            callback.get("MerchantRequestID"), "MerchantRequestID", 64, required=False
        ),
        result_code=int(code),
        result_desc=_text(callback.get("ResultDesc"), "ResultDesc", 500, required=False),
    )
    if result.result_code != 0:
        return result
    try:
        items = callback["CallbackMetadata"]["Item"]
        meta = {str(i["Name"]): i.get("Value") for i in items}
    except (TypeError, KeyError):
        raise Invalid("a successful STK callback without CallbackMetadata.Item.") from None
    msisdn = normalise_msisdn(meta.get("PhoneNumber"))
    return StkResult(
        checkout_request_id=result.checkout_request_id,
        merchant_request_id=result.merchant_request_id,
        result_code=0,
        result_desc=result.result_desc,
        amount=_money(meta.get("Amount"), "Amount"),
        receipt=_receipt(meta.get("MpesaReceiptNumber")),
        msisdn=msisdn,
        transaction_time=nairobi_time(meta.get("TransactionDate")),
    )


@dataclass(frozen=True)
class C2bPayment:
    """A customer's payment into the paybill or till: a C2B confirmation or a pulled line."""

    receipt: str
    amount: Decimal
    shortcode: str
    bill_ref: str
    msisdn: str | None
    transaction_time: datetime | None
    payer_name: str
    transaction_type: str


def parse_c2b(payload: Any) -> C2bPayment:
    """A C2B validation or confirmation body; `Invalid` for anything else."""
    if not isinstance(payload, dict):
        raise Invalid("not a C2B request: the body is not an object.")
    names = [payload.get(n) for n in ("FirstName", "MiddleName", "LastName")]
    return C2bPayment(
        receipt=_receipt(payload.get("TransID")),
        amount=_money(payload.get("TransAmount"), "TransAmount"),
        shortcode=_text(payload.get("BusinessShortCode"), "BusinessShortCode", 16),
        bill_ref=_text(payload.get("BillRefNumber"), "BillRefNumber", 64, required=False),
        msisdn=normalise_msisdn(payload.get("MSISDN")),
        transaction_time=nairobi_time(payload.get("TransTime")),
        payer_name=" ".join(str(n).strip() for n in names if isinstance(n, str) and n.strip())[
            :128
        ],
        transaction_type=_text(
            payload.get("TransactionType"), "TransactionType", 32, required=False
        ),
    )


def parse_pulled(item: Any, shortcode: str) -> C2bPayment:
    """One line of Pull Transactions."""
    if not isinstance(item, dict):
        raise Invalid("a pulled transaction is not an object.")
    when = None
    with contextlib.suppress(ValueError):
        when = datetime.strptime(str(item.get("trxDate")), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return C2bPayment(
        receipt=_receipt(item.get("transactionId")),
        amount=_money(item.get("amount"), "amount"),
        shortcode=shortcode,
        bill_ref=_text(item.get("billreference"), "billreference", 64, required=False),
        msisdn=normalise_msisdn(item.get("msisdn")),
        transaction_time=when,
        payer_name=_text(item.get("sender"), "sender", 128, required=False)
        if item.get("sender") not in (None, "UNKNOWN")
        else "",
        transaction_type=_text(item.get("transactiontype"), "transactiontype", 32, required=False),
    )


# -- storing ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    """What storing did: `fresh` when this delivery changed the row (it needs applying)."""

    id: int
    status: str
    fresh: bool


def record_push(
    engine: Engine,
    *,
    client_id: int,
    package_id: int,
    checkout_request_id: str,
    merchant_request_id: str,
    msisdn: str,
    amount: Decimal,
    shortcode: str,
    raw: dict[str, Any],
    origin: str = "operator",
    device: str | None = None,
) -> int:
    """The push Daraja accepted, pending its result; its callback is known by this row.
    `origin` says who asked: "operator" or "portal"; `device`, the MAC address of the portal's
    device asking."""
    with session_scope(engine) as session:
        row = MpesaTransaction(
            kind=STK,
            status=MpesaStatus.PENDING,
            source="push",
            origin=origin,
            device=device,
            checkout_request_id=checkout_request_id,
            merchant_request_id=merchant_request_id,
            msisdn=msisdn,
            amount=amount,
            shortcode=shortcode,
            client_id=client_id,
            package_id=package_id,
            raw={"push": raw},
        )
        session.add(row)
        session.flush()
        return int(row.id or 0)


def _locked(session: Session, *where: Any) -> MpesaTransaction | None:
    return session.scalars(
        select(MpesaTransaction)
        .where(*where)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def store_stk_result(
    engine: Engine, result: StkResult, raw: dict[str, Any], *, source: str = "callback"
) -> Stored:
    """Record the result of a push (callback or query) on its row.

    A pending push takes the result; a failed one (the query said timeout) or an expired one
    still takes a late success, because the money moved; a received or applied one is never
    downgraded.
    """
    try:
        with session_scope(engine) as session:
            return _store_stk(session, result, raw, source)
    except IntegrityError:
        # The receipt is already another row's (a pulled statement line recorded it first).
        with session_scope(engine) as session:
            row = _locked(
                session, col(MpesaTransaction.checkout_request_id) == result.checkout_request_id
            )
            assert row is not None
            other = session.scalars(
                select(MpesaTransaction).where(col(MpesaTransaction.receipt) == result.receipt)
            ).first()
            row.deliveries += 1
            if row.status in (MpesaStatus.PENDING, MpesaStatus.FAILED):
                row.status = MpesaStatus.UNMATCHED
                row.note = (
                    f"receipt {result.receipt} is already transaction {other.id if other else '?'}"
                    "; check which one paid before applying either."
                )
            session.add(row)
            return Stored(int(row.id or 0), row.status, False)


def _store_stk(session: Session, result: StkResult, raw: dict[str, Any], source: str) -> Stored:
    row = _locked(session, col(MpesaTransaction.checkout_request_id) == result.checkout_request_id)
    if row is None or row.kind != STK:
        raise UnknownPush(
            f"CheckoutRequestID {result.checkout_request_id!r} is not a push of ours."
        )
    row.deliveries += 1
    row.raw = {**(row.raw or {}), source: raw}
    fresh = False
    late = row.status in (MpesaStatus.FAILED, MpesaStatus.EXPIRED)
    if row.status == MpesaStatus.PENDING or (late and result.paid):
        fresh = True
        row.result_code = result.result_code
        row.result_desc = result.result_desc
        row.merchant_request_id = result.merchant_request_id or row.merchant_request_id
        if source != row.source and row.source == "push":
            row.source = source
        if result.paid:
            row.status = MpesaStatus.RECEIVED
            row.receipt = result.receipt
            row.payment_ref = result.receipt or row.checkout_request_id
            row.amount = result.amount or row.amount
            row.msisdn = result.msisdn or row.msisdn
            row.transaction_time = result.transaction_time or utcnow()
            row.note = None
        else:
            row.status = MpesaStatus.FAILED
            row.note = _failure(result)
    elif result.paid and result.receipt and not row.receipt:
        row.receipt = result.receipt  # a query applied it first; the callback brings the receipt
    session.add(row)
    session.flush()
    if fresh:
        logs.log(
            session,
            "INFO" if result.paid else "WARNING",
            "Payment",
            f"M-Pesa push {row.checkout_request_id} ({source}): "
            + (
                f"paid {row.amount} from {row.msisdn}, receipt {row.receipt or 'not yet known'}."
                if result.paid
                else f"not paid: {row.note}"
            ),
            {"mpesa_transaction_id": row.id, "result_code": result.result_code},
            client_id=row.client_id,
        )
    return Stored(int(row.id or 0), row.status, fresh)


def _failure(result: StkResult) -> str:
    known = {
        1032: "cancelled by the customer",
        1037: "the phone could not be reached (timeout)",
        1: "the customer's balance was too low",
        2001: "wrong M-Pesa PIN",
    }
    return f"{known.get(result.result_code, 'failed')} (ResultCode {result.result_code}: {result.result_desc})"


def store_c2b(
    engine: Engine, payment: C2bPayment, raw: dict[str, Any], *, source: str = "callback"
) -> Stored:
    """Record a paybill or till payment; a receipt seen before only counts one more delivery.

    A pulled line whose receipt we never saw may be a push's payment whose callback was lost:
    it is put on that push (same phone and amount, no receipt yet) instead of a row of its own.
    """
    try:
        with session_scope(engine) as session:
            if source == "pull":
                attached = _attach_to_push(session, payment, raw)
                if attached is not None:
                    return attached
            row = _new_c2b(payment, raw, source)
            session.add(row)
            session.flush()
            _log_c2b(session, row, int(row.id or 0))
            return Stored(int(row.id or 0), row.status, True)
    except IntegrityError:
        with session_scope(engine) as session:
            found = _locked(session, col(MpesaTransaction.receipt) == payment.receipt)
            if found is None:
                raise
            found.deliveries += 1
            session.add(found)
            return Stored(int(found.id or 0), found.status, False)


def _c2b_values(
    payment: C2bPayment, raw: dict[str, Any], source: str, now: datetime
) -> dict[str, Any]:
    """The columns of a new C2B row."""
    return {
        "kind": C2B,
        "status": MpesaStatus.RECEIVED,
        "source": source,
        "receipt": payment.receipt,
        "payment_ref": payment.receipt,
        "msisdn": payment.msisdn,
        "amount": payment.amount,
        "bill_ref": payment.bill_ref or None,
        "shortcode": payment.shortcode,
        "payer_name": payment.payer_name or None,
        "transaction_time": payment.transaction_time or now,
        "deliveries": 1,
        "raw": {source: raw},
    }


def _new_c2b(payment: C2bPayment, raw: dict[str, Any], source: str) -> MpesaTransaction:
    return MpesaTransaction(**_c2b_values(payment, raw, source, utcnow()))


def _log_c2b(session: Session, row: Any, row_id: int) -> None:
    """Log a stored C2B row (an ORM row, or its column values)."""
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    logs.info(
        session,
        "Payment",
        f"M-Pesa {get('receipt')} ({get('source')}): {get('amount')} from {get('msisdn')} "
        f"to {get('shortcode')}, account {get('bill_ref') or '(none)'}.",
        {"mpesa_transaction_id": row_id},
    )


@dataclass(frozen=True)
class Arrival:
    """One callback (or recovered transaction) to store: what it says, its body, how it came."""

    payment: StkResult | C2bPayment
    raw: dict[str, Any]
    source: str = "callback"


def store_many(engine: Engine, arrivals: list[Arrival]) -> list[Stored | Invalid]:
    """Store a group of arrivals in one transaction (one commit for all of them).

    Each gets its own answer: what storing did, or why it was refused (a push we never made).
    Should the group collide with another writer (a receipt inserted meanwhile by another
    process), each arrival is stored on its own instead, which settles such races one by one.
    """
    try:
        with session_scope(engine) as session, logs.deferred(session):
            return _store_group(session, arrivals)
    except DBAPIError as error:
        if not (isinstance(error, IntegrityError) or is_deadlock(error)):
            raise
    return [_store_one(engine, arrival) for arrival in arrivals]


def _store_one(engine: Engine, arrival: Arrival) -> Stored | Invalid:
    try:
        if isinstance(arrival.payment, StkResult):
            return store_stk_result(engine, arrival.payment, arrival.raw, source=arrival.source)
        return store_c2b(engine, arrival.payment, arrival.raw, source=arrival.source)
    except Invalid as invalid:
        return invalid


def _store_group(session: Session, arrivals: list[Arrival]) -> list[Stored | Invalid]:
    if all(isinstance(a.payment, C2bPayment) and a.source != "pull" for a in arrivals):
        return _store_confirmations(session, arrivals)
    receipts = [a.payment.receipt for a in arrivals if isinstance(a.payment, C2bPayment)]
    known = (
        {
            str(row.receipt): row
            for row in session.scalars(
                select(MpesaTransaction)
                .where(col(MpesaTransaction.receipt).in_(receipts))
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        }
        if receipts
        else {}
    )
    answers: list[Stored | Invalid | tuple[MpesaTransaction, bool]] = []
    for arrival in arrivals:
        payment = arrival.payment
        if isinstance(payment, StkResult):
            try:
                answers.append(_store_stk(session, payment, arrival.raw, arrival.source))
            except Invalid as invalid:
                answers.append(invalid)
            continue
        row = known.get(payment.receipt)
        if row is not None:
            row.deliveries += 1
            answers.append((row, False))
            continue
        attached = (
            _attach_to_push(session, payment, arrival.raw) if arrival.source == "pull" else None
        )
        if attached is not None:
            answers.append(attached)
            continue
        row = known[payment.receipt] = _new_c2b(payment, arrival.raw, arrival.source)
        session.add(row)
        answers.append((row, True))
    session.flush()
    for answer in answers:
        if isinstance(answer, tuple) and answer[1]:
            _log_c2b(session, answer[0], int(answer[0].id or 0))
    return [
        Stored(int(a[0].id or 0), a[0].status, a[1]) if isinstance(a, tuple) else a for a in answers
    ]


def _store_confirmations(session: Session, arrivals: list[Arrival]) -> list[Stored | Invalid]:
    """A group of C2B callbacks, the common case, in a few statements: one query for the
    receipts seen before, one insert for the new ones, one update counting the repeats."""
    receipts = {a.payment.receipt for a in arrivals}
    known = {
        str(receipt): (int(row_id), str(status))
        for row_id, receipt, status in session.execute(
            select(M.c.id, M.c.receipt, M.c.status)
            .where(M.c.receipt.in_(receipts))
            .with_for_update()
        )
    }
    now = utcnow()
    new: dict[str, dict[str, Any]] = {}
    repeats: list[dict[str, Any]] = []
    for arrival in arrivals:
        payment = arrival.payment
        assert isinstance(payment, C2bPayment)
        if payment.receipt in known:
            repeats.append({"b_id": known[payment.receipt][0]})
        elif payment.receipt in new:
            new[payment.receipt]["deliveries"] += 1
        else:
            new[payment.receipt] = _c2b_values(payment, arrival.raw, arrival.source, now) | {
                "created_at": now,
                "updated_at": now,
            }
    if repeats:
        session.execute(
            update(M)
            .where(M.c.id == bindparam("b_id"))
            .values(deliveries=M.c.deliveries + 1, updated_at=now),
            repeats,
        )
    rows = list(new.values())
    if rows:
        for values in rows:
            check_values(M, values)
        ids = session.execute(
            insert(M).returning(M.c.id, sort_by_parameter_order=True), rows
        ).scalars()
        for values, row_id in zip(rows, ids, strict=True):
            known[values["receipt"]] = (int(row_id), MpesaStatus.RECEIVED)
            _log_c2b(session, values, int(row_id))
    answers: list[Stored | Invalid] = []
    first = {str(values["receipt"]) for values in rows}
    for arrival in arrivals:
        receipt = str(arrival.payment.receipt)
        row_id, status = known[receipt]
        answers.append(Stored(row_id, status, receipt in first))
        first.discard(receipt)
    return answers


def _attach_to_push(session: Session, payment: C2bPayment, raw: dict[str, Any]) -> Stored | None:
    if session.scalars(
        select(col(MpesaTransaction.id)).where(col(MpesaTransaction.receipt) == payment.receipt)
    ).first():
        return None  # known: the insert below fails and counts a delivery
    when = payment.transaction_time or utcnow()
    push = _locked(
        session,
        col(MpesaTransaction.kind) == STK,
        col(MpesaTransaction.receipt).is_(None),
        col(MpesaTransaction.msisdn) == payment.msisdn,
        col(MpesaTransaction.amount) == payment.amount,
        col(MpesaTransaction.created_at) >= when - timedelta(days=1),
        col(MpesaTransaction.created_at) <= when + timedelta(minutes=5),
        col(MpesaTransaction.status).in_(
            [
                MpesaStatus.PENDING,
                MpesaStatus.FAILED,
                MpesaStatus.EXPIRED,
                MpesaStatus.RECEIVED,
                MpesaStatus.APPLIED,
            ]
        ),
    )
    if push is None:
        return None
    push.receipt = payment.receipt
    push.deliveries += 1
    push.raw = {**(push.raw or {}), "pull": raw}
    fresh = push.status in (MpesaStatus.PENDING, MpesaStatus.FAILED, MpesaStatus.EXPIRED)
    if fresh:
        push.status = MpesaStatus.RECEIVED
        push.payment_ref = payment.receipt
        push.result_code = 0
        push.transaction_time = when
        push.note = None
    session.add(push)
    session.flush()
    return Stored(int(push.id or 0), push.status, fresh)


# -- matching and applying -------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    client: Client | None
    package: Package | None
    note: str = ""


def account_key(text: str) -> str:
    """An account number as typed on a phone: case and spaces do not count."""
    return re.sub(r"\s+", "", text).lower()


def is_client_account(engine: Engine, bill_ref: str) -> bool:
    """True when `bill_ref` names a client, as an account number is matched (case and spaces
    ignored)."""
    key = account_key(bill_ref)
    with Session(engine) as session:
        return key != "" and _client_by_account(session, key) is not None


_BY_ACCOUNT = select(Client).where(
    func.lower(func.replace(col(Client.username), " ", "")) == bindparam("key")
)
_LATEST = (
    select(Subscription)
    .where(col(Subscription.client_id) == bindparam("client_id"))
    .order_by(col(Subscription.expires_on).desc(), col(Subscription.id).desc())
)
_PRICED = select(Package).where(col(Package.price) == bindparam("amount"))
_BY_ID_LOCKED = (
    select(MpesaTransaction)
    .where(col(MpesaTransaction.id) == bindparam("id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)
# Statements built once: every payment applied runs them.


def _client_by_account(session: Session, key: str) -> Client | None:
    return session.scalars(_BY_ACCOUNT, {"key": key}).first()


def match_c2b(session: Session, row: MpesaTransaction) -> Match:
    """The client by account number (BillRefNumber = username; a till payment: by phone), then
    the package by amount: the client's current package at its price, else the package of that
    price on the client's router; else the current package, the difference kept as credit."""
    client = None
    if row.bill_ref and account_key(row.bill_ref):
        client = _client_by_account(session, account_key(row.bill_ref))
        if client is None:
            return Match(None, None, f"no client has the account number {row.bill_ref!r}.")
    elif row.msisdn:
        last9 = row.msisdn[-9:]
        found = [
            c
            for c in session.scalars(select(Client).where(col(Client.phone).like(f"%{last9}")))
            if normalise_msisdn(c.phone) == row.msisdn
        ]
        if len(found) != 1:
            return Match(
                None, None, f"no account number, and {len(found)} clients have phone {row.msisdn}."
            )
        client = found[0]
    else:
        return Match(None, None, "no account number and no phone number to match.")
    amount = row.amount or Decimal("0")
    latest = session.scalars(_LATEST, {"client_id": client.id}).first()
    current = session.get(Package, latest.package_id) if latest else None
    if current is not None and current.price == amount:
        return Match(client, current)
    if current is not None:
        same_price = session.scalars(
            select(Package)
            .where(col(Package.router_id) == current.router_id, col(Package.price) == amount)
            .order_by(col(Package.type) != current.type, col(Package.id))
        ).first()
        if same_price is not None:
            return Match(client, same_price)
        return Match(client, current)  # over- or underpaid: the ActivationService keeps credit
    priced = list(session.scalars(_PRICED, {"amount": amount}))
    if len(priced) == 1:
        return Match(client, priced[0])
    return Match(
        client,
        None,
        f"{client.username} has no package yet and {len(priced)} packages cost {amount}.",
    )


@dataclass(frozen=True)
class Applied:
    """What applying a row did."""

    id: int
    status: str
    note: str = ""
    outcome: str | None = None
    payment_id: int | None = None
    job_id: int | None = None
    """The router job the activation queued (None when nothing is to be delivered)."""


def apply(engine: Engine, settings: Settings, transaction_id: int) -> Applied:
    """Apply a received row once: activate its client on its package under its reference.

    The row is locked, then matched and activated in the same transaction, so two processes
    applying it at once (the receiver and a recovery round) activate once. A race lost to an
    activation under the same reference elsewhere is tried again and found already applied.
    """
    for attempt in (1, 2):
        try:
            with session_scope(engine) as session:
                return _apply_in(session, ActivationService(engine, settings), transaction_id)
        except DBAPIError as error:
            if attempt == 2 or not (isinstance(error, IntegrityError) or is_deadlock(error)):
                raise
    raise AssertionError("unreachable")


def apply_many(engine: Engine, settings: Settings, transaction_ids: list[int]) -> list[Applied]:
    """Apply several received rows in one transaction (one commit), each as `apply` would.

    A refusal of one (unmatched) is kept to that row. A race with another writer, or a row that
    cannot be applied at all, falls back to applying each row in its own transaction: the
    others are applied, and the one that fails is logged and left received for the next round.
    """
    service = ActivationService(engine, settings)
    try:
        with session_scope(engine) as session, logs.deferred(session):
            return _apply_batch(session, service, transaction_ids)
    except DBAPIError as error:
        if not (isinstance(error, IntegrityError) or is_deadlock(error)):
            raise  # the database is away: nothing to gain row by row
    except Exception:
        if len(transaction_ids) == 1:
            raise
    return _apply_each(engine, settings, transaction_ids)


def _apply_batch(session: Session, service: ActivationService, ids: list[int]) -> list[Applied]:
    """Apply a batch in its order: each run of plain rows set-wise (db.plain_payments), every
    other row by `_apply_in`."""
    now = utcnow()
    plans = plain_payments.plan(session, service.settings, ids, now)
    done: list[Applied] = []
    run: list[plain_payments.Plan] = []
    for transaction_id in ids:
        if transaction_id in plans:
            run.append(plans[transaction_id])
            continue
        if run:
            done += plain_payments.write(session, service.settings, run, now)
            run = []
        done.append(_apply_in(session, service, transaction_id))
    if run:
        done += plain_payments.write(session, service.settings, run, now)
    return done


def _apply_each(engine: Engine, settings: Settings, transaction_ids: list[int]) -> list[Applied]:
    done = []
    for transaction_id in transaction_ids:
        try:
            done.append(apply(engine, settings, transaction_id))
        except DBAPIError as error:
            if not (isinstance(error, IntegrityError) or is_deadlock(error)):
                raise
            logger.exception("M-Pesa transaction %s could not be applied now", transaction_id)
        except Exception:
            logger.exception("M-Pesa transaction %s could not be applied", transaction_id)
    return done


def _apply_in(session: Session, service: ActivationService, transaction_id: int) -> Applied:
    row = session.scalars(_BY_ID_LOCKED, {"id": transaction_id}).first()
    if row is None:
        raise Refused(f"there is no M-Pesa transaction {transaction_id}.")
    if row.status != MpesaStatus.RECEIVED:
        return Applied(transaction_id, row.status, row.note or "", payment_id=row.payment_id)
    if row.kind == STK or (row.client_id and row.package_id):  # a push, or assigned
        client = session.get(Client, row.client_id) if row.client_id else None
        package = session.get(Package, row.package_id) if row.package_id else None
        match = Match(
            client, package, "" if client and package else "its client or package is gone."
        )
    else:
        match = match_c2b(session, row)
    reference = row.payment_ref or row.receipt
    if match.client is None or match.package is None or not reference:
        return _finish(
            session, row, MpesaStatus.UNMATCHED, match.note or "no reference.", match.client
        )
    methods = service.settings.activation.payment_methods
    change: str | None = None
    for _ in range(2):
        mark = logs.since(session)
        try:
            with session.begin_nested():
                done = service.activate_in(
                    session,
                    match.client.username,
                    match.package.name,
                    reference,
                    amount=row.amount,
                    method="mpesa" if "mpesa" in methods else None,
                    partial=True,
                    change=change,
                    found=(match.client, match.package),
                )
        except PackageChange:
            logs.drop(session, mark)  # the savepoint took back what it wrote
            change = "after_current"  # paid for another package: it starts when this one ends
            continue
        except DuplicatePayment:
            logs.drop(session, mark)
            payment = session.scalars(
                select(Payment).where(col(Payment.reference) == reference.upper())
            ).first()
            return _finish(
                session,
                row,
                MpesaStatus.APPLIED,
                "already applied.",
                match.client,
                match.package,
                payment_id=payment.id if payment else None,
            )
        except Refused as refused:
            logs.drop(session, mark)
            return _finish(
                session, row, MpesaStatus.UNMATCHED, str(refused), match.client, match.package
            )
        job_id = done.job_id
        if row.device:
            job_id = (
                portal.bind_paid_device(session, match.client, match.package, row.device) or job_id
            )
        note = f"{done.outcome}: {match.client.username} on {match.package.name}" + (
            f", credit {done.credit}" if done.credit else ""
        )
        return _finish(
            session,
            row,
            MpesaStatus.APPLIED,
            note,
            match.client,
            match.package,
            payment_id=done.payment_id,
            outcome=str(done.outcome),
            job_id=job_id,
        )
    raise AssertionError("unreachable")


def _finish(
    session: Session,
    row: MpesaTransaction,
    status: MpesaStatus,
    note: str,
    client: Client | None = None,
    package: Package | None = None,
    *,
    payment_id: int | None = None,
    outcome: str | None = None,
    job_id: int | None = None,
) -> Applied:
    """Move a received (and locked) row to its end state."""
    row.status, row.note, row.updated_at = status, note, utcnow()
    if client is not None:
        row.client_id = client.id
    if package is not None:
        row.package_id = package.id
    if payment_id is not None:
        row.payment_id = payment_id
    if status == MpesaStatus.APPLIED:
        row.applied_at = utcnow()
    session.add(row)
    session.flush()
    if status == MpesaStatus.UNMATCHED:
        logs.warning(
            session,
            "Payment",
            f"M-Pesa transaction {row.id} is unmatched: {note}",
            {"mpesa_transaction_id": row.id},
            client_id=client.id if client else None,
        )
    return Applied(int(row.id or 0), status, note, outcome, payment_id, job_id)


def assign(
    engine: Engine,
    settings: Settings,
    transaction_id: int,
    client: str,
    package: str | None = None,
    *,
    by: str = "the operator",
) -> Applied:
    """The operator's answer to an unmatched payment: this client (and package; by default the
    one its amount matches for that client), then applied as any other. `by` says who assigned
    it (the portal, for a payer who claimed it with the receipt code)."""
    from db.catalog import get_client, get_package

    with session_scope(engine) as session:
        row = _locked(session, col(MpesaTransaction.id) == transaction_id)
        if row is None:
            raise Refused(f"there is no M-Pesa transaction {transaction_id}.")
        if row.status != MpesaStatus.UNMATCHED:
            raise Refused(
                f"M-Pesa transaction {transaction_id} is {row.status}; only an unmatched one is "
                "assigned."
            )
        buyer = get_client(session, client)
        if package is not None:
            chosen: Package | None = get_package(session, package)
        else:
            row.bill_ref, saved = buyer.username, row.bill_ref
            chosen = match_c2b(session, row).package
            row.bill_ref = saved
            if chosen is None:
                raise Refused(f"no package of {buyer.username}'s matches {row.amount}; name one.")
        row.client_id, row.package_id = buyer.id, chosen.id if chosen else None
        row.status = MpesaStatus.RECEIVED
        row.note = f"assigned by {by} to {buyer.username}"
        session.add(row)
        logs.info(
            session,
            "Payment",
            f"M-Pesa transaction {transaction_id} ({row.receipt}) assigned by {by} to "
            f"{buyer.username} on {chosen.name if chosen else '?'}.",
            {"mpesa_transaction_id": transaction_id},
            client_id=buyer.id,
        )
    return apply(engine, settings, transaction_id)


def received_ids(engine: Engine, *, limit: int = 500) -> list[int]:
    """Rows stored but not yet applied, oldest first."""
    with Session(engine) as session:
        return [
            int(i or 0)
            for i in session.scalars(
                select(col(MpesaTransaction.id))
                .where(col(MpesaTransaction.status) == MpesaStatus.RECEIVED)
                .order_by(col(MpesaTransaction.id))
                .limit(limit)
            )
        ]


def apply_received(engine: Engine, settings: Settings, *, limit: int = 500) -> list[Applied]:
    """Apply every row stored but not yet applied (a crash between storing and applying)."""
    ids = received_ids(engine, limit=limit)
    return [
        done
        for at in range(0, len(ids), 25)
        for done in apply_many(engine, settings, ids[at : at + 25])
    ]


# -- reading ---------------------------------------------------------------------------------------


def pushes_to_query(
    engine: Engine,
    older_than: timedelta,
    *,
    now: datetime | None = None,
    give_up_after: timedelta = timedelta(days=1),
) -> list[MpesaTransaction]:
    """Pushes still pending `older_than` after they were made (and not given up on)."""
    now = now or utcnow()
    return _pending_pushes(
        engine,
        col(MpesaTransaction.created_at) <= now - older_than,
        col(MpesaTransaction.created_at) >= now - give_up_after,
    )


def pushes_to_expire(
    engine: Engine, after: timedelta, *, now: datetime | None = None
) -> list[MpesaTransaction]:
    """Pushes still pending `after` they were made: no callback came and no query settled them."""
    now = now or utcnow()
    return _pending_pushes(engine, col(MpesaTransaction.created_at) < now - after)


def _pending_pushes(engine: Engine, *made: Any) -> list[MpesaTransaction]:
    """Pushes awaiting their result, made within the given bounds, oldest first."""
    with Session(engine) as session:
        return list(
            session.scalars(
                select(MpesaTransaction)
                .where(
                    col(MpesaTransaction.kind) == STK,
                    col(MpesaTransaction.status) == MpesaStatus.PENDING,
                    *made,
                )
                .order_by(col(MpesaTransaction.id))
            )
        )


def expire_push(engine: Engine, transaction_id: int, why: str) -> bool:
    """Close a push that is still pending as expired; False when something settled it first
    (a callback or a query meanwhile: a result is never overwritten)."""
    with session_scope(engine) as session:
        row = _locked(session, col(MpesaTransaction.id) == transaction_id)
        if row is None or row.status != MpesaStatus.PENDING:
            return False
        row.status, row.note, row.updated_at = MpesaStatus.EXPIRED, why, utcnow()
        session.add(row)
        logs.warning(
            session,
            "Payment",
            f"M-Pesa push {row.checkout_request_id} expired: {why}",
            {"mpesa_transaction_id": row.id},
            client_id=row.client_id,
        )
        return True


def transactions(
    engine: Engine,
    *,
    status: str | None = None,
    since: datetime | None = None,
    limit: int = 200,
) -> list[tuple[MpesaTransaction, str | None, str | None]]:
    """Rows newest first, with their client's username and package's name."""
    with Session(engine) as session:
        query = (
            select(MpesaTransaction, col(Client.username), col(Package.name))
            .join(Client, col(Client.id) == col(MpesaTransaction.client_id), isouter=True)
            .join(Package, col(Package.id) == col(MpesaTransaction.package_id), isouter=True)
            .order_by(col(MpesaTransaction.id).desc())
            .limit(limit)
        )
        if status:
            query = query.where(col(MpesaTransaction.status) == status)
        if since:
            query = query.where(
                or_(
                    col(MpesaTransaction.created_at) >= since,
                    col(MpesaTransaction.updated_at) >= since,
                )
            )
        return [(row, user, name) for row, user, name in session.execute(query).all()]


def get_transaction(engine: Engine, transaction_id: int) -> MpesaTransaction:
    with Session(engine) as session:
        row = session.get(MpesaTransaction, transaction_id)
        if row is None:
            raise Refused(f"there is no M-Pesa transaction {transaction_id}.")
        return row
