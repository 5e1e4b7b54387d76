"""The three promises under random operations, against a simulated router over real TCP.

A hypothesis state machine pays, renews, changes package (both ways), moves clients between
hotspot and PPPoE, lets time pass and expire, imports the router, repairs drift, and takes the
router down and up, draining the queue with the real engine after each step. After every step:

- every enabled router account of ours that the queue has delivered has an active subscription
  paying for it, and every active, delivered subscription has exactly one enabled account on the
  router with its package's profile;
- every object on the router that is not ours is byte-identical to how it was (an adopted one keeps
  its comment text and the limits we do not model);
- the time the database grants each client equals what they paid for, to the second per operation.

Time is virtual: every `utcnow` of the product is moved forward by the machine's clock.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

import db.types
from db.activation import ActivationService, remaining
from db.catalog import PackageSpec, Refused, add_package, get_router
from db.config import RouterSettings, Settings
from db.engine import make_engine, session_scope
from db.expiry import expire_due
from db.models import Client, Package, Payment, RouterProvisioning, Subscription
from scheduler.engine.drain import Drainer
from scheduler.engine.profiles import profiles_on_router
from scheduler.reconcile.compare import reconcile
from scheduler.reconcile.fix import queue_fixes
from scheduler.reconcile.import_plan import plan_import
from scheduler.reconcile.import_write import apply_import
from scheduler.routeros.actions import is_owned
from scheduler.routeros.client import Endpoint, RouterClient
from scheduler.sim import SimRouter
from tests import factories
from tests.conftest import emptied, fresh_sqlite_url

SIM_PASSWORD = "secret-pw"
USERS = "/ip/hotspot/user"
SECRETS = "/ppp/secret"
HS_PROFILES = "/ip/hotspot/user/profile"
PPP_PROFILES = "/ppp/profile"
MENUS = {"hotspot": USERS, "pppoe": SECRETS}
CLIENTS = ("kevin", "juma", "amina", "newguy")
PACKAGES = {
    # name: (type, validity, rate, price)
    "Hour 2M": ("hotspot", "1h", "2M", "10"),
    "Day 10M": ("hotspot", "1d", "10M", "50"),
    "Week 5M": ("hotspot", "7d", "5M", "300"),
    "Data 1G": ("hotspot", "1d", "3M", "40"),
    "Home 10M": ("pppoe", "7d", "10M", "700"),
}
DATA_LIMITS = {"Data 1G": "1G"}
"""Packages that cap traffic: their accounts carry limit-bytes-total, the others none of ours."""
SECONDS = {"1h": 3600, "1d": 86400, "7d": 7 * 86400}
FOREIGN = (
    # What another tool or a person made on the router before WISP Console arrived.
    (HS_PROFILES, {"name": "HOTSPOT_10M_PERSONAL", "rate-limit": "5M/10M", "shared-users": "1"}),
    (USERS, {"name": "newguy", "password": "theirs-1"}),
    (
        USERS,
        {
            "name": "walkin",
            "password": "walk-9",
            "profile": "HOTSPOT_10M_PERSONAL",
            "comment": "M-Pesa QJ03961893 0703531092",
            "limit-bytes-total": "5000000",
            "mac-address": "02:00:00:00:00:33",
        },
    ),
    (SECRETS, {"name": "shop", "password": "s", "service": "pppoe", "remote-address": "10.9.0.2"}),
)
KEPT = ("limit-bytes-total", "limit-uptime", "mac-address", "remote-address")
"""Fields an adopted account keeps, whatever we write."""

ROUTER_TIMEOUTS = RouterSettings(connect_timeout=30.0, command_timeout=30.0)
"""No loaded machine reaches them (the simulator never hangs here): seen at 5 s under a load of
15, the router was taken as stuck and the case could not be replayed."""


class Clock:
    """The machine's time: real time moved forward by `offset`."""

    def __init__(self) -> None:
        self.offset = timedelta()
        self.real = db.types.utcnow

    def __call__(self) -> datetime:
        return self.real() + self.offset


