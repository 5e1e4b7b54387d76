"""What the activation modal says while it follows an STK Push: sent, waiting, paid or not, and
then the router job the payment queued."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from console.views.format import amount_text
from console.views.payments import payment_state
from db.models import MpesaStatus, MpesaTransaction
from scheduler.mpesa.push import PushOrder, settled


@dataclass(frozen=True)
class PushSeen:
    """One look at a push: its state and what the operator is told of it."""

    row_id: int
    status: str
    result_code: int | None
    amount: Decimal | None
    phone: str | None
    receipt: str | None
    note: str | None
    settled: bool
    """Paid and applied, not paid, expired or unmatched: the push will not change by itself."""

    @classmethod
    def of(cls, row: MpesaTransaction) -> PushSeen:
        return cls(
            int(row.id or 0),
            row.status,
            row.result_code,
            row.amount,
            row.msisdn,
            row.receipt,
            row.note,
            settled(row),
        )

    @property
    def paid(self) -> bool:
        return self.status == MpesaStatus.APPLIED


def sent_text(order: PushOrder) -> str:
    """The push is on its way to the customer's phone."""
    return (
        f"STK Push sent to {order.phone}: KES {amount_text(order.amount)} for {order.package} "
        f"({order.client}). Waiting for the customer to enter their M-Pesa PIN…"
    )


def push_text(seen: PushSeen) -> tuple[str, bool | None]:
    """Where the push stands: good news (True), bad (False) or not yet (None)."""
    state = payment_state(seen.status, seen.result_code)
    if seen.paid:
        receipt = seen.receipt or "not yet known (confirmed by query)"
        paid = f"KES {amount_text(seen.amount)} from {seen.phone}, receipt {receipt}"
        return f"Paid: {paid}; {seen.note}.", True
    if state == "cancelled":
        return "Not paid: the customer cancelled the request on the phone (1032).", False
    if state == "timed out":
        return "Not paid: the phone did not answer in time (1037); ask again.", False
    if seen.status in (MpesaStatus.FAILED, MpesaStatus.EXPIRED):
        return f"Not paid: {seen.note}", False
    if seen.status == MpesaStatus.UNMATCHED:
        return f"Paid, but not applied: {seen.note}", False
    return f"Waiting for the customer on {seen.phone} (payment {seen.row_id} {state})…", None


def no_answer_text(seconds: float) -> str:
    """The customer did not answer while the modal followed the push."""
    return (
        f"No answer within {seconds:.0f} s; the payment is followed by the recovery and shows in "
        "the payments pane (4)."
    )


def no_job_text() -> str:
    return "Nothing to deliver to a router yet (held as credit, or after the current package)."
