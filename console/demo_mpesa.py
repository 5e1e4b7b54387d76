"""M-Pesa in `wisp demo`: a Daraja simulator in this process, the console's receiver pointed at
it, and a customer who pays the paybill every few seconds.

Each payment goes the whole way a real one does: the simulator posts the C2B validation and
confirmation to the receiver over HTTP, the receiver stores and applies it, and the engine
delivers the renewal to the router. Most payments match a client; one in a while the customer
mistypes the account number and the payment waits, unmatched, for the operator to assign it.
"""

from __future__ import annotations

import itertools
import logging
import os
import secrets
import socket
import threading
from dataclasses import dataclass, field
from decimal import Decimal

from db.config import Settings
from db.mpesa import SECRET_NAMES
from scheduler.mpesa.daraja import DarajaClient, DarajaError
from scheduler.mpesa.receiver import callback_urls
from scheduler.mpesa.recovery import daraja_client
from scheduler.mpesa.serving import Served, bind, serve_in_thread
from scheduler.mpesa_sim.app import SANDBOX_PASSKEY, Daraja, build_app
from scheduler.portal.signing import SECRET_ENV as PORTAL_SECRET_ENV
from scheduler.sim import SimRouter
from scheduler.sim.hotspot_http import serve_hotspot_login

logger = logging.getLogger("wisp.demo")

CUSTOMER_PAYMENTS = (
    # the account number the customer types, the paying phone, the amount (KES)
    ("wanjiku", "0712000101", "1500"),  # renews Monthly 20M
    ("Otieno ", "0712000102", "50"),  # case and spaces do not count: renews Daily 5M
    ("kamau", "254712000104", "2500"),  # renews Home Fibre 10M on kisumu
    ("achieng", "0712000103", "300"),  # renews Weekly 10M
    ("kamua", "0712000104", "2500"),  # a typo: unmatched, for the operator to assign
    ("njeri", "+254712000105", "9000"),  # Business 50M and 1,000 kept as credit
)
DEMO_HOTSPOT = "nairobi-cbd"
"""The router whose hotspot the demo's walk-in customers come from."""
PAYMENT_EVERY = 8.0
"""Seconds between the simulated customer's payments."""
CALLBACK_DELAY = 2.0
"""Seconds the simulated phone takes to answer an STK Push (the operator's requests)."""


@dataclass
class DemoMpesa:
    """The simulator, the client that speaks to it, and the paying customer."""

    simulator: Served
    daraja: DarajaClient
    receiver_port: int
    stop: threading.Event = field(default_factory=threading.Event)
    customer: threading.Thread | None = None

    def start_customer(self, every: float = PAYMENT_EVERY) -> None:
        """Pay each of CUSTOMER_PAYMENTS in turn, over and over, every `every` seconds."""
        self.customer = threading.Thread(
            target=self._pay, args=(every,), name="demo-customer", daemon=True
        )
        self.customer.start()

    def _pay(self, every: float) -> None:
        for account, phone, amount in itertools.cycle(CUSTOMER_PAYMENTS):
            if self.stop.wait(every):
                return
            if not self.receiver_up():
                continue  # the console has not started its receiver yet
            try:
                self.daraja.simulate_c2b(
                    amount=Decimal(amount), msisdn=_daraja_msisdn(phone), bill_ref=account
                )
            except DarajaError as error:
                logger.warning("the demo customer could not pay: %s", error)

    def receiver_up(self) -> bool:
        """True when the console's receiver accepts connections."""
        try:
            with socket.create_connection(("127.0.0.1", self.receiver_port), timeout=1):
                return True
        except OSError:
            return False

    def close(self) -> None:
        self.stop.set()
        if self.customer:
            self.customer.join(timeout=5)
        self.daraja.close()
        self.simulator.stop()


def _daraja_msisdn(phone: str) -> str:
    digits = phone.strip().lstrip("+")
    return "254" + digits[1:] if digits.startswith("0") else digits


def free_port() -> int:
    """A loopback port nothing listens on now (the console's receiver binds it next)."""
    with bind("127.0.0.1", 0) as sock:
        return int(sock.getsockname()[1])


def start_mpesa(settings: Settings) -> DemoMpesa:
    """Start the simulator and point `settings` (the console's) at it; the caller must close it.

    The credentials and the callback token are the demo's own, set in this process only.
    """
    os.environ[SECRET_NAMES["consumer_key"]] = "demo-consumer-key"
    os.environ[SECRET_NAMES["consumer_secret"]] = "demo-consumer-secret"
    os.environ[SECRET_NAMES["passkey"]] = SANDBOX_PASSKEY
    token = secrets.token_urlsafe(24)
    os.environ[SECRET_NAMES["callback_token"]] = token
    simulator = serve_in_thread(build_app(Daraja(callback_delay=CALLBACK_DELAY, seed=254)))
    port = free_port()
    mpesa = settings.mpesa
    mpesa.base_url = simulator.url
    mpesa.listen = f"127.0.0.1:{port}"
    mpesa.callback_base_url = f"http://127.0.0.1:{port}"
    mpesa.query_after = 10.0
    mpesa.recovery_interval = 5.0
    daraja = daraja_client(settings)
    try:
        urls = callback_urls(mpesa.callback_base_url, token)
        daraja.register_c2b(
            confirmation_url=urls["confirmation"], validation_url=urls["validation"]
        )
    except BaseException:
        daraja.close()
        simulator.stop()
        raise
    return DemoMpesa(simulator, daraja, port)


@dataclass
class DemoPortal:
    """The captive portal the console serves, and a router's hotspot login page sending phones
    to it, as a walk-in customer meets them."""

    portal_url: str
    hotspot: Served
    login_url: str

    def close(self) -> None:
        self.hotspot.stop()


def start_portal(settings: Settings, router: SimRouter, receiver_port: int) -> DemoPortal:
    """Turn the portal on in `settings` (it rides on the console's M-Pesa receiver) and serve the
    router's hotspot login page; the caller must close it."""
    os.environ[PORTAL_SECRET_ENV] = secrets.token_urlsafe(24)
    portal_url = f"http://127.0.0.1:{receiver_port}/portal"
    settings.portal.enabled = True
    settings.portal.public_url = portal_url
    settings.portal.router = DEMO_HOTSPOT
    page, served = serve_hotspot_login(router, portal_url + "/")
    login = f"{page.base_url}/login?mac=AA:BB:CC:00:00:01&ip=10.5.50.9&dst=http://example.com/"
    return DemoPortal(portal_url + "/", served, login)
