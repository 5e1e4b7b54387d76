"""M-Pesa payments in the console at 80x24: the payments tab, a payment's details with its raw
payload, assigning an unmatched payment, the status bar's last hour, and the embedded receiver.

Transactions are stored through db.mpesa's own store and apply functions, as Daraja's callbacks
are; nothing is written behind their back.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from textual.containers import VerticalScroll
from textual.widgets import Label, Select, Static
from textual.widgets._footer import FooterKey

from console.app import WispApp
from console.screens.assign import AssignScreen
from console.screens.details import DetailsScreen
from console.screens.main import MainScreen
from console.widgets.fitted_text import FittedText
from console.widgets.main.payments_pane import PaymentsPane
from console.widgets.main.queue_pane import QueuePane
from db.activation import ActivationService
from db.catalog import get_client, get_package
from db.config import Settings
from db.models import Payment, Subscription, SystemLog
from db.mpesa import (
    apply,
    assign,
    parse_c2b,
    parse_stk_callback,
    record_push,
    store_c2b,
    store_stk_result,
)
from db.secrets import remember
from db.types import utcnow
from scheduler.mpesa.daraja import nairobi_stamp
from tests.console.conftest import console_settings, refresh, screen_text, settle, until
from tests.mpesa.helpers import confirmation, stk_callback

SIZE = (80, 24)
SECRET = "do-not-show-this-credential"
KNOWN = "known-daraja-passkey-0123456789"
"""A secret this process knows (as it knows the Daraja credentials): masked wherever it appears."""


def _paid_now(minutes: int = 10) -> str:
    """Daraja's TransTime of a payment `minutes` ago (Nairobi time)."""
    return nairobi_stamp(utcnow() - timedelta(minutes=minutes))


def _c2b(engine: Engine, settings: Settings, receipt: str, amount: str, account: str) -> int:
    """A paybill payment as its confirmation callback stores it, then applied."""
    body = confirmation(
        receipt,
        amount,
        account,
        TransTime=_paid_now(),
        SecurityCredential=SECRET,
        Remarks=f"sent with {KNOWN}",
    )
    stored = store_c2b(engine, parse_c2b(body), body)
    apply(engine, settings, stored.id)
    return stored.id


def _push(engine: Engine, client: str, package: str, checkout: str) -> int:
    """An STK Push Daraja accepted for `client` on `package`, pending its result."""
    with Session(engine) as session:
        buyer, bought = get_client(session, client), get_package(session, package)
    return record_push(
        engine,
        client_id=int(buyer.id or 0),
        package_id=int(bought.id or 0),
        checkout_request_id=checkout,
        merchant_request_id="29115-1",
        msisdn="+254700000001",
        amount=Decimal(bought.price),
        shortcode="174379",
        raw={"MerchantRequestID": "29115-1", "CheckoutRequestID": checkout, "ResponseCode": "0"},
    )


@pytest.fixture
def payments(seeded: Engine) -> dict[str, int]:
    """One of each: matched (client2 renews Home 10M), unmatched (no such account), a push still
    waiting for the customer, and a push the customer cancelled (1032)."""
    settings = console_settings(seeded)
    ActivationService(seeded).activate("client2", "Home 10M")
    ids = {
        "matched": _c2b(seeded, settings, "QKA1111111", "1500", "client2"),
        "unmatched": _c2b(seeded, settings, "QKB2222222", "1500", "nobody"),
        "pending": _push(seeded, "client1", "Home 10M", "ws_CO_pending"),
        "cancelled": _push(seeded, "client3", "Home 10M", "ws_CO_cancelled"),
    }
    body = stk_callback("ws_CO_cancelled", code=1032)
    store_stk_result(seeded, parse_stk_callback(body), body)
    return ids


def _pane(app: WispApp) -> PaymentsPane:
    return app.screen.query_one(PaymentsPane)


