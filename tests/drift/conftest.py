"""A simulated router with a realistic mix for drift and import tests.

`drifted` builds, on one router: our accounts delivered by the real engine, then what operators and
other tools do behind the console's back (a foreign user, a foreign PPPoE secret with a remote
address, a foreign profile, an account moved to another profile, one disabled, one with a new
password, one deleted, a profile's burst rate limit edited, and an account tagged as ours that the
database never heard of).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy.engine import Engine

from db.activation import ActivationService
from db.config import RouterSettings, Settings
from scheduler.engine.drain import Drainer
from scheduler.routeros.client import Endpoint, RouterClient
from scheduler.sim import SimRouter
from tests import factories

SIM_PASSWORD = "secret-pw"
USERS = "/ip/hotspot/user"
SECRETS = "/ppp/secret"
HS_PROFILES = "/ip/hotspot/user/profile"
PPP_PROFILES = "/ppp/profile"
BURST_PROFILE = "HOTSPOT_20M_B40M-16M-10S_PERSONAL"


@pytest.fixture
def sim() -> Iterator[SimRouter]:
    """A started simulated router whose admin password is SIM_PASSWORD."""
    with SimRouter(password=SIM_PASSWORD) as router:
        yield router


@pytest.fixture
def settings() -> Settings:
    """Default settings with short router timeouts."""
    return Settings(routers=RouterSettings(connect_timeout=2.0, command_timeout=5.0))


@pytest.fixture
def admin(sim: SimRouter) -> Iterator[RouterClient]:
    """A router client acting as the operator in Winbox: changes behind the console's back."""
    endpoint = Endpoint("r1", "127.0.0.1", sim.port, "admin", SIM_PASSWORD)
    with RouterClient(endpoint, RouterSettings(connect_timeout=2.0, command_timeout=5.0)) as client:
        yield client


def drain(engine: Engine, settings: Settings) -> None:
    """Deliver every due job with the real engine."""
    drainer = Drainer(settings, engine, worker="test", lanes=2)
    try:
        drainer.drain_once()
    finally:
        drainer.stop()


def item_id(client: RouterClient, path: str, name: str) -> str:
    """The .id of the item named `name`."""
    return client.print(path, where={"name": name}, proplist=(".id",))[0][".id"]


@dataclass
class Drifted:
    """The router and database of the `drifted` fixture."""

    engine: Engine
    settings: Settings
    sim: SimRouter
    admin: RouterClient


def our_accounts(engine: Engine, sim: SimRouter, settings: Settings) -> None:
    """A router, three packages (one with burst, one PPPoE), six clients delivered by the engine."""
    factories.router(engine, port=sim.port, password=SIM_PASSWORD)
    factories.package(engine, "Home 10M")
    factories.package(
        engine, "Boost 20M", rate="20M", burst="40M", burst_threshold="16M", burst_time="10s"
    )
    factories.package(engine, "Fibre 20M", type="pppoe", rate="20M", upload="10M")
    service = ActivationService(engine)
    for username, package in (
        ("alice", "Home 10M"),
        ("bob", "Home 10M"),
        ("carol", "Home 10M"),
        ("dave", "Home 10M"),
        ("erin", "Boost 20M"),
        ("frank", "Fibre 20M"),
    ):
        factories.client(engine, username, full_name=username.title())
        service.activate(username, package)
    drain(engine, settings)


def drift_behind_our_back(admin: RouterClient) -> None:
    """One of each kind of drift, plus foreign objects that must never be touched."""
    admin.add(HS_PROFILES, {"name": "OLD_PLAN", "rate-limit": "1M/1M"})
    admin.add(
        USERS,
        {
            "name": "walkin1",
            "password": "walk-pw-9",
            "profile": "OLD_PLAN",
            "comment": "M-Pesa QA12345678",
        },
    )
    admin.add(
        SECRETS,
        {"name": "shop-router", "password": "x", "service": "pppoe", "remote-address": "10.9.0.2"},
    )
    admin.set(USERS, item_id(admin, USERS, "alice"), {"profile": "OLD_PLAN"})
    admin.set(USERS, item_id(admin, USERS, "bob"), {"disabled": "yes"})
    admin.set(USERS, item_id(admin, USERS, "carol"), {"password": "changed-by-hand"})
    admin.remove(USERS, [item_id(admin, USERS, "dave")])
    admin.set(HS_PROFILES, item_id(admin, HS_PROFILES, BURST_PROFILE), {"rate-limit": "20M/20M"})
    # Ours by its tag, but the database has no row for it (a lost or restored database).
    admin.add(USERS, {"name": "ghost", "password": "g", "comment": "wisp-console:999"})
    # An extra property on our PPPoE secret is not drift: the console does not manage it.
    admin.set(SECRETS, item_id(admin, SECRETS, "frank"), {"remote-address": "10.9.0.7"})


@pytest.fixture
def drifted(
    sqlite_engine: Engine, sim: SimRouter, settings: Settings, admin: RouterClient
) -> Drifted:
    """Our accounts on the router, then one of each kind of drift (see the module docstring)."""
    our_accounts(sqlite_engine, sim, settings)
    drift_behind_our_back(admin)
    return Drifted(sqlite_engine, settings, sim, admin)
