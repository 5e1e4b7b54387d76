"""A walk-in shop on one machine: a simulated router over TCP with its hotspot login page over
HTTP, the Daraja simulator, the callback receiver, the portal mounted at /portal of its own HTTP
server, and a provisioning engine draining the queue as `wisp run` would."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.routing import Mount

from db.config import Settings
from scheduler.mpesa.daraja import Credentials, DarajaClient
from scheduler.mpesa.serving import serve_in_thread
from scheduler.mpesa_sim.app import SANDBOX_PASSKEY, SANDBOX_SHORTCODE, Daraja, build_app
from scheduler.portal.app import build_portal
from scheduler.sim import SimRouter
from scheduler.sim.hotspot_http import HotspotLogin, serve_hotspot_login
from tests import factories
from tests.mpesa.conftest import KEY, SECRET, TOKEN, receiving
from tests.portal.browser import Phone
from tests.scheduler.conftest import SIM_PASSWORD

PORTAL_SECRET = "portal-secret-0123456789abcdef"
PHONE = "254708374149"
"""The Daraja simulator's number for the customer (typed 0708 374 149 on the portal)."""


@dataclass
class Shop:
    engine: Engine
    settings: Settings
    router: SimRouter
    daraja: Daraja
    hotspot: HotspotLogin
    portal_url: str
    phones: list[Phone] = field(default_factory=list)

    def walk_in(self, mac: str, dst: str = "http://example.com/news") -> tuple[Phone, str]:
        """A phone joining the Wi-Fi: the hotspot's login page URL it is sent to."""
        self.phones.append(Phone())
        return self.phones[-1], f"{self.hotspot.base_url}/login?mac={mac}&ip=10.5.50.20&dst={dst}"


@contextlib.contextmanager
def draining(engine: Engine) -> Iterator[None]:
    """A provisioning engine draining the queue every 0.2 s, as `wisp run` would."""
    from scheduler.engine.service import ProvisioningService

    service = ProvisioningService(Settings(), engine, worker="portal-drain")
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(0.2):
            service.drain_once()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)
        service.shutdown(wait=True)


@contextlib.contextmanager
def walk_in_shop(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, *, chap: bool = True, **portal: object
) -> Iterator[Shop]:
    """Router r1 selling "Day" (50, 1 day, 5M, one device) and "Week" (300, 7 days, two
    devices) to walk-in customers through the portal."""
    for name, value in {
        "WISP_PORTAL_SECRET": PORTAL_SECRET,
        "WISP_MPESA_CONSUMER_KEY": KEY,
        "WISP_MPESA_CONSUMER_SECRET": SECRET,
        "WISP_MPESA_PASSKEY": SANDBOX_PASSKEY,
        "WISP_MPESA_CALLBACK_TOKEN": TOKEN,
    }.items():
        monkeypatch.setenv(name, value)
    state = Daraja(consumer_key=KEY, consumer_secret=SECRET, callback_delay=0.2, seed=7)
    daraja_served = serve_in_thread(build_app(state))
    settings = Settings()
    settings.mpesa.base_url = daraja_served.url
    settings.mpesa.query_after = 1.0
    settings.portal.router = "r1"
    settings.portal.refresh_seconds = 1
    for key, value in portal.items():
        setattr(settings.portal, key, value)
    try:
        with SimRouter(password=SIM_PASSWORD) as router, receiving(engine, settings) as hooks:
            factories.router(engine, port=router.port, password=SIM_PASSWORD)
            factories.package(engine, "Day", validity="1d", price="50", rate="5M", devices=1)
            factories.package(engine, "Week", validity="7d", price="300", rate="10M", devices=2)
            settings.mpesa.callback_base_url = hooks.rsplit("/hooks/", 1)[0]
            app = build_portal(
                engine,
                settings,
                daraja_factory=lambda: DarajaClient(
                    daraja_served.url,
                    SANDBOX_SHORTCODE,
                    Credentials(KEY, SECRET, SANDBOX_PASSKEY),
                    timeout=10,
                ),
            )
            site = serve_in_thread(Starlette(routes=[Mount("/portal", app=app)]))
            hotspot, login_page = serve_hotspot_login(router, f"{site.url}/portal/", chap=chap)
            made = Shop(engine, settings, router, state, hotspot, f"{site.url}/portal/")
            try:
                with draining(engine):
                    yield made
            finally:
                for phone in made.phones:
                    phone.close()
                login_page.stop()
                site.stop()
    finally:
        daraja_served.stop()


@pytest.fixture
def shop(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shop]:
    """The walk-in shop on each database."""
    with walk_in_shop(engine, monkeypatch) as made:
        yield made


@pytest.fixture
def sqlite_shop(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shop]:
    """The walk-in shop on SQLite only."""
    with walk_in_shop(sqlite_engine, monkeypatch) as made:
        yield made