async def test_the_payments_tab_lists_transactions_in_columns_that_fit(
    make_app: Callable[..., WispApp], payments: dict[str, int]
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = _pane(app)
        assert not pane.display or pane.region.height == 0, "the queue's tab shows first"
        await pilot.press("4")
        await settle(pilot)
        assert pane.display and pane.region.height >= 6
        assert app.screen.query_one(QueuePane).region.height == 0, "one tab at a time at 24 lines"
        table = pane.table
        assert table.row_count == 4
        assert table.virtual_size.width <= table.size.width, "no column is cut off"
        rows = {key: table._shown[str(row_id)] for key, row_id in payments.items()}
        assert rows["matched"].cells[2:6] == ("matched", "client2", "1,500", "waiting")
        assert rows["unmatched"].cells[2:5] == ("unmatched", "(nobody)", "1,500")
        assert rows["pending"].cells[2:4] == ("pending", "client1")
        assert rows["cancelled"].cells[2] == "cancelled"
        assert rows["matched"].cells[6:] == ("QKA1111111", "paybill", "+254708374149")
        assert rows["pending"].cells[7] == "STK"
        assert "Time EAT" in table.shown_labels
        shown = screen_text(app)
        assert "4 Payments (4)" in shown and "QKA1111111" in shown
        keys = {key.description for key in app.screen.query(FooterKey)}
        assert {"Help", "Quit"} <= keys
        await pilot.press("slash", *"qkb")
        await settle(pilot)
        assert [row.key.value for row in table.ordered_rows] == [str(payments["unmatched"])]
        await pilot.press("escape")
        await settle(pilot)
        assert table.row_count == 4
        await pilot.press("3")
        await settle(pilot)
        assert app.screen.query_one(QueuePane).region.height > 0 and pane.region.height == 0


async def test_payments_that_arrive_show_on_top_under_a_cursor_left_on_the_newest(
    make_app: Callable[..., WispApp], seeded: Engine, payments: dict[str, int]
) -> None:
    settings = console_settings(seeded)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        pane = _pane(app)
        assert pane.table.cursor_row == 0
        # More payments than the tab has lines: the newest must stay in view, under the cursor.
        arrived = [_c2b(seeded, settings, f"QKN{n:07d}", "100", "nobody") for n in range(12)]
        await refresh(pilot)
        assert pane.selected is not None and pane.selected.key == str(arrived[-1])
        assert "QKN0000011" in screen_text(app)
        await pilot.press("down")  # the operator picks a row: it stays picked as payments arrive
        picked = pane.selected.key
        _c2b(seeded, settings, "QKN0000012", "100", "nobody")
        await refresh(pilot)
        assert pane.selected.key == picked and pane.table.cursor_row == 2


async def test_enter_on_a_payment_shows_its_payload_without_secrets(
    make_app: Callable[..., WispApp], payments: dict[str, int]
) -> None:
    remember(KNOWN)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        pane = _pane(app)
        while pane.selected is not None and pane.selected.key != str(payments["matched"]):
            await pilot.press("down")
        await pilot.press("enter")
        await settle(pilot)
        details = app.screen
        assert isinstance(details, DetailsScreen)
        payload = str(details.query_one("#details-payload", Static).content)
        assert '"TransID": "QKA1111111"' in payload and '"BillRefNumber": "client2"' in payload
        assert SECRET not in payload and "********" in payload
        assert KNOWN not in payload and '"Remarks": "sent with ********"' in payload
        assert "Receipt" in screen_text(app) and "QKA1111111" in screen_text(app)
        assert details.found is not None
        found = dict(details.found.fields)
        assert found["State"] == "matched" and found["Receipt"] == "QKA1111111"
        assert found["Time"].endswith(" EAT") and found["Router job"].startswith("job ")
        body = details.query_one("#details-body", VerticalScroll)
        hint = details.query_one("#details-hint", Label)
        assert body.max_scroll_y > 0
        await pilot.press("end")
        await until(pilot, lambda: body.scroll_y == body.max_scroll_y)
        shown = screen_text(app)
        assert "History" in shown or "M-Pesa" in shown, "the end of the details shows"
        assert hint.region.bottom <= app.screen.region.bottom
        assert SECRET not in shown


async def test_assigning_an_unmatched_payment_activates_it_once(
    make_app: Callable[..., WispApp], seeded: Engine, payments: dict[str, int]
) -> None:
    unmatched = payments["unmatched"]
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        pane = _pane(app)
        await pilot.press("down")  # off the unmatched row: the key does not apply there
        while pane.selected is not None and pane.selected.key != str(unmatched):
            await pilot.press("down")
        await pilot.press("A")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, AssignScreen)
        assert "KES 1,500" in str(dialog.query_one("#assign-title", Label).content)
        await pilot.press(*"client2")  # who runs Home 10M, which costs what was paid
        await settle(pilot)
        await until(pilot, lambda: dialog.query_one("#package", Select).value == "Home 10M")
        await pilot.press("ctrl+s")
        await settle(pilot)
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        await refresh(pilot)
        assert pane.table._shown[str(unmatched)].cells[2:4] == ("matched", "client2")
        assert app.screen.check_action("assign", ()) is None, "matched: nothing left to assign"
    with Session(seeded) as session:
        paid = session.scalars(select(Payment).where(Payment.reference == "QKB2222222")).all()  # type: ignore[arg-type]
        assert len(paid) == 1
        subs = session.scalar(
            select(func.count())
            .select_from(Subscription)
            .where(Subscription.payment_id == paid[0].id)  # type: ignore[arg-type]
        )
        assert subs == 1
        audit = session.scalars(
            select(SystemLog.message).where(SystemLog.message.like("Operator %assigned%"))  # type: ignore[attr-defined]
        ).all()
        assert len(audit) == 1 and f"transaction {unmatched} to client2 on Home 10M" in audit[0]


