"""Bulk work gives way to a customer's own account: in the queue's claims and in the drain."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine

from db.activation import ActivationService
from db.engine import session_scope
from db.models import RouterProvisioning
from db.queue import BULK
from db.types import utcnow
from scheduler.engine import way as way_module
from scheduler.engine.service import ProvisioningService
from scheduler.engine.way import Way
from scheduler.sim import SimRouter
from tests import factories
from tests.scheduler.bulk import queue_accounts
from tests.scheduler.conftest import SIM_PASSWORD, engine_settings
from tests.scheduler.processes import statuses
from tests.waiting import wait_for

ADD = "/ip/hotspot/user/add"


def on_each_batch(service: ProvisioningService, seen: Callable[[list[str]], object]) -> None:
    """`seen` is given the account names of each batch as the drain starts on it."""
    original = service.drainer._converge_batch

    def converge(router, jobs, **kwargs):  # type: ignore[no-untyped-def]
        seen([job.router_username for job in jobs])
        return original(router, jobs, **kwargs)

    service.drainer._converge_batch = converge  # type: ignore[method-assign]


def make_bulk(engine: Engine) -> None:
    """Every job queued so far becomes bulk work (a voucher batch)."""
    with session_scope(engine) as session:
        session.execute(update(RouterProvisioning).values(priority=BULK))


def test_bulk_work_waits_while_urgent_work_is_under_way_and_goes_on_when_it_ends() -> None:
    way = Way()
    way.give_way()  # nothing urgent: no wait at all
    way.enter()
    way.enter()
    gone_on = threading.Event()
    waiter = threading.Thread(target=lambda: (way.give_way(), gone_on.set()))
    waiter.start()
    way.leave()
    assert not gone_on.wait(0.2), "one urgent task is still under way"
    way.leave()
    assert gone_on.wait(30)
    waiter.join()
    assert way.urgent == 0


def test_a_pause_for_urgent_work_is_bounded() -> None:
    way = Way()
    way.enter()
    way.give_way()  # returns after GIVE_WAY_SECONDS although urgent work is still under way
    assert way.urgent == 1


def test_a_bulk_batch_sends_nothing_while_a_customers_activation_is_under_way(
    sqlite_engine: Engine, sim: SimRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(way_module, "GIVE_WAY_SECONDS", 60.0)
    factories.setup(sqlite_engine, router_port=sim.port, password=SIM_PASSWORD)
    queue_accounts(sqlite_engine, router="r1", package="Home 10M", count=40, prefix="v")
    make_bulk(sqlite_engine)
    service = ProvisioningService(engine_settings(str(sqlite_engine.url)), sqlite_engine)
    way = service.drainer.way
    way.enter()  # an activation on another router is under way
    drain = threading.Thread(target=service.drain_once)
    try:
        drain.start()
        wait_for(lambda: statuses(sqlite_engine)["processing"] == 40, timeout=60)
        time.sleep(0.3)
        assert sim.stats[ADD] == 0, "the bulk batch went on while urgent work was under way"
        way.leave()
        drain.join(timeout=120)
        assert statuses(sqlite_engine)["completed"] == 40 and sim.stats[ADD] == 40
    finally:
        if way.urgent:
            way.leave()
        drain.join(timeout=120)
        service.shutdown()


def test_a_customers_activation_is_claimed_alone_ahead_of_a_voucher_batch_on_its_router(
    sqlite_engine: Engine, sim: SimRouter
) -> None:
    factories.setup(sqlite_engine, router_port=sim.port, password=SIM_PASSWORD)
    queue_accounts(sqlite_engine, router="r1", package="Home 10M", count=30, prefix="v")
    make_bulk(sqlite_engine)
    ActivationService(sqlite_engine).activate("jdoe", "Home 10M")
    batches: list[list[str]] = []
    service = ProvisioningService(engine_settings(str(sqlite_engine.url)), sqlite_engine)
    on_each_batch(service, batches.append)
    try:
        report = service.drain_once()
    finally:
        service.shutdown()
    assert report.completed == 31
    assert batches[0] == ["jdoe"]
    assert sorted(name for batch in batches[1:] for name in batch) == [
        f"v{n:05}" for n in range(30)
    ]


def test_a_customers_job_that_comes_to_a_router_on_bulk_work_is_urgent_there_too(
    sqlite_engine: Engine, sim: SimRouter
) -> None:
    factories.setup(sqlite_engine, router_port=sim.port, password=SIM_PASSWORD)
    queue_accounts(sqlite_engine, router="r1", package="Home 10M", count=30, prefix="v")
    make_bulk(sqlite_engine)
    service = ProvisioningService(
        engine_settings(str(sqlite_engine.url), batch_size=10), sqlite_engine
    )
    urgency: dict[str, int] = {}

    def seen(names: list[str]) -> None:
        urgency[names[0]] = service.drainer.way.urgent
        if names[0] == "v00000":  # while the first bulk batch is under way, a customer pays
            # (dated at the drain's start: `drain_once` takes what was due when it began)
            ActivationService(sqlite_engine).activate("jdoe", "Home 10M", now=began)

    on_each_batch(service, seen)
    began = utcnow() - timedelta(seconds=1)
    try:
        report = service.drain_once()
    finally:
        service.shutdown()
    assert report.completed == 31
    assert urgency["jdoe"] == 1, "the customer's batch made the process's bulk work give way"
    assert urgency["v00000"] == 0  # bulk work alone marks nothing urgent
