"""The payments pane: recent M-Pesa transactions and voucher logins, what became of them and of
their router job."""

from __future__ import annotations

from console.screens.typed import OnWispApp
from console.views.columns import Column
from console.views.format import zone_name
from console.widgets.main.pane import Pane


class PaymentsPane(OnWispApp, Pane):
    """M-Pesa transactions and used vouchers, newest first."""

    TITLE = "Payments"
    NUMBER = 4
    KIND = "payment"
    # At 80 columns: the time, the state, who paid how much and the router job; the receipt, the
    # source (portal, STK, paybill, till) and the phone follow where there is room (details show every field and the payload).
    COLUMNS = (
        Column("#", 4),
        Column("Time", 12),
        Column("State", 9),
        Column("Client", 10, grow=2, most=20),
        Column("KES", 7),
        Column("Router job", 10),
        Column("Receipt", 10, drop=1),
        Column("Source", 7, drop=2),
        Column("Phone", 13, drop=3),
    )
    STATUS_COLUMN = 2
    NEWEST_FIRST = True
    HINTS = (("assign_payment", "assign unmatched"), ("pane_queue", "queue"))

    def columns(self) -> tuple[Column, ...]:
        """The time's header names the operator's zone: Time EAT."""
        label = f"Time {zone_name(self.wisp.now(), self.wisp.settings.zone)}"
        return (self.COLUMNS[0], Column(label, 12), *self.COLUMNS[2:])
