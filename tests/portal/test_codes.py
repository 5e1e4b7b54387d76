"""Vouchers and receipt codes at the portal, and what it refuses: a device beyond a package's
count, a form without its CSRF token, STK Push requests beyond the limits."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from db import vouchers
from db.config import RouterSettings
from db.models import MpesaTransaction
from scheduler.portal.signing import LIFETIMES, Signer
from scheduler.routeros.client import RouterClient
from tests.portal.conftest import PHONE, PORTAL_SECRET, Shop, walk_in_shop
from tests.portal.flow import buy, follow
from tests.scheduler.conftest import endpoint
from tests.waiting import wait_for

FIRST, SECOND, THIRD = "AA:BB:CC:00:00:01", "AA:BB:CC:00:00:02", "AA:BB:CC:00:00:03"


def log_in(shop: Shop, mac: str, what: str, code: str) -> httpx.Response | str:
    """Walk in on `mac`, enter the code in the voucher or receipt box, post the login the portal
    gives; the hotspot's answer, or the portal's refusal in words."""
    phone, hotspot_url = shop.walk_in(mac)
    start = phone.get(hotspot_url)
    field = "code" if what == "voucher" else "receipt"
    answer = phone.submit(start.form(f"/{what}"), **{field: code})
    if not answer.forms or "/login?ticket=" not in answer.forms[0].action:
        return answer.text
    return phone.post_login(answer.forms[0])


def kick(shop: Shop) -> None:
    """End every hotspot session (the customer's device lost it)."""
    settings = RouterSettings(connect_timeout=10.0, command_timeout=10.0)
    with RouterClient(endpoint(shop.router), settings) as client:
        ids = [row[".id"] for row in client.print("/ip/hotspot/active")]
        if ids:
            client.remove("/ip/hotspot/active", ids)


def paid_receipt(shop: Shop, mac: str, package: str) -> str:
    """Buy the package by STK Push from `mac` and log in; the M-Pesa receipt."""
    shop.daraja.outcomes[PHONE] = 0
    phone, hotspot_url = shop.walk_in(mac)
    login = follow(phone, buy(phone, phone.get(hotspot_url), package), "Connecting you")
    assert phone.post_login(login.forms[0]).status_code == 302
    [payment] = shop.daraja.payments
    # Paid means applied, but the receipt comes with the callback: a query that learnt of the
    # payment first (the callback late on a loaded machine) knows none. Wait for it, as the
    # customer waits for the SMS.
    wait_for(lambda: receipt_known(shop.engine, payment.receipt))
    return payment.receipt


def receipt_known(engine: Engine, receipt: str) -> bool:
    with Session(engine) as session:
        return (
            session.scalars(
                select(col(MpesaTransaction.id)).where(col(MpesaTransaction.receipt) == receipt)
            ).first()
            is not None
        )


@pytest.fixture
def sqlite_pap_shop(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shop]:
    with walk_in_shop(sqlite_engine, monkeypatch, chap=False) as made:
        yield made


def test_a_voucher_code_logs_the_device_in_by_pap(sqlite_pap_shop: Shop) -> None:
    shop = sqlite_pap_shop
    made = vouchers.generate(shop.engine, package="Day", count=2, created_by="ops")
    code = made.codes[0]
    wait_for(lambda: code in {u["name"] for u in shop.router.rows("/ip/hotspot/user")})
    answer = log_in(shop, FIRST, "voucher", code.lower())
    assert isinstance(answer, httpx.Response) and answer.status_code == 302, answer
    assert [(s["user"], s["mac-address"]) for s in shop.router.rows("/ip/hotspot/active")] == [
        (code, FIRST)
    ]
    assert shop.hotspot.logins[0]["by"] == "http-pap"
    assert log_in(shop, SECOND, "voucher", "NOSUCH") == (
        "There is no voucher NOSUCH on this hotspot. Back to packages"
    )


def test_a_receipt_reconnects_its_one_device_package_and_refuses_a_second_device(
    shop: Shop,
) -> None:
    receipt = paid_receipt(shop, FIRST, "Day")
    kick(shop)
    again = log_in(shop, FIRST, "receipt", receipt.lower())
    assert isinstance(again, httpx.Response) and again.status_code == 302
    refused = log_in(shop, SECOND, "receipt", receipt)
    assert refused == (
        "This payment is already in use on 1 device, all that Day allows. Back to packages"
    )
    users = [(s["user"], s["mac-address"]) for s in shop.router.rows("/ip/hotspot/active")]
    assert users == [("c0708374149", FIRST)]


def test_paying_again_from_a_new_phone_moves_a_one_device_package_to_it(shop: Shop) -> None:
    """A returning customer on a new phone: the router account is bound to the phone that paid
    last, which is logged in; the old phone is not."""
    first = paid_receipt(shop, FIRST, "Day")
    kick(shop)
    phone, hotspot_url = shop.walk_in(SECOND)
    login = follow(phone, buy(phone, phone.get(hotspot_url), "Day"), "Connecting you")
    assert phone.post_login(login.forms[0]).status_code == 302
    [user] = [u for u in shop.router.rows("/ip/hotspot/user") if u["name"] == "c0708374149"]
    assert user["mac-address"] == SECOND
    users = [(s["user"], s["mac-address"]) for s in shop.router.rows("/ip/hotspot/active")]
    assert users == [("c0708374149", SECOND)]
    assert log_in(shop, FIRST, "receipt", first) == (
        "This payment is already in use on 1 device, all that Day allows. Back to packages"
    )


def test_a_two_device_package_reconnects_a_second_device_not_a_third(sqlite_shop: Shop) -> None:
    shop = sqlite_shop
    receipt = paid_receipt(shop, FIRST, "Week")
    second = log_in(shop, SECOND, "receipt", receipt)
    assert isinstance(second, httpx.Response) and second.status_code == 302
    assert log_in(shop, THIRD, "receipt", receipt) == (
        "This payment is already in use on 2 devices, all that Week allows. Back to packages"
    )
    macs = sorted(s["mac-address"] for s in shop.router.rows("/ip/hotspot/active"))
    assert macs == [FIRST, SECOND]


def test_an_unknown_receipt_is_one_sentence(sqlite_shop: Shop) -> None:
    assert log_in(sqlite_shop, FIRST, "receipt", "QK7AB1CD2E") == (
        "No payment with code QK7AB1CD2E is ready to use here. Back to packages"
    )


def test_a_form_posted_without_its_csrf_token_is_refused(sqlite_shop: Shop) -> None:
    shop = sqlite_shop
    phone, hotspot_url = shop.walk_in(FIRST)
    form = phone.get(hotspot_url).form("/voucher")
    forged = phone.submit(form, csrf="forged", code="ANY")
    assert (forged.status, forged.text) == (403, "This form has expired; go back and try again.")
    stranger = httpx.post(form.action, data=form.fields | {"code": "ANY"})  # no cookie
    assert stranger.status_code == 403


def test_stk_requests_beyond_the_limit_per_phone_are_refused(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with walk_in_shop(sqlite_engine, monkeypatch, stk_per_phone=2, stk_per_mac=10) as shop:
        shop.daraja.outcomes[PHONE] = 1032
        statuses = []
        for mac in (FIRST, SECOND, THIRD):
            phone, hotspot_url = shop.walk_in(mac)
            page = buy(phone, phone.get(hotspot_url), "Day")
            statuses.append((page.status, "Too many payment requests" in page.text))
        assert statuses == [(200, False), (200, False), (429, True)]
        assert len(shop.daraja.pushes) == 2


def test_stk_requests_beyond_the_limit_per_device_are_refused(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with walk_in_shop(sqlite_engine, monkeypatch, stk_per_phone=10, stk_per_mac=1) as shop:
        shop.daraja.outcomes["254711000222"] = 1032
        phone, hotspot_url = shop.walk_in(FIRST)
        start = phone.get(hotspot_url)
        assert buy(phone, start, "Day").status == 200
        assert buy(phone, start, "Day", "0711 000 222").status == 429


def test_a_push_refused_for_its_phone_uses_up_nothing_of_the_device(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A walk-in who typed a phone that asked too often can still pay from another phone."""
    with walk_in_shop(sqlite_engine, monkeypatch, stk_per_phone=1, stk_per_mac=1) as shop:
        shop.daraja.outcomes[PHONE] = 1032
        shop.daraja.outcomes["254711000222"] = 1032
        first, first_url = shop.walk_in(FIRST)
        assert buy(first, first.get(first_url), "Day").status == 200
        second, second_url = shop.walk_in(SECOND)
        start = second.get(second_url)
        assert buy(second, start, "Day").status == 429  # the phone asked already
        assert buy(second, start, "Day", "0711 000 222").status == 200
        assert len(shop.daraja.pushes) == 2


def test_wrong_codes_beyond_the_limit_per_device_are_refused_before_any_lookup(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with walk_in_shop(sqlite_engine, monkeypatch, wrong_codes=2) as shop:
        said = [
            log_in(shop, FIRST, "voucher", "NOSUCH1"),
            log_in(shop, FIRST, "receipt", "QK7AB1CD2E"),
            log_in(shop, FIRST, "voucher", "NOSUCH2"),
        ]
        assert said[2] == "Too many wrong codes; wait a few minutes and try again. Back to packages"
        assert log_in(shop, SECOND, "voucher", "NOSUCH3") == (
            "There is no voucher NOSUCH3 on this hotspot. Back to packages"
        )


def test_a_payment_page_past_its_lifetime_shows_nothing_of_the_payment(sqlite_shop: Shop) -> None:
    """An address kept in a phone's history, or shared: past two hours it is refused, and says
    how a customer who paid gets connected."""
    paid_receipt(sqlite_shop, FIRST, "Day")
    made = time.time() - LIFETIMES["payment"] - 60
    old = Signer(PORTAL_SECRET.encode(), clock=lambda: made).sign("payment", {"row": 1, "h": {}})
    answer = httpx.get(f"{sqlite_shop.portal_url}payment/{old}", timeout=30)
    assert answer.status_code == 410
    assert "This payment page has expired" in answer.text and "I already paid" in answer.text
    assert "c0708374149" not in answer.text
