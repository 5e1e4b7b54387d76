"""The activation modal's "Request M-Pesa payment" at 80x24, against the Daraja simulator over
real HTTP: the console's embedded engine receives the callback ([mpesa] listen), the modal follows
the push to paid, cancelled (1032) or timed out (1037), and a paid one on to the router job.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from textual.pilot import Pilot
from textual.widgets import Select, Static

from console.app import WispApp
from console.screens.activate import ActivateScreen
from console.widgets.main.payments_pane import PaymentsPane
from db.activation import ActivationService
from db.config import Settings
from db.models import MpesaTransaction, Payment, Subscription
from scheduler.mpesa.daraja import Credentials, DarajaClient
from scheduler.mpesa.receiver import callback_urls
from scheduler.mpesa.serving import Served
from scheduler.mpesa_sim.app import SANDBOX_PASSKEY, SANDBOX_SHORTCODE, Daraja
from tests.console.conftest import console_settings, drain, settle, until
from tests.mpesa.conftest import KEY, SECRET, TOKEN, sim  # noqa: F401  (the simulator fixture)

SIZE = (80, 24)
PHONES = {"client1": "254700000001", "client2": "254700000002", "client3": "254700000003"}
"""The seeded clients' phones as Daraja writes them; the simulator answers each as told."""


@pytest.fixture
def daraja_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WISP_MPESA_CONSUMER_KEY", KEY)
    monkeypatch.setenv("WISP_MPESA_CONSUMER_SECRET", SECRET)
    monkeypatch.setenv("WISP_MPESA_PASSKEY", SANDBOX_PASSKEY)
    monkeypatch.setenv("WISP_MPESA_CALLBACK_TOKEN", TOKEN)


def _settings(engine: Engine, daraja_url: str) -> Settings:
    """The console's settings with Daraja at the simulator and callbacks received here."""
    settings = console_settings(engine)
    settings.mpesa.base_url = daraja_url
    settings.mpesa.listen = "127.0.0.1:0"
    return settings


def _said(modal: ActivateScreen) -> str:
    return str(modal.query_one("#activate-result", Static).content)


async def _receiving(pilot: Pilot[Any], app: WispApp) -> None:
    """Wait for the embedded receiver, then give Daraja its address (its port was free)."""
    await until(pilot, lambda: app.mpesa is not None and app.mpesa.served is not None)
    assert app.mpesa is not None and app.mpesa.served is not None
    app.settings.mpesa.callback_base_url = app.mpesa.served.url


async def _request(pilot: Pilot[Any], client: str, package: str = "Home 10M") -> ActivateScreen:
    await settle(pilot)
    await pilot.press("a")
    await settle(pilot)
    modal = pilot.app.screen
    assert isinstance(modal, ActivateScreen)
    await pilot.press(*client)
    await settle(pilot)
    await pilot.press("enter")
    modal.query_one("#package", Select).value = package
    await settle(pilot)
    await pilot.press("ctrl+r")
    return modal


def _count(engine: Engine, model: type[Any], *where: Any) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_a_paid_push_is_followed_to_the_router(
    make_app: Callable[..., WispApp],
    seeded: Engine,
    service: Any,
    sim: tuple[Daraja, Served],  # noqa: F811
    daraja_env: None,
) -> None:
    state, served = sim
    state.outcomes[PHONES["client1"]] = 0
    app = make_app(_settings(seeded, served.url))
    engine_service = service(app)
    async with app.run_test(size=SIZE) as pilot:
        await _receiving(pilot, app)
        modal = await _request(pilot, "client1")
        await until(pilot, lambda: _said(modal).startswith("Paid: KES 1,500"), 30)
        (push,) = state.pushes.values()
        assert push.phone == PHONES["client1"] and push.amount == 1500
        await until(pilot, lambda: "waiting for router r1" in _said(modal), 20)
        assert modal.check_action("request_mpesa", ()) is None, "paid: not asked twice"
        await drain(pilot, engine_service)
        await until(pilot, lambda: "completed: the account is on router r1" in _said(modal), 20)
        assert modal.check_action("new", ()) is True
    with Session(seeded) as session:
        (row,) = session.scalars(select(MpesaTransaction)).all()
    assert row.status == "applied" and row.receipt and row.source == "callback"
    assert _count(seeded, Payment, Payment.reference == row.receipt) == 1  # type: ignore[arg-type]
    assert _count(seeded, Subscription) == 1