async def test_assigning_says_why_in_one_sentence_when_no_client_is_found(
    make_app: Callable[..., WispApp], payments: dict[str, int]
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        pane = _pane(app)
        while pane.selected is not None and pane.selected.key != str(payments["unmatched"]):
            await pilot.press("down")
        await pilot.press("A")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, AssignScreen)
        await pilot.press(*"zz-no-such-client")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        said = str(dialog.query_one("#assign-result", Static).content)
        assert said == "Find a client first: type part of their username, name or phone."


async def test_the_status_bar_counts_the_last_hours_payments(
    make_app: Callable[..., WispApp], payments: dict[str, int]
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        line = app.screen.query_one("#mpesa-hour", FittedText)
        # matched and unmatched moved money in the last hour; a pending or cancelled push did not.
        assert str(line.content) == "M-Pesa last hour 2 · KES 3,000"
        assert "KES 3,000" in screen_text(app)


async def test_a_missing_callback_token_is_one_notice_not_a_crash(
    make_app: Callable[..., WispApp], seeded: Engine, service: Any
) -> None:
    settings = console_settings(seeded)
    settings.mpesa.listen = "127.0.0.1:0"
    app = make_app(settings)
    service(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await until(pilot, lambda: bool(_notices(app)))
        assert app.mpesa is None and isinstance(app.screen, MainScreen)
        (notice,) = _notices(app)
        assert notice.startswith("M-Pesa callbacks are not received by this console: ")
        assert "WISP_MPESA_CALLBACK_TOKEN" in notice and notice.count(". ") == 0


def _notices(app: WispApp) -> list[str]:
    return [str(n.message) for n in app._notifications if "M-Pesa" in str(n.message)]


async def test_a_payment_assigned_meanwhile_is_refused_in_one_sentence(
    make_app: Callable[..., WispApp], seeded: Engine, payments: dict[str, int]
) -> None:
    unmatched = payments["unmatched"]
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        pane = _pane(app)
        while pane.selected is not None and pane.selected.key != str(unmatched):
            await pilot.press("down")
        await pilot.press("A")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, AssignScreen)
        assign(seeded, console_settings(seeded), unmatched, "client5", "Home 10M")  # another desk
        await pilot.press(*"client4")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        said = str(dialog.query_one("#assign-result", Static).content)
        assert said == (
            f"Not assigned: M-Pesa transaction {unmatched} is applied; only an unmatched one is "
            "assigned."
        )
    with Session(seeded) as session:
        paid = session.scalars(select(Payment).where(Payment.reference == "QKB2222222")).all()  # type: ignore[arg-type]
    assert len(paid) == 1 and paid[0].client_id == get_client_id(seeded, "client5")


def get_client_id(engine: Engine, username: str) -> int | None:
    with Session(engine) as session:
        return get_client(session, username).id


def test_a_payment_says_where_it_came_from() -> None:
    from console.views.payments import payment_source

    assert payment_source("stk", "portal", None) == "portal"
    assert payment_source("stk", "operator", None) == "STK"
    assert payment_source("c2b", None, "amina") == "paybill"
    assert payment_source("c2b", None, None) == "till"
