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
from sqlalchemy.orm import Session

from console.views.payments import amount_text
from db import logs
from db.catalog import Refused
from db.config import Settings
from db.engine import session_scope
from db.models import C, MpesaStatus, MpesaTransaction, P, S
from db.mpesa import Applied, assign


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


def package_for(session: Session, amount: Decimal, client: str | None) -> str | None:
    """The package the amount pays for: of that price on the client's current router first."""
    priced = select(P.c.name, P.c.router_id).where(P.c.price == amount, P.c.router_id.is_not(None))
    rows = list(session.execute(priced.order_by(P.c.name)))
    if not rows:
        return None
    router = _current_router(session, client) if client else None
    preferred = [r.name for r in rows if r.router_id == router]
    return preferred[0] if preferred else rows[0].name


def _current_router(session: Session, client: str) -> int | None:
    query = (
        select(S.c.router_id)
        .select_from(S.join(C, C.c.id == S.c.client_id))
        .where(C.c.username == client)
        .order_by(S.c.expires_on.desc(), S.c.id.desc())
        .limit(1)
    )
    return session.execute(query).scalar()


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
