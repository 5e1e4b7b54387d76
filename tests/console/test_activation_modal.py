"""The activation modal: it charges once, asks how a payment without a reference was made, makes
a package change an explicit choice with its dates, takes part payments as credit, takes over a
router account WISP Console did not create only when told to, and fits 80x24.

Everything goes through the real app (Pilot) on a real SQLite database; the modal's clock is fixed
a day after the client's first payment so the dates it shows are the ones the service writes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, OptionList, Select

from console.app import WispApp
from console.screens.activate import ActivateScreen
from db.activation import ActivationService, Quote
from db.config import Settings
from db.models import Client, Payment, Router, RouterProvisioning, Subscription
from db.shaping import add_validity
from scheduler.engine.endpoints import client_for
from scheduler.engine.service import ProvisioningService
from scheduler.sim import SimFleet
from tests import factories
from tests.console.conftest import FIXED_NOW, console_settings, drain, settle

SIZE = (120, 40)
SMALL = (80, 24)
PAID_AT = FIXED_NOW - timedelta(days=1)
"""When jdoe paid for Home 10M, in the tests that start from a running subscription."""


def _count(engine: Engine, model: type[Any]) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _subscriptions(engine: Engine) -> list[Subscription]:
    with Session(engine) as session:
        return list(session.scalars(select(Subscription).order_by(col(Subscription.id))))


def _payments(engine: Engine) -> list[Payment]:
    with Session(engine) as session:
        return list(session.scalars(select(Payment).order_by(col(Payment.id))))


def _home_running(engine: Engine, settings: Settings | None = None) -> Subscription:
    """jdoe pays for Home 10M a day before the modal's clock; the subscription it made."""
    ActivationService(engine, settings or console_settings(engine)).activate(
        "jdoe", "Home 10M", "QSETUP0001", now=PAID_AT
    )
    (subscription,) = _subscriptions(engine)
    return subscription


def _put_on_router(engine: Engine, path: str, values: dict[str, str]) -> None:
    """Add an account to r1 by hand, over its API, as someone other than WISP Console would."""
    with Session(engine) as session:
        router = session.scalars(select(Router).where(col(Router.name) == "r1")).one()
    with client_for(router, console_settings(engine).routers) as client:
        client.add(path, values)


def _jobs(engine: Engine) -> list[RouterProvisioning]:
    with Session(engine) as session:
        return list(
            session.scalars(select(RouterProvisioning).order_by(col(RouterProvisioning.id)))
        )


def _text(modal: ActivateScreen, selector: str) -> str:
    return str(modal.query_one(selector).render())


async def _open(pilot: Pilot[Any]) -> ActivateScreen:
    await settle(pilot)
    await pilot.press("a")
    await settle(pilot)
    modal = pilot.app.screen
    assert isinstance(modal, ActivateScreen)
    return modal


async def _choose(pilot: Pilot[Any], modal: ActivateScreen, client: str, package: str) -> None:
    """Type the client, enter, pick the package (focus then moves to the payment reference)."""
    await pilot.press(*client)
    await settle(pilot)
    await pilot.press("enter")
    modal.query_one("#package", Select).value = package
    await settle(pilot)
    assert modal.focused is modal.query_one("#payment-ref", Input)


def _fixed_app(make_app: Callable[..., WispApp], settings: Settings | None = None) -> WispApp:
    return make_app(settings, now=lambda: FIXED_NOW)


# ------------------------------------------------------------------------------- charging once