@pytest.mark.parametrize(
    ("code", "said"),
    [
        (1032, "Not paid: the customer cancelled the request on the phone (1032)."),
        (1037, "Not paid: the phone did not answer in time (1037); ask again."),
    ],
)
async def test_an_unpaid_push_says_why_and_opens_the_form_again(
    make_app: Callable[..., WispApp],
    seeded: Engine,
    service: Any,
    sim: tuple[Daraja, Served],  # noqa: F811
    daraja_env: None,
    code: int,
    said: str,
) -> None:
    state, served = sim
    state.outcomes[PHONES["client2"]] = code
    state.callback_delay = 5.0  # long enough to see the modal waiting on the phone
    app = make_app(_settings(seeded, served.url))
    service(app)
    async with app.run_test(size=SIZE) as pilot:
        await _receiving(pilot, app)
        modal = await _request(pilot, "client2")
        sent = "STK Push sent to +254700000002: KES 1,500 for Home 10M (client2)."
        await until(pilot, lambda: _said(modal).startswith(sent), 20)
        await until(pilot, lambda: _said(modal) == said, 30)
        await settle(pilot)
        assert modal.check_action("request_mpesa", ()) is True, "the operator may ask again"
        assert not modal.query_one("#activate-form").disabled
    assert _count(seeded, Payment) == 0 and _count(seeded, Subscription) == 0


async def test_without_daraja_settings_the_request_names_what_to_set(
    make_app: Callable[..., WispApp], seeded: Engine
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        modal = await _request(pilot, "client3")
        await settle(pilot)
        assert _said(modal) == (
            "No M-Pesa request: set mpesa.callback_base_url to the public address Daraja "
            "reaches `wisp run` at."
        )
        settings = app.settings
        settings.mpesa.callback_base_url = "https://isp.example"
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert _said(modal).startswith("No M-Pesa request: WISP_MPESA_CALLBACK_TOKEN must hold")
    assert _count(seeded, MpesaTransaction) == 0


async def test_a_paybill_payment_received_by_the_console_shows_at_once(
    make_app: Callable[..., WispApp],
    seeded: Engine,
    service: Any,
    sim: tuple[Daraja, Served],  # noqa: F811
    daraja_env: None,
) -> None:
    """The embedded receiver stores and applies a C2B confirmation; the payment that queued a
    router job refreshes the panes itself (the timed refresh is an hour away in these tests)."""
    ActivationService(seeded).activate("client2", "Home 10M")
    _, served = sim
    app = make_app(_settings(seeded, served.url))
    service(app)
    async with app.run_test(size=SIZE) as pilot:
        await _receiving(pilot, app)
        await settle(pilot)
        pane = app.screen.query_one(PaymentsPane)
        assert pane.table.row_count == 0
        urls = callback_urls(app.settings.mpesa.callback_base_url, TOKEN)
        with DarajaClient(
            served.url, SANDBOX_SHORTCODE, Credentials(KEY, SECRET, SANDBOX_PASSKEY), timeout=5
        ) as daraja:
            daraja.register_c2b(
                confirmation_url=urls["confirmation"], validation_url=urls["validation"]
            )
            daraja.simulate_c2b(amount=Decimal(1500), msisdn="254700000002", bill_ref="client2")
        await until(pilot, lambda: pane.table.row_count == 1, 30)
        (row,) = pane.table._shown.values()
        assert row.cells[2:5] == ("matched", "client2", "1,500")
        assert "1h 1 · KES 1,500" in str(app.screen.query_one("#mpesa-hour").render())
