"""The walk-in path in a real headless Chromium (Debian's) at a phone's 360x740: the hotspot's
login page, the portal, an STK Push paid, cancelled or unanswered on the Daraja simulator, the
device logged in at the simulated router by the auto-submitted form, then the page first asked
for; a voucher; a receipt code refused on a second device. Screenshots of each page are kept
under the test's tmp dir (screens/)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from db import vouchers
from scheduler.mpesa.serving import Served, serve_in_thread
from tests.portal.conftest import PHONE, Shop
from tests.waiting import wait_for

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None and os.environ.get("CI") != "true",
    reason=f"{CHROMIUM} is not installed (apt-get install chromium); under CI it must be",
)
FIRST, SECOND = "AA:BB:CC:00:10:01", "AA:BB:CC:00:10:02"


@pytest.fixture
def origin() -> Iterator[Served]:
    """The site the customer first asked for (link-orig), where the login ends."""

    async def news(request: object) -> HTMLResponse:
        return HTMLResponse("<!doctype html><title>News</title><h1>Today's news</h1>")

    served = serve_in_thread(Starlette(routes=[Route("/news", news)]))
    yield served
    served.stop()


@pytest.fixture
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


class Screens:
    """A phone's browser tab, keeping a screenshot of each page it is asked to."""

    def __init__(self, browser: object, folder: Path) -> None:
        self.context = browser.new_context(  # type: ignore[attr-defined]
            viewport={"width": 360, "height": 740}, device_scale_factor=1, is_mobile=True
        )
        self.page = self.context.new_page()
        self.page.set_default_timeout(60_000)
        self.folder = folder
        folder.mkdir(exist_ok=True)

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.folder / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()


def open_portal(tab: Screens, shop: Shop, mac: str, origin: Served) -> None:
    dst = f"{origin.url}/news"
    tab.page.goto(f"{shop.hotspot.base_url}/login?mac={mac}&ip=10.5.50.40&dst={dst}")
    tab.page.wait_for_selector("text=Buy internet")


def pay(tab: Screens, package: str) -> None:
    tab.page.locator(".card", has_text=re.compile(rf"^\s*{package}\s")).get_by_role("link").click()
    tab.page.fill("#phone", "0708 374 149")
    tab.shot("2-phone")
    tab.page.get_by_role("button", name="Send M-Pesa prompt").click()


def test_walk_in_paid_cancelled_timed_out_voucher_and_receipt_in_chromium(
    sqlite_shop: Shop, browser: object, origin: Served, tmp_path: Path
) -> None:
    shop = sqlite_shop
    screens = tmp_path / "screens"
    tab = Screens(browser, screens)
    # Cancelled, then timed out, then paid.
    shop.daraja.outcomes[PHONE] = 1032
    open_portal(tab, shop, FIRST, origin)
    tab.shot("1-packages")
    pay(tab, "Day")
    tab.page.wait_for_selector("text=Payment cancelled")
    tab.shot("4-cancelled")
    shop.daraja.outcomes[PHONE] = 1037
    tab.page.get_by_role("button", name="Try again").click()
    tab.page.wait_for_selector("text=No answer from your phone")
    tab.shot("5-timed-out")
    shop.daraja.callback_delay = 3.0
    shop.daraja.outcomes[PHONE] = 0
    tab.page.get_by_role("button", name="Try again").click()
    tab.page.wait_for_selector("text=Check your phone")
    tab.shot("3-waiting")
    tab.page.wait_for_url(f"{origin.url}/news")
    tab.shot("6-logged-in")
    [session] = shop.router.rows("/ip/hotspot/active")
    assert (session["user"], session["mac-address"]) == ("c0708374149", FIRST)
    receipt = shop.daraja.payments[0].receipt
    # The receipt on another device: refused.
    other = Screens(browser, screens)
    open_portal(other, shop, SECOND, origin)
    other.page.fill("#receipt", receipt)
    other.page.get_by_role("button", name="Reconnect").click()
    other.page.wait_for_selector("text=already in use on 1 device")
    other.shot("7-receipt-refused")
    # A voucher on that device instead.
    code = vouchers.generate(shop.engine, package="Day", count=1, created_by="ops").codes[0]
    wait_for(lambda: code in {u["name"] for u in shop.router.rows("/ip/hotspot/user")})
    open_portal(other, shop, SECOND, origin)
    other.page.fill("#code", code)
    other.shot("8-voucher")
    other.page.get_by_role("button", name="Connect", exact=True).click()
    other.page.wait_for_url(f"{origin.url}/news")
    users = sorted(s["user"] for s in shop.router.rows("/ip/hotspot/active"))
    assert users == sorted(["c0708374149", code])
    tab.close()
    other.close()
    assert len(list(screens.glob("*.png"))) == 8
