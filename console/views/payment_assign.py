"""Giving an unmatched M-Pesa payment to a client and package: what the dialog shows and does.

`db.mpesa.assign` records the assignment and applies the payment; the console adds a LogService
line that names the operator's action (who, from where), so the audit trail says a person decided.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from console.views.format import amount_text
from db import logs
from db.catalog import Refused
from db.config import Settings
from db.engine import session_scope
from db.models import C, MpesaStatus, MpesaTransaction, P
from db.mpesa import Applied, assign, match_c2b


@dataclass(frozen=True)
class Unmatched:
    """The payment to assign, as the dialog describes it."""

    id: int
    amount: Decimal
    receipt: str | None
    phone: str | None
    account: str | None
    note: str | None

    @property
    def title(self) -> str:
        """Assign M-Pesa payment 5: KES 1,500 from +254708374149, account 'jdoe x'."""
        paid = f"KES {amount_text(self.amount)} from {self.phone or 'an unknown phone'}"
        account = f", account {self.account!r}" if self.account else ""
        return f"Assign M-Pesa payment {self.id}: {paid}{account}"


def unmatched(session: Session, transaction_id: int) -> Unmatched:
    """The unmatched payment `transaction_id`; `Refused` when it is gone or no longer unmatched."""
    row = session.get(MpesaTransaction, transaction_id)
    if row is None:
        raise Refused(f"there is no M-Pesa transaction {transaction_id}.")
    if row.status != MpesaStatus.UNMATCHED:
        raise Refused(f"M-Pesa transaction {transaction_id} is {row.status}, no longer unmatched.")
    return Unmatched(
        int(row.id or 0), row.amount or Decimal(0), row.receipt, row.msisdn, row.bill_ref, row.note
    )


def voucher_refusal(code: str) -> str:
    """Why the assign key does nothing on a voucher's row, in one sentence."""
    return (
        f"Voucher {code} was paid for when it was sold; only an unmatched M-Pesa payment is "
        "assigned."
    )


def package_for(session: Session, amount: Decimal, client: str | None) -> str | None:
    """The package the amount pays for the client, by the rule C2B payments are matched by (its
    current package at that price, else that price on its router); else the first of that price."""
    if client:
        found = match_c2b(session, MpesaTransaction(kind="c2b", bill_ref=client, amount=amount))
        if found.package is not None and found.package.price == amount:
            return found.package.name
    priced = select(P.c.name).where(P.c.price == amount, P.c.router_id.is_not(None))
    return session.execute(priced.order_by(P.c.name).limit(1)).scalar()


def operator() -> str:
    """Who is at the console: the login name of the process (the SSH user)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def assign_payment(
    engine: Engine, settings: Settings, transaction_id: int, client: str, package: str
) -> Applied:
    """Give the payment to `client` on `package` and apply it; the operator's action is logged."""
    done = assign(engine, settings, transaction_id, client, package)
    with session_scope(engine) as session:
        client_id = session.execute(select(C.c.id).where(C.c.username == client)).scalar()
        logs.info(
            session,
            "Payment",
            f"Operator {operator()} assigned M-Pesa transaction {transaction_id} to {client} on "
            f"{package} from the console: {done.status}, {done.note}",
            {"mpesa_transaction_id": transaction_id, "operator": operator(), "via": "console"},
            client_id=client_id,
        )
    return done
