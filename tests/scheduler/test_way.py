"""Bulk work gives way to a customer's own account: in the queue's claims and in the drain."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from datetime import timedelta

import pytest
from sqlalchemy import text, update
from sqlalchemy.engine import Engine

from db import engine as engine_module
from db.activation import ActivationService
from db.engine import _writers_of, ahead, session_scope, yielding
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

    def bulk_step() -> None:
        way.give_way()
        gone_on.set()

    waiter = threading.Thread(target=bulk_step)
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


def write_in_turn(
    engine: Engine, name: str, order: list[str], *, bulk: bool = False, claim: bool = False
) -> threading.Thread:
    """A thread that writes to the database (a bulk write, or a claim of customers' jobs, if
    asked) and notes when it had its turn."""

    def write() -> None:
        way = yielding() if bulk else ahead() if claim else nullcontext()
        with way, session_scope(engine) as session:
            session.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: the file's turn is this one's
            order.append(name)

    thread = threading.Thread(target=write, name=name)
    thread.start()
    return thread


def test_the_writers_of_a_file_take_their_turns_in_the_order_they_asked(
    sqlite_engine: Engine,
) -> None:
    turns = _writers_of(sqlite_engine.url.database)
    assert turns is not None
    order: list[str] = []
    writers = []
    with session_scope(sqlite_engine) as session:
        session.execute(text("SELECT 1"))  # this writer holds the file
        for n, name in enumerate(("first", "second", "third", "fourth"), 1):
            writers.append(write_in_turn(sqlite_engine, name, order))
            wait_for(lambda n=n: turns.waiting == n)  # type: ignore[misc]
    for writer in writers:
        writer.join(timeout=60)
    assert order == ["first", "second", "third", "fourth"]
    assert not turns.locked() and turns.waiting == 0


def test_a_bulk_write_lets_the_writers_waiting_for_the_file_go_first(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "YIELD_SECONDS", 60.0)
    turns = _writers_of(sqlite_engine.url.database)
    assert turns is not None
    order: list[str] = []
    with session_scope(sqlite_engine) as session:
        session.execute(text("SELECT 1"))
        bulk = write_in_turn(sqlite_engine, "bulk", order, bulk=True)
        payment = write_in_turn(sqlite_engine, "payment", order)  # asks after the bulk write
        wait_for(lambda: turns.waiting == 1)
    payment.join(timeout=60)
    bulk.join(timeout=60)
    assert order == ["payment", "bulk"]
    # With no other writer waiting, a bulk write goes at once.
    write_in_turn(sqlite_engine, "bulk again", order, bulk=True).join(timeout=60)
    assert order[-1] == "bulk again"


def test_a_claim_of_customers_jobs_goes_before_the_writers_waiting(
    sqlite_engine: Engine,
) -> None:
    turns = _writers_of(sqlite_engine.url.database)
    assert turns is not None
    order: list[str] = []
    with session_scope(sqlite_engine) as session:
        session.execute(text("SELECT 1"))
        threads = [write_in_turn(sqlite_engine, "payment", order)]
        wait_for(lambda: turns.waiting == 1)
        threads.append(write_in_turn(sqlite_engine, "next payment", order))
        wait_for(lambda: turns.waiting == 2)
        threads.append(write_in_turn(sqlite_engine, "claim", order, claim=True))
        wait_for(lambda: turns.waiting == 3)
    for thread in threads:
        thread.join(timeout=60)
    assert order == ["claim", "payment", "next payment"]


def test_a_bulk_write_waits_in_line_once_it_has_let_others_go_first_long_enough(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stream of other writers never starves bulk work."""
    monkeypatch.setattr(engine_module, "YIELD_SECONDS", 0.0)
    turns = _writers_of(sqlite_engine.url.database)
    assert turns is not None
    order: list[str] = []
    with session_scope(sqlite_engine) as session:
        session.execute(text("SELECT 1"))
        first = write_in_turn(sqlite_engine, "first", order)
        wait_for(lambda: turns.waiting == 1)
        bulk = write_in_turn(sqlite_engine, "bulk", order, bulk=True)
        wait_for(lambda: turns.waiting == 2)  # its patience is over: it waits in line
        later = write_in_turn(sqlite_engine, "later", order)
        wait_for(lambda: turns.waiting == 3)
    for thread in (first, bulk, later):
        thread.join(timeout=60)
    assert order == ["first", "bulk", "later"]


def test_a_router_task_started_for_a_customers_job_is_urgent_from_its_dispatch(
    sqlite_engine: Engine, sim: SimRouter
) -> None:
    """Bulk work gives way from the moment a task for a customer's job is started, not only
    once its thread runs; a task for bulk work alone starts as nothing urgent."""
    factories.setup(sqlite_engine, router_port=sim.port, password=SIM_PASSWORD)
    service = ProvisioningService(engine_settings(str(sqlite_engine.url)), sqlite_engine)
    drainer = service.drainer
    at_start: list[int] = []
    original = drainer._router_task

    def task(router_id, due_by, urgent=False):  # type: ignore[no-untyped-def]
        at_start.append(drainer.way.urgent)
        return original(router_id, due_by, urgent)

    drainer._router_task = task  # type: ignore[method-assign]
    try:
        ActivationService(sqlite_engine).activate("jdoe", "Home 10M")
        assert drainer.drain_once().completed == 1
        queue_accounts(sqlite_engine, router="r1", package="Home 10M", count=5, prefix="v")
        make_bulk(sqlite_engine)
        assert drainer.drain_once().completed == 5
    finally:
        service.shutdown()
    assert at_start == [1, 0]
    assert drainer.way.urgent == 0