@contextmanager
def virtual_time(clock: Clock) -> Iterator[None]:
    """Every module that took `utcnow` from db.types reads the machine's clock instead."""
    patched = [
        module
        for module in list(sys.modules.values())
        if module is not None and getattr(module, "utcnow", None) is clock.real
    ]
    for module in patched:
        module.utcnow = clock  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for module in patched:
            module.utcnow = clock.real  # type: ignore[attr-defined]


class PaidEqualsGranted(RuleBasedStateMachine):
    """One router, four clients, four packages; see the module docstring."""

    fresh_url: Callable[[], str] = staticmethod(lambda: "")  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.sim = SimRouter(password=SIM_PASSWORD).start()
        self.engine: Engine = make_engine(type(self).fresh_url())
        self.settings = Settings(routers=ROUTER_TIMEOUTS)
        self.settings.queue.backoff_base = 0.01
        self.settings.queue.backoff_max = 0.01
        self.service = ActivationService(self.engine, self.settings)
        self.refs = itertools.count(1)
        self.expected: dict[str, float] = dict.fromkeys(CLIENTS, 0.0)
        self.operations: dict[str, int] = dict.fromkeys(CLIENTS, 0)
        self.adopted: set[str] = set()
        with self._admin() as admin:
            for path, values in FOREIGN:
                admin.add(path, values)
        self.foreign = self._foreign_rows()
        factories.router(self.engine, port=self.sim.port, password=SIM_PASSWORD)
        self._add_packages()
        for username in CLIENTS:
            factories.client(self.engine, username, full_name=username.title())
        self.router_up = True

    def _add_packages(self) -> None:
        """As `wisp package add` does: a profile name the router has, not ours, is not taken."""
        with Session(self.engine) as session:
            router = get_router(session, "r1")
        for name, (service, validity, rate, price) in PACKAGES.items():
            spec = PackageSpec(
                name=name,
                type=service,
                router="r1",
                price=price,
                validity=validity,
                rate=rate,
                data_limit=DATA_LIMITS.get(name),
            )
            on_router = profiles_on_router(router, self.settings.routers, service)
            with session_scope(self.engine) as session:
                add_package(session, spec, on_router=on_router)
        with Session(self.engine) as session:
            day = session.scalars(select(Package).where(col(Package.name) == "Day 10M")).one()
            assert day.router_profile == "HOTSPOT_10M_PERSONAL_WC", day.router_profile

    def teardown(self) -> None:
        self.engine.dispose()
        self.sim.stop()

    # -- operations ----------------------------------------------------------------------------

    @rule(
        client=st.sampled_from(CLIENTS),
        package=st.sampled_from(sorted(PACKAGES)),
        change=st.sampled_from([None, "after_current", "switch_now"]),
        with_ref=st.booleans(),
    )
    def pay(self, client: str, package: str, change: str | None, with_ref: bool) -> None:
        before = self._time_left(client)
        payments = self._count(Payment)
        ref = f"QT{next(self.refs):08d}" if with_ref else None
        with virtual_time(self.clock):
            try:
                result = self.service.activate(
                    client, package, ref, method=None if ref else "cash", change=change
                )
            except Refused:
                assert self._count(Payment) == payments, "a refused activation wrote a payment"
                return
        self.operations[client] += 1
        bought = SECONDS[PACKAGES[package][1]]
        if result.outcome == "switched":
            self.expected[client] += bought + self._converted(before, package) - before[1]
        else:
            self.expected[client] += bought

    @rule(client=st.sampled_from(CLIENTS))
    def renew(self, client: str) -> None:
        """The same package again: one more validity from the current expiry."""
        running = self._running_package(client)
        if running is not None:
            self.pay(client, running, None, True)

    @rule(
        client=st.sampled_from(CLIENTS),
        package=st.sampled_from(sorted(PACKAGES)),
        change=st.sampled_from(["after_current", "switch_now"]),
    )
    def change_package(self, client: str, package: str, change: str) -> None:
        """Another package (another service too) while one runs, the operator having chosen."""
        self.pay(client, package, change, False)

    @rule(package=st.sampled_from(["Hour 2M", "Day 10M", "Data 1G"]))
    def take_over_newguy(self, package: str) -> None:
        """The operator adopts the hotspot user someone else made (`--adopt`), paying for it."""
        if self._running_package("newguy") is not None:
            return
        with virtual_time(self.clock):
            self.service.activate("newguy", package, method="cash", adopt=True)
        self.operations["newguy"] += 1
        self.expected["newguy"] += SECONDS[PACKAGES[package][1]]
        self.adopted.add("newguy")

    @rule(client=st.sampled_from(CLIENTS))
    def repeat_a_payment(self, client: str) -> None:
        """A repeated receipt (M-Pesa retrying its callback) changes nothing."""
        with Session(self.engine) as session:
            done = session.scalars(
                select(Payment.reference).where(col(Payment.reference).is_not(None))
            ).first()
        if done is None:
            return
        payments = self._count(Payment)
        with virtual_time(self.clock), pytest.raises(Refused):
            self.service.activate(client, "Hour 2M", done)
        assert self._count(Payment) == payments

    @rule(minutes=st.sampled_from([10, 70, 25 * 60, 8 * 24 * 60]))
    def time_passes(self, minutes: int) -> None:
        self.clock.offset += timedelta(minutes=minutes)
        with virtual_time(self.clock):
            expire_due(self.engine, action=self.settings.scheduler.expiry_action)

    @precondition(lambda self: self.router_up)
    @rule()
    def router_goes_down(self) -> None:
        self.sim.down()
        self.router_up = False

    @precondition(lambda self: not self.router_up)
    @rule()
    def router_comes_back(self) -> None:
        self.sim.up()
        self.router_up = True
        self.clock.offset += timedelta(minutes=2)  # past any pause the engine put on it

    @precondition(lambda self: self.router_up)
    @rule()
    def reconcile_and_fix(self) -> None:
        with virtual_time(self.clock):
            queue_fixes(self.engine, reconcile(self.engine, self.settings, "r1"))

    @precondition(lambda self: self.router_up)
    @rule()
    def import_the_router(self) -> None:
        with virtual_time(self.clock):
            plan = plan_import(self.engine, self.settings, "r1", validity="1d")
            apply_import(self.engine, plan)
        with Session(self.engine) as session:
            self.adopted |= set(
                session.scalars(
                    # An import adopts what it imports and what an activation was refused.
                    select(RouterProvisioning.router_username).where(col(RouterProvisioning.adopt))
                )
            )

    def _drain(self) -> None:
        drainer = Drainer(self.settings, self.engine, worker="machine", lanes=2)
        with virtual_time(self.clock):
            try:
                drainer.drain_once()
            finally:
                drainer.stop()

    # -- the promises --------------------------------------------------------------------------

    @invariant()
    def promises_hold(self) -> None:
        self._drain()
        self._nothing_foreign_changed()
        if self.router_up:
            self._enabled_accounts_are_paid_for()
            self._delivered_subscriptions_are_on_the_router()
        self._granted_equals_paid()

    def _nothing_foreign_changed(self) -> None:
        if not self.router_up:
            return
        now = self._foreign_rows()
        for key, before in self.foreign.items():
            path, name = key
            after = now.get(key)
            if name in self.adopted and path != HS_PROFILES:
                assert after is not None, f"adopted {name} vanished"
                assert before.get("comment", "") in after.get("comment", ""), (name, after)
                modelled = self._data_limited(name)  # a data package sets its own limit
                for field in KEPT:
                    if field == "limit-bytes-total" and modelled:
                        continue
                    unset = "0" if field == "limit-bytes-total" else None  # 0 is no limit
                    assert after.get(field, unset) == before.get(field, unset), (name, field, after)
            else:
                assert after == before, f"{path} {name} is not ours and changed: {after}"

    def _enabled_accounts_are_paid_for(self) -> None:
        with Session(self.engine) as session:
            rows = self._account_rows(session)
            paying = self._paying(session)
        for service, path in MENUS.items():
            for item in self.sim.rows(path):
                if not is_owned(item.get("comment")) or item.get("disabled") == "true":
                    continue
                row = rows.get((service, item["name"]))
                if row is None or row.status != "completed":
                    continue
                assert (item["name"], service) in paying, (
                    f"{service} account {item['name']} is enabled with nothing paying for it"
                )

    def _delivered_subscriptions_are_on_the_router(self) -> None:
        on_router = {
            (service, item["name"]): item
            for service, path in MENUS.items()
            for item in self.sim.rows(path)
        }
        with Session(self.engine) as session:
            rows = self._account_rows(session)
            packages = {p.id: p for p in session.scalars(select(Package))}
            for subscription, username in session.execute(
                select(Subscription, Client.username)
                .join(Client, col(Client.id) == col(Subscription.client_id))
                .where(
                    col(Subscription.status) == "active",
                    col(Subscription.delivered_at).is_not(None),
                    col(Subscription.paused_at).is_(None),  # a suspended client's is disabled
                )
            ).all():
                package = packages[subscription.package_id]
                row = rows.get((package.type, username))
                if row is None or row.status != "completed":
                    continue
                item = on_router.get((package.type, username))
                assert item is not None, f"{username} paid and has no {package.type} account"
                assert item.get("disabled") != "true", f"{username} paid and is disabled"
                assert item["profile"] == package.router_profile, (username, item["profile"])
                if package.type == "hotspot" and username not in self.adopted:
                    limit = str(package.hotspot_data_limit or 0)
                    assert item.get("limit-bytes-total", "0") == limit, (username, item)
                for other in set(MENUS) - {package.type}:
                    twin = on_router.get((other, username))
                    twin_row = rows.get((other, username))
                    if twin is not None and twin_row is not None and twin_row.status == "completed":
                        assert twin.get("disabled") == "true", (
                            f"{username} has an enabled {other} account beside {package.type}"
                        )

    def _granted_equals_paid(self) -> None:
        with Session(self.engine) as session:
            for username in CLIENTS:
                granted = sum(
                    # The time its clock stood while the client was suspended is not granted.
                    (s.expires_on - s.start_date).total_seconds() - s.paused_seconds
                    for s in session.scalars(
                        select(Subscription)
                        .join(Client, col(Client.id) == col(Subscription.client_id))
                        .where(col(Client.username) == username)
                    )
                )
                slack = 1.0 * self.operations[username] + 1.0
                assert abs(granted - self.expected[username]) <= slack, (
                    f"{username}: granted {granted} s, paid for {self.expected[username]} s"
                )

    # -- helpers -------------------------------------------------------------------------------

    def _time_left(self, client: str) -> tuple[list[tuple[Decimal, int, float]], float]:
        """(price, validity seconds, seconds left) of each running subscription, and their sum."""
        now = self.clock()
        with Session(self.engine) as session:
            running = session.execute(
                select(Subscription, Package)
                .join(Package, col(Package.id) == col(Subscription.package_id))
                .join(Client, col(Client.id) == col(Subscription.client_id))
                .where(col(Client.username) == client, col(Subscription.status) == "active")
            ).all()
        parts = [
            (
                package.price,
                SECONDS[PACKAGES[package.name][1]],
                remaining(subscription, now).total_seconds(),
            )
            for subscription, package in running
            if subscription.expires_on > now
            or (subscription.starts_on_delivery and subscription.delivered_at is None)
        ]
        return parts, sum(left for _, _, left in parts)

    def _converted(
        self, before: tuple[list[tuple[Decimal, int, float]], float], package: str
    ) -> float:
        """Time on `package` worth the unused value of what ran before, by price."""
        _, validity, rate, price = PACKAGES[package]
        value = sum(p * Decimal(left) / Decimal(v) for p, v, left in before[0])
        return float(value / Decimal(price) * SECONDS[validity])

    def _data_limited(self, username: str) -> bool:
        """Whether the package last queued for this hotspot account caps its traffic."""
        with Session(self.engine) as session:
            package = session.scalars(
                select(Package)
                .join(RouterProvisioning, col(RouterProvisioning.package_id) == col(Package.id))
                .where(
                    col(RouterProvisioning.router_username) == username,
                    col(RouterProvisioning.service_type) == "hotspot",
                )
            ).first()
        return package is not None and package.hotspot_data_limit is not None

    def _running_package(self, client: str) -> str | None:
        with Session(self.engine) as session:
            return session.scalars(
                select(Package.name)
                .join(Subscription, col(Subscription.package_id) == col(Package.id))
                .join(Client, col(Client.id) == col(Subscription.client_id))
                .where(col(Client.username) == client, col(Subscription.status) == "active")
            ).first()

    def _paying(self, session: Session) -> set[tuple[str, str]]:
        return {
            (username, service)
            for username, service in session.execute(
                select(Client.username, Package.type)
                .join(Subscription, col(Subscription.client_id) == col(Client.id))
                .join(Package, col(Package.id) == col(Subscription.package_id))
                .where(col(Subscription.status) == "active")
            ).all()
        }

    def _account_rows(self, session: Session) -> dict[tuple[str, str], RouterProvisioning]:
        return {
            (row.service_type, row.router_username): row
            for row in session.scalars(select(RouterProvisioning))
        }

    def _foreign_rows(self) -> dict[tuple[str, str], dict[str, str]]:
        names = {(path, values["name"]) for path, values in FOREIGN}
        return {
            (path, row["name"]): row
            for path in {path for path, _ in FOREIGN}
            for row in self.sim.rows(path)
            if (path, row["name"]) in names
        }

    @contextmanager
    def _admin(self) -> Iterator[RouterClient]:
        endpoint = Endpoint("r1", "127.0.0.1", self.sim.port, "admin", SIM_PASSWORD)
        with RouterClient(endpoint, ROUTER_TIMEOUTS) as client:
            yield client

    def _count(self, model: Any) -> int:
        with Session(self.engine) as session:
            return len(session.scalars(select(model.id)).all())


def run_machine(
    fresh_url: Callable[[], str],
    examples: int,
    steps: int,
    machine: type[PaidEqualsGranted] = PaidEqualsGranted,
) -> None:
    machine = type("Machine", (machine,), {"fresh_url": staticmethod(fresh_url)})
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=False,
        ),
    )


def sqlite_databases(template: Path, tmp_path: Path) -> Callable[[], str]:
    """A new migrated SQLite database at each call, each in a folder of its own."""
    folders = (tmp_path / f"run{n}" for n in itertools.count())

    def fresh() -> str:
        folder = next(folders)
        folder.mkdir()
        return fresh_sqlite_url(template, folder)

    return fresh


@pytest.mark.timeout(1800)  # hundreds of steps over TCP: long on a machine loaded with other work
def test_paid_equals_granted_on_sqlite(sqlite_template: Path, tmp_path: Path) -> None:
    run_machine(sqlite_databases(sqlite_template, tmp_path), examples=25, steps=14)


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_paid_equals_granted_on_a_server(backend: str, server_databases: dict[str, str]) -> None:
    from tests.conftest import server_url

    url = server_url(backend, server_databases)
    run_machine(lambda: emptied(url), examples=4, steps=12)