async def test_enter_after_a_renewal_does_not_charge_again(
    make_app: Callable[..., WispApp], seeded: Engine
) -> None:
    settings = console_settings(seeded)
    settings.activation.validity_starts = "payment"  # dates, not a clock waiting for delivery
    before = _home_running(seeded, settings)
    app = _fixed_app(make_app, settings)
    async with app.run_test(size=SIZE) as pilot:
        modal = await _open(pilot)
        await _choose(pilot, modal, "jdoe", "Home 10M")
        renewed_until = add_validity(before.expires_on, 30, "days")
        zone = app.settings.zone
        preview = _text(modal, "#activate-preview")
        assert f"renewed until {renewed_until.astimezone(zone):%Y-%m-%d %H:%M}" in preview
        assert not modal.query("#change RadioButton")

        await pilot.press(*"QRENEW0001", "enter")
        await settle(pilot)
        assert modal.activation is not None and modal.activation.outcome == "renewed"
        result = _text(modal, "#activate-result")
        assert (
            f"jdoe renewed on Home 10M until {renewed_until.astimezone(zone):%Y-%m-%d %H:%M}."
            in result
        )
        assert "Job 1 pending" in result  # the same router account, queued again
        # Locked: every input disabled, activation greyed out, the focus on New activation.
        for selector in ("#client-search", "#package", "#payment-ref", "#method", "#amount"):
            assert modal.query_one(selector).is_disabled, selector
        assert modal.query_one("#activate").disabled
        assert modal.check_action("activate", ()) is None
        assert modal.focused is modal.query_one("#new-activation")
        assert [widget.id for widget in modal.focus_chain] == ["new-activation", "close"]

        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("enter")  # New activation: an empty form, nothing paid
        await settle(pilot)
        assert modal.activation is None
        assert modal.query_one("#client-search", Input).value == ""
        assert modal.query_one("#payment-ref", Input).value == ""
        assert modal.query_one("#package", Select).value == Select.NULL
        assert not modal.query_one("#payment-ref").is_disabled
        await pilot.press("enter", "ctrl+s")
        await settle(pilot)
        assert _text(modal, "#activate-result") == "Pick a package."

    assert [p.reference for p in _payments(seeded)] == ["QSETUP0001", "QRENEW0001"]
    (after,) = _subscriptions(seeded)
    assert after.expires_on == renewed_until  # one extension, not two


