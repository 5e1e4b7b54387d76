"""Voucher batches against `wisp sim` over TCP on every database: generated, delivered through
the queue behind paid work, started by their first login, expired, revoked, redeemed, sold."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from db import vouchers
from db.activation import ActivationService
from db.engine import session_scope
from db.expiry import expire_due
from db.models import (
    JobStatus,
    RouterProvisioning,
    Subscription,
    Voucher,
    VoucherState,
)
from db.queue import STOCK
from db.types import utcnow
from scheduler.engine.drain import Drainer
from scheduler.engine.vouchers import FirstLogins, look_for_first_logins
from scheduler.routeros.actions import owner_tag
from scheduler.sim import SimRouter
from tests import factories
from tests.scheduler.conftest import SIM_PASSWORD, engine_settings

USERS = "/ip/hotspot/user"


@pytest.fixture
def shop(engine: Engine) -> Iterator[tuple[Engine, SimRouter]]:
    """Router r1 (a simulator), hotspot package "Home 10M" (30 days, 1500), client jdoe, and a
    one-day hotspot package "Day" at 50."""
    with SimRouter(password=SIM_PASSWORD) as sim:
        factories.setup(engine, router_port=sim.port, password=SIM_PASSWORD)
        factories.package(engine, "Day", validity="1d", price="50", rate="5M")
        yield engine, sim


def drainer(engine: Engine, **queue: object) -> Drainer:
    url = engine.url.render_as_string(hide_password=False)
    return Drainer(engine_settings(url, **queue), engine, worker="test")


def drain(engine: Engine, **queue: object) -> None:
    worker = drainer(engine, **queue)
    try:
        worker.drain_once()
    finally:
        worker.stop()


def look(engine: Engine) -> FirstLogins:
    """One look for first logins, as the engine's timer makes it."""
    url = engine.url.render_as_string(hide_password=False)
    return look_for_first_logins(engine, engine_settings(url).routers)


def state_of(engine: Engine, code: str) -> str:
    (row,) = [v for v in vouchers.vouchers(engine) if v["code"] == code]
    return str(row["state"])


def test_a_batch_reaches_the_router_each_voucher_ours_with_its_batch_in_the_comment(
    shop: tuple[Engine, SimRouter],
) -> None:
    engine, sim = shop
    made = vouchers.generate(engine, package="day", count=40, created_by="ops", note="shop 4")
    assert made.name == f"B{made.id}" and made.price == Decimal("50.00")
    assert made.validity_seconds == 86_400 and len(set(made.codes)) == 40
    drain(engine)
    users = {row["name"]: row for row in sim.rows(USERS)}
    assert set(made.codes) <= set(users)
    with Session(engine) as session:
        accounts = {
            a.router_username: a
            for a in session.scalars(
                select(RouterProvisioning).where(RouterProvisioning.priority == STOCK)
            )
        }
    for code in made.codes:
        comment = users[code]["comment"]
        assert owner_tag(int(accounts[code].id or 0)) in comment
        assert f"voucher {made.name} shop 4" in comment
        assert users[code]["password"] == code  # code mode: the code is the password too
    listed = vouchers.batches(engine)[0]
    assert listed["unused"] == 40 and listed["on_router"] == 40 and listed["sold_value"] == 0


@pytest.mark.slow
def test_5000_vouchers_reach_the_router_and_paid_activations_queued_after_go_first(
    shop: tuple[Engine, SimRouter],
) -> None:
    engine, sim = shop
    made = vouchers.generate(engine, package="Day", count=5000, created_by="ops")
    paid = ActivationService(engine).activate("jdoe", "Home 10M", "QPAID00001")
    worker = drainer(engine, batch_size=100)
    try:
        worker.drain_once()
    finally:
        worker.stop()
    with Session(engine) as session:
        done = {
            a.router_username: a.completed_at for a in session.scalars(select(RouterProvisioning))
        }
    assert all(done[code] is not None for code in made.codes)
    before = sum(1 for code in made.codes if done[code] < done["jdoe"])  # type: ignore[operator]
    assert before < 200, f"{before} vouchers went to the router before the paid account"
    names = [row["name"] for row in sim.rows(USERS)]
    assert len(set(made.codes) & set(names)) == 5000 and "jdoe" in names
    assert paid.job_id is not None


