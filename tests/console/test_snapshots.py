"""Snapshots of every screen: the main screen, the activation modal (empty, and offering a package
change) and the router users screen at two sizes; at 80x24 (SSH) also a job's details scrolled to the
end of a long history, the confirm dialog, the reconcile screen, help on each screen and the status
line with three routers of which one is down.

The data and the clock are fixed, so each picture is the same on every run. Update the baselines
with `pytest tests/console/test_snapshots.py --snapshot-update` after a deliberate change.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from textual.pilot import Pilot
from textual.widgets import Input, Select

from console.app import WispApp, build_app
from db.activation import ActivationService
from db.delivery import mark_delivered
from db.engine import session_scope
from db.models import Router, RouterProvisioning, SystemLog
from tests.console.conftest import FIXED_NOW, console_settings, settle, until
from tests.console.scenes import fail_with_history, three_routers_one_down

SIZES = [(120, 40), (80, 24)]
SSH = (80, 24)
J = RouterProvisioning.__table__  # type: ignore[attr-defined]


def _freeze(engine: Engine) -> None:
    """Five activations at fixed times: three on the router, one failed, one pending."""
    service = ActivationService(engine)
    for index in range(1, 6):
        service.activate(
            f"client{index}",
            "Home 10M" if index % 2 else "Fibre 20M",
            f"QSNAP{index:05d}",
            now=FIXED_NOW - timedelta(minutes=10 * index),
        )
    with session_scope(engine) as session:
        session.execute(
            update(J).values(
                created_at=FIXED_NOW - timedelta(minutes=20),
                updated_at=FIXED_NOW - timedelta(minutes=5),
            )
        )
        session.execute(
            update(J)
            .where(J.c.id <= 3)
            .values(
                status="completed",
                completed_at=FIXED_NOW - timedelta(minutes=12),
                updated_at=FIXED_NOW - timedelta(minutes=5),
            )
        )
        mark_delivered(session, [1, 2, 3], FIXED_NOW - timedelta(minutes=12))
        session.execute(
            update(J)
            .where(J.c.id == 4)
            .values(
                status="failed",
                attempts=1,
                last_error="failure: could not add user (out of licence slots)",
                updated_at=FIXED_NOW - timedelta(minutes=5),
            )
        )
        session.execute(
            update(J)
            .where(J.c.id == 5)
            .values(
                next_attempt_at=FIXED_NOW + timedelta(seconds=25),
                updated_at=FIXED_NOW - timedelta(minutes=5),
            )
        )
        session.execute(update(Router).values(health="up"))
        session.execute(update(SystemLog).values(created_at=FIXED_NOW - timedelta(minutes=20)))


@pytest.fixture
def snapshot_app(seeded: Engine) -> Callable[[], WispApp]:
    _freeze(seeded)

    def make() -> WispApp:
        return build_app(
            console_settings(seeded), seeded, now=lambda: FIXED_NOW, watch_terminal=False
        )

    return make


async def _ready(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=["120x40", "80x24"])
class TestMainScreen:
    def test_main_screen(self, snap_compare, snapshot_app, size) -> None:  # type: ignore[no-untyped-def]
        assert snap_compare(snapshot_app(), terminal_size=size, run_before=_ready)


@pytest.mark.parametrize("size", SIZES, ids=["120x40", "80x24"])
class TestActivationModal:
    def test_activation_modal(self, snap_compare, snapshot_app, size) -> None:  # type: ignore[no-untyped-def]
        async def open_modal(pilot: Pilot[Any]) -> None:
            await settle(pilot)
            await pilot.press("a")
            await settle(pilot)
            await pilot.press(*"client")
            await _ready(pilot)

        assert snap_compare(snapshot_app(), terminal_size=size, run_before=open_modal)


@pytest.mark.parametrize("size", SIZES, ids=["120x40", "80x24"])
class TestActivationChange:
    def test_package_change(self, snap_compare, snapshot_app, size) -> None:  # type: ignore[no-untyped-def]
        async def offer_change(pilot: Pilot[Any]) -> None:
            await settle(pilot)
            await pilot.press("a")
            await settle(pilot)
            await pilot.press(*"client1", "enter")  # client1 runs Home 10M
            pilot.app.screen.query_one("#package", Select).value = "Fibre 20M"
            await _ready(pilot)

        assert snap_compare(snapshot_app(), terminal_size=size, run_before=offer_change)


@pytest.mark.parametrize("size", SIZES, ids=["120x40", "80x24"])
class TestRouterUsers:
    def test_router_users(self, snap_compare, snapshot_app, size) -> None:  # type: ignore[no-untyped-def]
        async def open_users(pilot: Pilot[Any]) -> None:
            await settle(pilot)
            await pilot.press("u")
            await _ready(pilot)

        assert snap_compare(snapshot_app(), terminal_size=size, run_before=open_users)


async def _details_of_job_4(pilot: Pilot[Any]) -> None:
    """The failed job's details (job 4: the queue's second row)."""
    await settle(pilot)
    await pilot.press("3", "down", "enter")
    await settle(pilot)


class TestDetails:
    """A failed job's details at 80x24: the error first; End reaches the end of the history."""

    def test_details_open_on_the_last_error(self, snap_compare, snapshot_app, seeded) -> None:  # type: ignore[no-untyped-def]
        fail_with_history(seeded, 4)
        assert snap_compare(snapshot_app(), terminal_size=SSH, run_before=_details_of_job_4)

    def test_details_scrolled_to_the_end_of_the_history(  # type: ignore[no-untyped-def]
        self, snap_compare, snapshot_app, seeded
    ) -> None:
        fail_with_history(seeded, 4)

        async def to_the_end(pilot: Pilot[Any]) -> None:
            await _details_of_job_4(pilot)
            await pilot.press("end")
            body = pilot.app.screen.query_one("#details-body")
            await until(pilot, lambda: body.scroll_y == body.max_scroll_y)  # End scrolls smoothly
            await _ready(pilot)

        assert snap_compare(snapshot_app(), terminal_size=SSH, run_before=to_the_end)