async def test_close_after_a_success_and_reopen_starts_empty(
    make_app: Callable[..., WispApp], seeded: Engine
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        modal = await _open(pilot)
        await _choose(pilot, modal, "jdoe", "Home 10M")
        await pilot.press(*"QFIRST0001", "enter")
        await settle(pilot)
        assert modal.activation is not None and modal.activation.outcome == "new"
        assert "starting when delivered to the router" in _text(modal, "#activate-result")
        await pilot.press("escape")
        await settle(pilot)
        again = await _open(pilot)
        assert again.activation is None
        assert again.query_one("#payment-ref", Input).value == ""
    assert _count(seeded, Payment) == 1
    assert _count(seeded, Subscription) == 1


# ------------------------------------------------------------------------- how it was paid


async def test_a_payment_without_a_reference_needs_its_method(
    make_app: Callable[..., WispApp], seeded: Engine
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        modal = await _open(pilot)
        await _choose(pilot, modal, "jdoe", "Home 10M")
        method = modal.query_one("#method", Select)
        assert method.value == Select.NULL
        await pilot.press("enter")  # no reference, no method
        await settle(pilot)
        assert "A payment without a reference needs its method" in _text(modal, "#activate-result")
        assert modal.activation is None
        assert modal.focused is method
        assert _count(seeded, Payment) == 0
        assert _count(seeded, Subscription) == 0
        assert _count(seeded, RouterProvisioning) == 0

        # Keyboard only: open the methods, pick cash, enter on the amount activates.
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press(*"cash", "enter")
        await settle(pilot)
        assert method.value == "cash"
        assert modal.focused is modal.query_one("#amount", Input)
        await pilot.press("enter")
        await settle(pilot)
        assert modal.activation is not None

    (payment,) = _payments(seeded)
    assert (payment.method, payment.reference, payment.amount) == ("cash", None, Decimal("1500"))


async def test_a_reference_defaults_the_method_to_the_first(
    make_app: Callable[..., WispApp], seeded: Engine
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        modal = await _open(pilot)
        await _choose(pilot, modal, "jdoe", "Home 10M")
        method = modal.query_one("#method", Select)
        await pilot.press(*"qmpesa0001")
        await pilot.pause()
        assert method.prompt == "mpesa (default)"
        await pilot.press("enter")
        await settle(pilot)
        assert modal.activation is not None
    (payment,) = _payments(seeded)
    assert (payment.method, payment.reference) == ("mpesa", "QMPESA0001")


# ------------------------------------------------------------------------- package changes


def _quote(seeded: Engine) -> Quote:
    quote = ActivationService(seeded, console_settings(seeded)).quote(
        "jdoe", "Fibre 20M", now=FIXED_NOW
    )
    assert quote is not None
    return quote


@pytest.mark.parametrize("choice", ["after_current", "switch_now"])
async def test_a_package_change_waits_for_a_choice(
    make_app: Callable[..., WispApp], seeded: Engine, choice: str
) -> None:
    home = _home_running(seeded)
    quote = _quote(seeded)
    app = _fixed_app(make_app)
    async with app.run_test(size=SIZE) as pilot:
        modal = await _open(pilot)
        await _choose(pilot, modal, "jdoe", "Fibre 20M")
        zone = app.settings.zone

        def at(moment: Any) -> str:
            return f"{moment.astimezone(zone):%Y-%m-%d %H:%M}"

        preview = _text(modal, "#activate-preview")
        assert f"jdoe has Home 10M until {at(home.expires_on)}" in preview
        assert f"30 days left, worth {quote.unused_value:,.2f}" in preview
        after, switch = (_text(modal, f"#{name}") for name in ("after-current", "switch-now"))
        assert f"from {at(quote.after_current_starts)} to {at(quote.after_current_expires)}" in (
            after
        )
        assert f"until {at(quote.switch_expires)} (30 days converted)" in switch

        # Tab goes down the form, the two choices one stop, then the buttons.
        assert [widget.id for widget in modal.focus_chain] == [
            "client-search",
            "client-matches",
            "package",
            "payment-ref",
            "method",
            "amount",
            "partial",
            "change",
            "activate",
            "request-mpesa",
            "close",
        ]
        await pilot.press(*"QCHANGE001", "enter")  # no choice yet: nothing is written
        await settle(pilot)
        assert "choose after current or switch now" in _text(modal, "#activate-result")
        assert modal.activation is None
        assert modal.focused is modal.query_one("#change")
        assert _count(seeded, Payment) == 1
        assert _count(seeded, Subscription) == 1

        await pilot.press(*(["enter"] if choice == "after_current" else ["down", "enter"]))
        await settle(pilot)
        assert modal.focused is modal.query_one("#activate")
        await pilot.press("enter")
        await settle(pilot)
        assert modal.activation is not None
        outcome, result = modal.activation.outcome, _text(modal, "#activate-result")

    old, new = _subscriptions(seeded)
    assert _count(seeded, Payment) == 2
    assert new.payment_id == _payments(seeded)[1].id
    if choice == "after_current":
        assert outcome == "scheduled"
        assert (old.status, old.expires_on) == ("active", home.expires_on)
        assert (new.status, new.start_date, new.expires_on) == (
            "scheduled",
            quote.after_current_starts,
            quote.after_current_expires,
        )
        assert "after the current package" in result
    else:
        assert outcome == "switched"
        assert old.status == "cancelled"
        assert (new.status, new.expires_on) == ("active", quote.switch_expires)
        assert "switched now to Fibre 20M" in result
        assert "The unused value of the old package became 30 days." in result


async def test_a_change_that_appears_after_the_preview_is_offered_not_applied(
    make_app: Callable[..., WispApp], seeded: Engine
) -> None:
    app = _fixed_app(make_app)
    async with app.run_test(size=SIZE) as pilot:
        modal = await _open(pilot)
        await _choose(pilot, modal, "jdoe", "Fibre 20M")
        assert "A new subscription for jdoe" in _text(modal, "#activate-preview")
        # Meanwhile another console sells jdoe Home 10M.
        _home_running(seeded)
        await pilot.press(*"QLATE00001", "enter")
        await settle(pilot)
        assert modal.activation is None
        assert "Nothing was written" in _text(modal, "#activate-result")
        assert modal.query("#after-current") and modal.query("#switch-now")
        assert not modal.query_one("#payment-ref").is_disabled
    assert _count(seeded, Payment) == 1


# ---------------------------------------------------------------------------- part payments


async def test_a_part_payment_is_kept_as_credit_only_when_ticked(
    make_app: Callable[..., WispApp], seeded: Engine
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        modal = await _open(pilot)
        await _choose(pilot, modal, "jdoe", "Home 10M")
        await pilot.press(*"QPART00001", "tab", "tab", *"500", "enter")
        await settle(pilot)
        assert "Amount 500.00 is below Home 10M's price 1,500.00" in _text(
            modal, "#activate-result"
        )
        assert modal.focused is modal.query_one("#partial")
        assert _count(seeded, Payment) == 0
        await pilot.press("space", "ctrl+s")
        await settle(pilot)
        assert modal.activation is not None and modal.activation.outcome == "credit"
        assert "kept as credit (500.00)" in _text(modal, "#activate-result")
    (payment,) = _payments(seeded)
    assert (payment.amount, payment.status) == (Decimal("500"), "credit")
    assert _count(seeded, Subscription) == 0
    assert _count(seeded, RouterProvisioning) == 0
    with Session(seeded) as session:
        jdoe = session.scalars(select(Client).where(col(Client.username) == "jdoe")).one()
        assert jdoe.credit == Decimal("500")


# ------------------------------------------------------------------ router accounts not ours

USERS = "/ip/hotspot/user"
NEWGUY = {
    "name": "newguy",
    "password": "his-own",
    "comment": "shop owner 0712345678",
    "limit-uptime": "1d",
    "mac-address": "AA:BB:CC:00:11:22",
}
NOT_OURS = "Router r1 already has hotspot user newguy, not created by WISP Console"


def _newguy(fleet: SimFleet, seeded: Engine) -> list[dict[str, str]]:
    """Client newguy, whose username r1 already uses for a hotspot user someone else made."""
    factories.client(seeded, "newguy", full_name="New Guy")
    _put_on_router(seeded, USERS, NEWGUY)
    return [row for row in fleet["r1"].rows(USERS) if row["name"] == "newguy"]


async def test_a_router_account_not_ours_is_taken_over_only_when_ticked(
    make_app: Callable[..., WispApp],
    service: Callable[[WispApp], ProvisioningService],
    seeded: Engine,
    fleet: SimFleet,
) -> None:
    before = _newguy(fleet, seeded)
    app = make_app()
    engine_service = service(app)
    async with app.run_test(size=SIZE) as pilot:
        modal = await _open(pilot)
        await _choose(pilot, modal, "newguy", "Home 10M")
        said = _text(modal, "#foreign-account")
        assert said.startswith(NOT_OURS)
        assert "`wisp import r1` adopts it, or tick take over below." in said
        assert "--adopt" not in said
        adopt = modal.query_one("#adopt", Checkbox)
        assert adopt.value is False and "take over this router account" in str(adopt.label)

        await pilot.press(*"QADOPT0001", "enter")  # not ticked: nothing is written
        await settle(pilot)
        assert modal.activation is None
        assert _text(modal, "#activate-result") == (
            "Tick take over to use newguy's existing router account."
        )
        assert modal.focused is adopt
        assert (_count(seeded, Payment), _count(seeded, Subscription)) == (0, 0)
        assert _jobs(seeded) == []
        assert [row for row in fleet["r1"].rows(USERS) if row["name"] == "newguy"] == before

        # Ticked, then another package (no PPPoE secret newguy: nothing to say), then back: the
        # offer comes again, unticked.
        await pilot.press("space")
        assert adopt.value is True
        modal.query_one("#package", Select).value = "Fibre 20M"
        await settle(pilot)
        assert modal.query_one("#foreign").display is False
        modal.query_one("#package", Select).value = "Home 10M"
        await settle(pilot)
        assert _text(modal, "#foreign-account").startswith(NOT_OURS)
        assert adopt.value is False
        await pilot.press("enter")
        await settle(pilot)
        assert modal.activation is None and modal.focused is adopt

        await pilot.press("space", "ctrl+s")  # ticked
        await settle(pilot)
        assert modal.activation is not None and modal.activation.outcome == "new"
        assert "newguy's router account, not created by WISP Console, is taken over" in _text(
            modal, "#activate-result"
        )
        assert modal.query_one("#foreign").display is False
        await drain(pilot, engine_service)
        result = _text(modal, "#activate-result")
        assert "completed: the account is on router r1" in result
        assert "its comment text and the limits no package sets are kept" in result

    (payment,) = _payments(seeded)
    assert payment.reference == "QADOPT0001"
    (job,) = _jobs(seeded)
    assert (job.status, job.router_comment) == ("completed", "shop owner 0712345678")
    (user,) = [row for row in fleet["r1"].rows(USERS) if row["name"] == "newguy"]
    assert user["comment"] == f"shop owner 0712345678 wisp-console:{job.id}"
    assert (user["profile"], user["limit-uptime"], user["mac-address"]) == (
        "HOTSPOT_10M_PERSONAL",
        "1d",
        "AA:BB:CC:00:11:22",
    )


async def test_activating_before_the_router_answers_still_asks_it_first(
    make_app: Callable[..., WispApp], seeded: Engine, fleet: SimFleet
) -> None:
    _newguy(fleet, seeded)
    app = make_app()
    # A slow router, yet one that answers within the timeout however busy this machine is.
    app.settings.routers.connect_timeout = 30.0
    async with app.run_test(size=SIZE) as pilot:
        modal = await _open(pilot)
        await pilot.press(*"newguy")
        await settle(pilot)
        await pilot.press("enter")
        fleet["r1"].faults.latency = 0.3  # the router answers each command after 0.3 s
        modal.query_one("#package", Select).value = "Home 10M"
        await pilot.pause()  # the preview asks the router...
        assert modal.query_one("#foreign").display is False
        modal.query_one("#payment-ref", Input).value = "QEARLY0001"
        modal.action_activate()  # ...and the activation goes first
        await settle(pilot)
        fleet["r1"].faults.latency = 0.0
        assert modal.activation is None
        assert _text(modal, "#activate-result") == (
            "Nothing was written: tick take over to use newguy's existing router account."
        )
        assert _text(modal, "#foreign-account").startswith(NOT_OURS)
        assert modal.focused is modal.query_one("#adopt")
        assert (_count(seeded, Payment), _jobs(seeded)) == (0, [])

        await pilot.press("space", "ctrl+s")
        await settle(pilot)
        assert modal.activation is not None
    (job,) = _jobs(seeded)
    assert job.adopt


async def test_an_unreachable_router_is_left_to_the_engine(
    make_app: Callable[..., WispApp],
    service: Callable[[WispApp], ProvisioningService],
    seeded: Engine,
    fleet: SimFleet,
) -> None:
    before = _newguy(fleet, seeded)
    fleet["r1"].down()
    app = make_app()
    engine_service = service(app)
    async with app.run_test(size=SIZE) as pilot:
        modal = await _open(pilot)
        await _choose(pilot, modal, "newguy", "Home 10M")
        assert "A new subscription for newguy" in _text(modal, "#activate-preview")
        assert modal.query_one("#foreign").display is False  # nothing said, nothing asked
        await pilot.press(*"QDOWN00001", "enter")
        await settle(pilot)
        assert modal.activation is not None and modal.activation.job_id is not None
        assert "taken over" not in _text(modal, "#activate-result")

        fleet["r1"].up()
        await drain(pilot, engine_service)  # the engine asks the router before it writes
        result = _text(modal, "#activate-result")
        assert "failed after 1 tries: router r1 already has hotspot user newguy" in result

    assert _count(seeded, Payment) == 1
    assert [row for row in fleet["r1"].rows(USERS) if row["name"] == "newguy"] == before


# -------------------------------------------------------------------------------- 80 x 24

FORM = (
    "#client-search",
    "#client-matches",
    "#package",
    "#payment-ref",
    "#method",
    "#amount",
    "#partial",
    "#activate-preview",
    "#after-current",
    "#switch-now",
    "#foreign-account",
    "#adopt",
    "#activate-result",
    "#activate",
    "#close",
    "#activate-hint",
)


def _assert_shown(modal: ActivateScreen, selectors: tuple[str, ...]) -> None:
    screen = Region(0, 0, *SMALL)
    assert screen.contains_region(modal.query_one("#activate-dialog").region)
    dialog = modal.query_one("#activate-dialog").content_region  # inside its border
    for selector in selectors:
        region = modal.query_one(selector).region
        assert region.area > 0, selector
        assert dialog.contains_region(region), f"{selector} at {region} is outside {dialog}"


async def test_the_whole_modal_fits_80x24(make_app: Callable[..., WispApp], seeded: Engine) -> None:
    _home_running(seeded)
    # Fibre 20M is PPPoE: r1 already has a secret jdoe that someone else made.
    _put_on_router(seeded, "/ppp/secret", {"name": "jdoe", "password": "x", "service": "pppoe"})
    app = _fixed_app(make_app)
    async with app.run_test(size=SMALL) as pilot:
        modal = await _open(pilot)
        # The tallest form: a full list of matches, a change to choose, a router account to take
        # over and a message.
        await pilot.press("n")  # every client
        await settle(pilot)
        await pilot.press("tab", "end")  # jdoe, the last match, highlighted: the client chosen
        await settle(pilot)
        assert modal.query_one("#client-matches", OptionList).option_count == 6
        modal.query_one("#package", Select).value = "Fibre 20M"
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert "needs its method" in _text(modal, "#activate-result")
        _assert_shown(modal, FORM)
        modal.query_one("#method", Select).value = "bank"
        await pilot.pause()
        modal.query_one("#change").focus()
        await pilot.press("down", "enter", "enter")
        await settle(pilot)
        assert _text(modal, "#activate-result").startswith("Tick take over")
        _assert_shown(modal, FORM)
        assert modal.focused is modal.query_one("#adopt")
        await pilot.press("space", "ctrl+s")
        await settle(pilot)
        assert modal.activation is not None and modal.activation.outcome == "switched"
        _assert_shown(modal, ("#activate-result", "#new-activation", "#close", "#activate-hint"))