def test_two_batches_never_share_a_code_and_the_database_refuses_a_repeat(
    shop: tuple[Engine, SimRouter],
) -> None:
    engine, _ = shop
    first = vouchers.generate(engine, package="Day", count=300, length=4, created_by="ops")
    second = vouchers.generate(engine, package="Day", count=300, length=4, created_by="ops")
    assert not set(first.codes) & set(second.codes)
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.execute(
            insert(Voucher).values(
                batch_id=second.id,
                router_id=1,
                code=first.codes[0],
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        )


def test_first_login_starts_the_clock_and_expiry_disables_and_kicks_the_voucher(
    shop: tuple[Engine, SimRouter],
) -> None:
    engine, sim = shop
    made = vouchers.generate(engine, package="Day", count=3, created_by="ops")
    drain(engine)
    code = made.codes[1]
    sim.sessions.login_hotspot(code, mac_address="AA:BB:CC:00:00:01", address="10.5.50.9")
    before = utcnow()
    found = look(engine)
    after = utcnow()
    assert found.started == [code] and state_of(engine, code) == VoucherState.IN_USE
    with Session(engine) as session:
        voucher = session.scalars(select(Voucher).where(Voucher.code == code)).one()
        subscription = session.get(Subscription, voucher.subscription_id)
    assert subscription is not None and voucher.first_login_at is not None
    assert before - timedelta(seconds=2) <= voucher.first_login_at <= after
    assert subscription.expires_on - subscription.start_date == timedelta(days=1)
    assert look(engine).started == []
    assert state_of(engine, made.codes[0]) == VoucherState.UNUSED

    with session_scope(engine) as session:  # a day later: its time is over
        ended = session.get(Subscription, subscription.id)
        assert ended is not None
        ended.expires_on = utcnow() - timedelta(seconds=1)
    assert expire_due(engine) == 1
    drain(engine)
    assert state_of(engine, code) == VoucherState.EXPIRED
    (user,) = [row for row in sim.rows(USERS) if row["name"] == code]
    assert user["disabled"] == "true"
    assert code not in [row.get("user") for row in sim.rows("/ip/hotspot/active")]
    others = [row for row in sim.rows(USERS) if row["name"] in made.codes and row["name"] != code]
    assert {row["disabled"] for row in others} == {"false"}


def test_a_voucher_used_while_no_one_looked_starts_from_its_uptime(
    shop: tuple[Engine, SimRouter],
) -> None:
    engine, sim = shop
    made = vouchers.generate(engine, package="Day", count=2, created_by="ops")
    drain(engine)
    code = made.codes[0]
    (row,) = [r for r in sim.rows(USERS) if r["name"] == code]
    # Used for two hours and logged out since, as the router's own counter keeps it.
    users = sim._engine.table(USERS)
    sim._loop.call(lambda: users.update(row[".id"], {"uptime": "2h"}))
    found = look(engine)
    assert found.started == [code]
    with Session(engine) as session:
        voucher = session.scalars(select(Voucher).where(Voucher.code == code)).one()
    assert voucher.first_login_at is not None
    assert abs(utcnow() - timedelta(hours=2) - voucher.first_login_at) < timedelta(minutes=1)


def test_revoke_removes_only_unused_vouchers_from_the_router(
    shop: tuple[Engine, SimRouter],
) -> None:
    engine, sim = shop
    made = vouchers.generate(engine, package="Day", count=5, created_by="ops")
    drain(engine)
    used = made.codes[2]
    sim.sessions.login_hotspot(used)
    look(engine)
    result = vouchers.revoke(engine, batch=made.name)
    assert sorted(result.revoked) == sorted(c for c in made.codes if c != used)
    assert result.kept == {used: VoucherState.IN_USE}
    drain(engine)
    names = {row["name"] for row in sim.rows(USERS)}
    assert names & set(made.codes) == {used}
    assert {state_of(engine, c) for c in made.codes if c != used} == {VoucherState.REVOKED}
    again = vouchers.revoke(engine, code=made.codes[0].lower())
    assert again.revoked == [] and again.kept == {made.codes[0]: VoucherState.REVOKED}


def test_redeem_gives_the_package_to_a_client_and_the_code_cannot_be_used_again(
    shop: tuple[Engine, SimRouter],
) -> None:
    engine, sim = shop
    made = vouchers.generate(engine, package="Day", count=2, created_by="ops")
    drain(engine)
    code = made.codes[0]
    activation = vouchers.redeem(engine, code.lower(), "jdoe")
    assert activation.subscription_id is not None
    drain(engine)
    names = {row["name"] for row in sim.rows(USERS)}
    assert code not in names and "jdoe" in names
    assert state_of(engine, code) == VoucherState.IN_USE
    with pytest.raises(vouchers.Refused, match="is in use"):
        vouchers.redeem(engine, code, "jdoe")


def test_sales_count_vouchers_by_the_day_of_their_first_login_at_the_batch_price(
    shop: tuple[Engine, SimRouter],
) -> None:
    engine, sim = shop
    made = vouchers.generate(engine, package="Day", count=4, created_by="ops")
    drain(engine)
    for code in made.codes[:3]:
        sim.sessions.login_hotspot(code)
    look(engine)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Subscription)) == 3
    now = utcnow()
    (row,) = vouchers.sales(
        engine, start=now - timedelta(days=1), end=now + timedelta(days=1), zone=now.tzinfo
    )
    assert row["batch"] == made.name and row["vouchers"] == 3 and row["value"] == Decimal("150")
    with Session(engine) as session:
        jobs = session.scalars(select(RouterProvisioning.status)).all()
    assert set(jobs) == {JobStatus.COMPLETED}
