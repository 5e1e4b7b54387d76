"""`wisp demo`: a fresh SQLite database, simulated routers in this process and sample data.

Each run starts clean in a temporary folder, removed on exit. Routers are lab routers
(scheduler.sim) speaking the real RouterOS API over TCP on loopback; some of their users are
already online. One router is down, to show how the console reports it, and one PPPoE router
refuses its first writes, so that a job fails and can be retried from the console. A Daraja
simulator takes M-Pesa payments (console.demo_mpesa): a customer pays every few seconds, and the
operator's STK Push requests are answered by a simulated phone. A batch of hotspot vouchers is
on sale at the busiest router, put there as bulk work after the paid activations.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy.engine import Engine

from console.demo_mpesa import (
    DEMO_HOTSPOT,
    PAYMENT_EVERY,
    DemoMpesa,
    DemoPortal,
    start_mpesa,
    start_portal,
)
from db import catalog, vouchers
from db.activation import ActivationService
from db.config import Settings
from db.engine import make_engine, session_scope, upgrade
from db.secrets import SECRET_KEY_ENV
from scheduler.routeros.actions import MENUS
from scheduler.sim import SimFleet

ROUTERS = (
    # name, API password, seeded hotspot users
    ("nairobi-cbd", "demo-cbd-pw", 400),
    ("kisumu", "demo-ksm-pw", 80),
    ("eldoret", "demo-eld-pw", 20),
)
PACKAGES = (
    catalog.PackageSpec("Daily 5M", "hotspot", "nairobi-cbd", "50", "1d", "5M", upload="2M"),
    catalog.PackageSpec("Weekly 10M", "hotspot", "nairobi-cbd", "300", "7d", "10M", upload="5M"),
    catalog.PackageSpec(
        "Monthly 20M",
        "hotspot",
        "nairobi-cbd",
        "1500",
        "30d",
        "20M",
        upload="10M",
        burst="40M",
        burst_threshold="16M",
        burst_time="10s",
        upload_burst="20M",
        upload_burst_threshold="8M",
        upload_burst_time="10s",
        devices=3,
    ),
    catalog.PackageSpec("Home Fibre 10M", "pppoe", "kisumu", "2500", "30d", "10M", upload="5M"),
    catalog.PackageSpec(
        "Business 50M", "pppoe", "kisumu", "8000", "30d", "50M", account_type="business"
    ),
    catalog.PackageSpec("Campus 5M", "hotspot", "eldoret", "100", "1d", "5M"),
)
CLIENTS = (
    ("wanjiku", "Grace Wanjiku", "+254712000101"),
    ("otieno", "Brian Otieno", "+254712000102"),
    ("achieng", "Mercy Achieng", "+254712000103"),
    ("kamau", "Peter Kamau", "+254712000104"),
    ("njeri", "Faith Njeri", "+254712000105"),
    ("mwangi", "John Mwangi", "+254712000106"),
    ("akinyi", "Sharon Akinyi", "+254712000107"),
    ("kiprono", "Dennis Kiprono", "+254712000108"),
    ("chebet", "Ivy Chebet", "+254712000109"),
    ("omondi", "Kevin Omondi", "+254712000110"),
    ("halima", "Halima Said", "+254712000111"),
    ("baraka", "Baraka Juma", "+254712000112"),
)
ACTIVATIONS = (
    ("wanjiku", "Monthly 20M", "QK7D1A2B3C"),
    ("otieno", "Daily 5M", "QK7D1A2B3D"),
    ("achieng", "Weekly 10M", None),
    ("kamau", "Home Fibre 10M", "QK7D1A2B3E"),
    ("njeri", "Business 50M", "QK7D1A2B3F"),
    ("kiprono", "Campus 5M", None),
)
"""Paid before the console opened: all but three reach their router at once (see the module)."""
VOUCHERS = ("Daily 5M", 40, "CBD")
"""A voucher batch made at start: package, count, code prefix."""
REFUSED_WRITES = 3
"""kisumu refuses this many PPPoE writes: with two attempts per job, one PPPoE job fails for good."""


def demo_settings(folder: Path) -> Settings:
    """Settings tuned to show things quickly: short retries, frequent health checks."""
    settings = Settings(source="(demo)")
    settings.database.url = f"sqlite:///{folder / 'demo.db'}"
    settings.queue.max_attempts = 2
    settings.queue.backoff_base = 1.0
    settings.queue.backoff_max = 3.0
    settings.scheduler.health_interval = 5.0
    settings.scheduler.drain_interval = 0.5
    settings.routers.connect_timeout = 1.0
    settings.routers.command_timeout = 3.0
    return settings


@dataclass
class Demo:
    """The demo's folder, database, settings and simulated routers."""

    folder: Path
    settings: Settings
    engine: Engine
    fleet: SimFleet
    passwords: dict[str, str] = field(default_factory=dict)
    mpesa: DemoMpesa | None = None
    portal: DemoPortal | None = None

    def close(self) -> None:
        """Stop the paying customer, M-Pesa and the routers, close the database and remove the
        folder."""
        if self.portal:
            self.portal.close()
        if self.mpesa:
            self.mpesa.close()
        self.fleet.stop()
        self.engine.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)