class TestConfirm:
    def test_retry_all_asks_first(self, snap_compare, snapshot_app) -> None:  # type: ignore[no-untyped-def]
        async def ask(pilot: Pilot[Any]) -> None:
            await settle(pilot)
            await pilot.press("R")
            await _ready(pilot)

        assert snap_compare(snapshot_app(), terminal_size=SSH, run_before=ask)


def _footer_reads(pilot: Pilot[Any], label: str) -> bool:
    from textual.widgets._footer import FooterKey

    return any(key.description == label for key in pilot.app.screen.query(FooterKey))


async def _reconciled(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("u")
    await settle(pilot)
    for _ in range(5):
        await pilot.press("d")
        await settle(pilot)
        try:
            await until(pilot, lambda: _footer_reads(pilot, "Queue fixes"), timeout=10)
            return
        except AssertionError:
            # Now and then the footer keeps the keys of the read's start although the drift is
            # found and f works (a Textual footer redraw lost; being looked into): read again.
            await pilot.press("escape")
            await settle(pilot)
    raise AssertionError("the footer never showed Queue fixes")


class TestReconcile:
    def test_reconcile_lists_the_drift(self, snap_compare, snapshot_app) -> None:  # type: ignore[no-untyped-def]
        assert snap_compare(snapshot_app(), terminal_size=SSH, run_before=_reconciled)


class TestRouterHealth:
    def test_three_routers_one_down_all_named(self, snap_compare, snapshot_app, seeded) -> None:  # type: ignore[no-untyped-def]
        app = snapshot_app()
        three_routers_one_down(seeded)
        assert snap_compare(app, terminal_size=SSH, run_before=_ready)


async def _on_main(pilot: Pilot[Any]) -> None:
    await settle(pilot)


async def _on_activate(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("a")
    await settle(pilot)


async def _on_confirm(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("R")
    await settle(pilot)


async def _on_users(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("u")
    await settle(pilot)


HELP_ON = {
    "main": _on_main,
    "details": _details_of_job_4,
    "activate": _on_activate,
    "confirm": _on_confirm,
    "users": _on_users,
    "reconcile": _reconciled,
}


@pytest.mark.parametrize("where", list(HELP_ON))
class TestHelp:
    """Help at 80x24 on each screen: that screen's keys come first."""

    def test_help(self, snap_compare, snapshot_app, where) -> None:  # type: ignore[no-untyped-def]
        async def open_help(pilot: Pilot[Any]) -> None:
            await HELP_ON[where](pilot)
            await pilot.press("f1")
            await _ready(pilot)

        assert snap_compare(snapshot_app(), terminal_size=SSH, run_before=open_help)


def _payments(engine: Engine) -> None:
    """Two paybill payments no client matched and a push the customer cancelled, at fixed times."""
    from db.models import MpesaTransaction
    from db.mpesa import (
        apply,
        parse_c2b,
        parse_stk_callback,
        record_push,
        store_c2b,
        store_stk_result,
    )
    from tests.mpesa.helpers import confirmation, stk_callback

    for receipt, amount, account in (("QKB2222222", "1500", "nobody"), ("QKC3333333", "50", "")):
        body = confirmation(receipt, amount, account, TransTime="20260302091500")
        stored = store_c2b(engine, parse_c2b(body), body)
        assert apply(engine, console_settings(engine), stored.id).status == "unmatched"
    record_push(
        engine,
        client_id=3,
        package_id=1,
        checkout_request_id="ws_CO_snapshot",
        merchant_request_id="29115-1",
        msisdn="+254700000003",
        amount=Decimal("1500"),
        shortcode="174379",
        raw={"CheckoutRequestID": "ws_CO_snapshot"},
    )
    body = stk_callback("ws_CO_snapshot", code=1032)
    store_stk_result(engine, parse_stk_callback(body), body)
    with session_scope(engine) as session:
        session.execute(
            update(MpesaTransaction.__table__).values(  # type: ignore[arg-type]
                created_at=FIXED_NOW - timedelta(minutes=5)
            )
        )


class TestPayments:
    """The payments tab and the assign dialog at 80x24."""

    def test_payments_tab(self, snap_compare, snapshot_app, seeded) -> None:  # type: ignore[no-untyped-def]
        _payments(seeded)

        async def open_tab(pilot: Pilot[Any]) -> None:
            await settle(pilot)
            await pilot.press("4")
            await _ready(pilot)

        assert snap_compare(snapshot_app(), terminal_size=SSH, run_before=open_tab)

    def test_assign_dialog(self, snap_compare, snapshot_app, seeded) -> None:  # type: ignore[no-untyped-def]
        _payments(seeded)

        async def open_dialog(pilot: Pilot[Any]) -> None:
            await settle(pilot)
            await pilot.press("4", "down", "down", "A")
            await settle(pilot)
            await pilot.press(*"client1")
            await _ready(pilot)

        assert snap_compare(snapshot_app(), terminal_size=SSH, run_before=open_dialog)
