"""A walk-in customer over real HTTP: the simulated router's hotspot login page, the portal, the
Daraja simulator and the callback receiver, the router over TCP, on every database."""

from __future__ import annotations

from sqlmodel import Session, select

from db.models import Client, MpesaTransaction, Package
from tests.portal.conftest import PHONE, Shop
from tests.portal.flow import buy, follow

MAC = "AA:BB:CC:00:11:22"


def active(shop: Shop) -> list[dict[str, str]]:
    return shop.router.rows("/ip/hotspot/active")


def test_the_hotspot_sends_the_customer_to_the_packages_of_its_router(shop: Shop) -> None:
    phone, hotspot_url = shop.walk_in(MAC)
    start = phone.get(hotspot_url)
    assert start.status == 200 and start.url.startswith(shop.portal_url)
    assert "Day 5 Mbps · 1 day KSh 50" in start.text
    assert "Week 10 Mbps · 7 days · 2 devices KSh 300" in start.text
    assert "I have a voucher" in start.text and "I already paid" in start.text


def test_paid_by_stk_push_the_device_is_logged_in_with_the_package_profile_and_mac(
    shop: Shop,
) -> None:
    shop.daraja.outcomes[PHONE] = 0
    phone, hotspot_url = shop.walk_in(MAC)
    paying = buy(phone, phone.get(hotspot_url), "Day")
    assert "Check your phone" in paying.text and "KSh 50" in paying.text
    assert '<meta http-equiv="refresh" content="1">' in paying.html
    login = follow(phone, paying, "Connecting you")
    [form] = login.forms
    assert form.action.startswith(f"{shop.hotspot.base_url}/login?ticket=")
    assert set(form.fields) == {"username", "password", "popup", "dst"}
    assert len(form.fields["password"]) == 32  # the CHAP response, not the password
    answer = phone.post_login(form)
    assert answer.status_code == 302 and answer.headers["location"] == "http://example.com/news"
    with Session(shop.engine) as session:
        package = session.exec(select(Package).where(Package.name == "Day")).one()
        client = session.exec(select(Client).where(Client.username == "c0708374149")).one()
    assert client.phone == "+254708374149"
    [user] = [u for u in shop.router.rows("/ip/hotspot/user") if u["name"] == client.username]
    assert (user["profile"], user["mac-address"]) == (package.router_profile, MAC)
    assert [(s["user"], s["mac-address"]) for s in active(shop)] == [(client.username, MAC)]
    assert shop.hotspot.logins[0]["by"] == "http-chap"
    with Session(shop.engine) as session:
        [paid] = session.exec(select(MpesaTransaction)).all()
    assert (paid.origin, paid.status) == ("portal", "applied")  # the console's source: portal


def test_a_cancelled_prompt_says_so_and_offers_a_retry_that_pays(shop: Shop) -> None:
    shop.daraja.outcomes[PHONE] = 1032
    phone, hotspot_url = shop.walk_in(MAC)
    cancelled = follow(phone, buy(phone, phone.get(hotspot_url), "Day"), "Payment cancelled")
    assert "Nothing was paid." in cancelled.text and active(shop) == []
    shop.daraja.outcomes[PHONE] = 0
    again = phone.submit(cancelled.form("/pay"))
    assert "Check your phone" in again.text
    assert "Connecting you" in follow(phone, again, "Connecting you").text


def test_an_unanswered_prompt_is_timed_out_with_a_retry(shop: Shop) -> None:
    shop.daraja.outcomes[PHONE] = 1037
    phone, hotspot_url = shop.walk_in(MAC)
    timed_out = follow(phone, buy(phone, phone.get(hotspot_url), "Day"), "No answer")
    assert "not answered in time" in timed_out.text
    assert timed_out.form("/pay").fields["phone"] == "0708374149"