def ensure_secret_key() -> None:
    """The demo encrypts passwords too: give this process a key if the operator has none."""
    os.environ.setdefault(SECRET_KEY_ENV, Fernet.generate_key().decode())


def start_demo(folder: Path | None = None, *, payment_every: float | None = PAYMENT_EVERY) -> Demo:
    """Create everything the demo needs; the caller must `close()` it.

    A simulated customer pays every `payment_every` seconds once the console receives M-Pesa
    callbacks (None: nobody pays by themselves).
    """
    ensure_secret_key()
    folder = folder or Path(tempfile.mkdtemp(prefix="wisp-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    settings = demo_settings(folder)
    engine = make_engine(settings.database.url)
    upgrade(engine)
    fleet = SimFleet()
    for name, password, users in ROUTERS:
        fleet.add(name, password=password, seed_users=users)
    fleet.start()
    demo = Demo(folder, settings, engine, fleet)
    try:
        seed(demo)
        demo.mpesa = start_mpesa(settings)
        demo.portal = start_portal(settings, fleet[DEMO_HOTSPOT], demo.mpesa.receiver_port)
        if payment_every is not None:
            demo.mpesa.start_customer(payment_every)
    except BaseException:
        demo.close()
        raise
    return demo


def seed(demo: Demo) -> None:
    """Routers, packages, clients and paid activations; one router down, one refusing writes."""
    with session_scope(demo.engine) as session:
        for name, password, _ in ROUTERS:
            router = demo.fleet[name]
            catalog.add_router(
                session,
                name=name,
                host="127.0.0.1",
                port=router.port,
                username=router.username,
                password=password,
            )
        for spec in PACKAGES:
            # As `wisp package add` does: no profile name the router has and is not ours.
            profiles = demo.fleet[spec.router or ""].rows(MENUS[spec.type].profile)
            catalog.add_package(
                session, spec, on_router={row["name"]: row for row in profiles if "name" in row}
            )
        for username, full_name, phone in CLIENTS:
            catalog.add_client(session, username=username, full_name=full_name, phone=phone)
    demo.fleet["kisumu"].faults.trap(
        "/ppp/secret/add",
        "failure: could not add secret (out of licence slots)",
        times=REFUSED_WRITES,
    )
    demo.fleet["eldoret"].down()
    service = ActivationService(demo.engine)
    for client, package, reference in ACTIVATIONS:
        service.activate(client, package, reference)
    package, count, prefix = VOUCHERS
    vouchers.generate(
        demo.engine,
        package=package,
        count=count,
        created_by="demo",
        prefix=prefix,
        note="printed for the CBD kiosk",
    )
