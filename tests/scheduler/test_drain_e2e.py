"""End to end: activation in the database → drain → the account on a simulated router over TCP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.activation import ActivationService
from db.engine import session_scope
from db.models import Package, Router, RouterProvisioning, Subscription, SystemLog
from db.types import utcnow
from scheduler.engine import drain
from scheduler.engine.events import JobCompleted, JobFailed, RouterHealthChanged
from scheduler.engine.service import ProvisioningService
from scheduler.routeros import actions
from scheduler.routeros.client import RouterClient, RouterError
from scheduler.sim import SimRouter
from tests import factories
from tests.scheduler.accounts import on_router, on_router_by_id
from tests.scheduler.conftest import SIM_PASSWORD, engine_settings, not_due_again_within_this_drain

USERS = "/ip/hotspot/user"


@pytest.fixture
def events() -> list[object]:
    return []


def make_service(engine: Engine, events: list[object], **queue: object) -> ProvisioningService:
    return ProvisioningService(
        engine_settings(str(engine.url), **queue), engine, worker="test", on_event=events.append
    )


@pytest.fixture
def service(engine: Engine, sim: SimRouter, events: list[object]) -> Iterator[ProvisioningService]:
    factories.setup(engine, router_port=sim.port, password=SIM_PASSWORD)
    provisioning = make_service(engine, events)
    yield provisioning
    provisioning.shutdown()


@pytest.fixture
def sqlite_service(
    sqlite_engine: Engine, sim: SimRouter, events: list[object]
) -> Iterator[ProvisioningService]:
    factories.setup(sqlite_engine, router_port=sim.port, password=SIM_PASSWORD)
    provisioning = make_service(sqlite_engine, events)
    yield provisioning
    provisioning.shutdown()


def job(engine: Engine, username: str = "jdoe") -> RouterProvisioning:
    with Session(engine) as session:
        return session.scalars(
            select(RouterProvisioning).where(RouterProvisioning.router_username == username)
        ).one()


def router_row(engine: Engine, name: str = "r1") -> Router:
    with Session(engine) as session:
        return session.scalars(select(Router).where(Router.name == name)).one()


def named(sim: SimRouter, path: str, name: str) -> list[dict[str, str]]:
    return [row for row in sim.rows(path) if row.get("name") == name]


def test_activation_puts_the_hotspot_user_on_the_router_with_profile_and_rate_limit(
    engine: Engine, service: ProvisioningService, sim: SimRouter, events: list[object]
) -> None:
    ActivationService(engine).activate("jdoe", "Home 10M", "QJK1")
    report = service.drain_once()
    assert report.completed == 1 and report.failed == 0
    [user] = named(sim, USERS, "jdoe")
    assert user["profile"] == "HOTSPOT_10M_PERSONAL" and user["disabled"] == "false"
    assert user["comment"] == f"wisp-console:{job(engine).id}"
    assert (
        named(sim, "/ip/hotspot/user/profile", "HOTSPOT_10M_PERSONAL")[0]["rate-limit"] == "10M/10M"
    )
    row = job(engine)
    assert (row.status, row.attempts, row.last_error) == ("completed", 0, None) and row.completed_at
    assert any(isinstance(e, JobCompleted) and e.username == "jdoe" for e in events)
    with Session(engine) as session:
        assert session.scalars(
            select(SystemLog).where(
                SystemLog.provisioning_id == row.id,
                SystemLog.message.contains("activated on router r1"),
            )  # type: ignore[attr-defined]
        ).first()


def test_pppoe_activation_puts_a_pppoe_secret_on_the_router(
    engine: Engine, service: ProvisioningService, sim: SimRouter
) -> None:
    ActivationService(engine).activate("jdoe", "Fibre 20M")
    service.drain_once()
    [secret] = named(sim, "/ppp/secret", "jdoe")
    assert (secret["service"], secret["profile"], secret["disabled"]) == (
        "pppoe",
        "PPPOE_20M_10MUP_PERSONAL",
        "false",
    )
    assert named(sim, "/ppp/profile", secret["profile"])[0]["rate-limit"] == "10M/20M"


def test_subscription_shows_whether_its_account_is_on_the_router(
    sqlite_engine: Engine, sqlite_service: ProvisioningService
) -> None:
    activation = ActivationService(sqlite_engine).activate("jdoe", "Home 10M")
    with Session(sqlite_engine) as session:
        subscription = session.get(Subscription, activation.subscription_id)
        assert subscription is not None and not on_router(session, subscription)
    sqlite_service.drain_once()
    with Session(sqlite_engine) as session:
        assert on_router(session, session.get(Subscription, activation.subscription_id))  # type: ignore[arg-type]
        assert on_router_by_id(session, [activation.subscription_id]) == {
            activation.subscription_id: True
        }


def test_renewal_re_enables_an_account_disabled_on_the_router(
    sqlite_engine: Engine, sqlite_service: ProvisioningService, sim: SimRouter
) -> None:
    ActivationService(sqlite_engine).activate("jdoe", "Home 10M")
    sqlite_service.drain_once()
    sim.rows(USERS)
    from scheduler.routeros.client import RouterClient
    from tests.scheduler.conftest import endpoint

    with RouterClient(endpoint(sim)) as hand:
        hand.set(USERS, named(sim, USERS, "jdoe")[0][".id"], {"disabled": "yes"})
    ActivationService(sqlite_engine).activate("jdoe", "Home 10M")
    sqlite_service.drain_once()
    [user] = named(sim, USERS, "jdoe")
    assert user["disabled"] == "false"
    assert sim.stats["/ip/hotspot/user/add"] == 1


def test_expiry_disables_kicks_the_session_and_removes_the_cookie(
    sqlite_engine: Engine, sqlite_service: ProvisioningService, sim: SimRouter
) -> None:
    past = utcnow() - timedelta(days=31)
    activation = ActivationService(sqlite_engine, factories.clock_from_payment()).activate(
        "jdoe", "Home 10M", now=past
    )
    sqlite_service.drain_once()
    sim.sessions.login_hotspot("jdoe", mac_address="02:00:00:00:00:07")
    assert sqlite_service.sweep_expiry() == 1
    sqlite_service.drain_once()
    assert named(sim, USERS, "jdoe")[0]["disabled"] == "true"
    assert sim.rows("/ip/hotspot/active") == [] and sim.rows("/ip/hotspot/cookie") == []
    with Session(sqlite_engine) as session:
        subscription = session.get(Subscription, activation.subscription_id)
        assert subscription is not None and subscription.status == "expired"
        assert not on_router(session, subscription)


def test_a_user_already_on_the_router_is_left_alone_unless_adopted_then_updated_not_duplicated(
    sqlite_engine: Engine, sqlite_service: ProvisioningService, sim: SimRouter
) -> None:
    from scheduler.routeros.client import RouterClient
    from tests.scheduler.conftest import endpoint

    with RouterClient(endpoint(sim)) as hand:
        hand.add(USERS, {"name": "jdoe", "password": "old", "comment": "from the old billing"})
    before = named(sim, USERS, "jdoe")
    ActivationService(sqlite_engine).activate("jdoe", "Home 10M")
    assert sqlite_service.drain_once().failed == 1
    assert named(sim, USERS, "jdoe") == before
    ActivationService(sqlite_engine).activate("jdoe", "Home 10M", adopt=True)
    assert sqlite_service.drain_once().completed == 1
    [user] = named(sim, USERS, "jdoe")
    assert user["profile"] == "HOTSPOT_10M_PERSONAL"
    assert user["comment"] == f"from the old billing wisp-console:{job(sqlite_engine).id}"
    assert sim.stats["/ip/hotspot/user/add"] == 1


def test_a_trap_is_kept_verbatim_as_last_error_and_spends_one_attempt(
    engine: Engine, sim: SimRouter, events: list[object]
) -> None:
    factories.setup(engine, router_port=sim.port, password=SIM_PASSWORD)
    service = make_service(engine, events, backoff_base=60.0, backoff_max=60.0)  # not due again
    sim.faults.trap("/ip/hotspot/user/add", "not enough permissions (9)")
    ActivationService(engine).activate("jdoe", "Home 10M")
    report = service.drain_once()
    assert report.retried == 1 and report.completed == 0
    row = job(engine)
    assert (row.status, row.attempts, row.last_error) == (
        "pending",
        1,
        "not enough permissions (9)",
    )
    assert row.next_attempt_at > utcnow() - timedelta(seconds=1)
    assert any(isinstance(e, JobFailed) and e.error == "not enough permissions (9)" for e in events)
    assert router_row(engine).health == "up"
    service.shutdown()


def test_a_job_whose_attempts_are_spent_is_kept_failed_with_its_error(
    sqlite_engine: Engine, sim: SimRouter, events: list[object]
) -> None:
    factories.setup(sqlite_engine, router_port=sim.port, password=SIM_PASSWORD)
    service = make_service(sqlite_engine, events, max_attempts=1)
    sim.faults.trap("/ip/hotspot/user/add", "failure: out of memory")
    ActivationService(sqlite_engine).activate("jdoe", "Home 10M")
    assert service.drain_once().failed == 1
    service.shutdown()
    row = job(sqlite_engine)
    assert (row.status, row.attempts, row.last_error) == ("failed", 1, "failure: out of memory")


def test_a_router_down_pauses_its_jobs_without_spending_attempts_while_another_completes(
    sqlite_engine: Engine, events: list[object]
) -> None:
    with SimRouter(password=SIM_PASSWORD) as near, SimRouter(password=SIM_PASSWORD) as far:
        factories.setup(sqlite_engine, router_port=far.port, password=SIM_PASSWORD)
        factories.router(sqlite_engine, "r2", port=near.port, password=SIM_PASSWORD)
        factories.package(sqlite_engine, "Near 5M", router="r2", rate="5M")
        factories.client(sqlite_engine, "amina")
        service = make_service(sqlite_engine, events)
        far.down()
        ActivationService(sqlite_engine).activate("jdoe", "Home 10M")
        ActivationService(sqlite_engine).activate("amina", "Near 5M")
        report = service.drain_once()
        assert report.completed == 1 and report.paused == 1 and report.paused_routers == {"r1"}
        assert named(near, USERS, "amina")
        held = job(sqlite_engine, "jdoe")
        assert (held.status, held.attempts) == ("pending", 0) and "r1" in (held.last_error or "")
        r1 = router_row(sqlite_engine)
        assert (
            r1.health == "down"
            and r1.health_since is not None
            and "refused the connection" in (r1.last_error or "")
        )
        assert any(
            isinstance(e, RouterHealthChanged) and e.router == "r1" and e.health == "down"
            for e in events
        )
        for _ in range(3):
            service.drain_once()  # still down: nothing spent
        assert job(sqlite_engine, "jdoe").attempts == 0
        far.up()
        service.check_health()
        assert router_row(sqlite_engine).health == "up"
        assert service.drain_once().completed == 1
        service.shutdown()
        assert named(far, USERS, "jdoe")
        done = job(sqlite_engine, "jdoe")
        assert (done.status, done.attempts, done.last_error) == ("completed", 0, None)


def test_a_wrong_router_password_is_reported_as_such(
    engine: Engine, sim: SimRouter, events: list[object]
) -> None:
    factories.setup(engine, router_port=sim.port, password="not-the-password")
    service = make_service(engine, events)
    ActivationService(engine).activate("jdoe", "Home 10M")
    report = service.drain_once()
    service.shutdown()
    assert report.paused == 1 and report.failed == 0
    r1 = router_row(engine)
    assert r1.health == "auth_failed"
    assert "refused the login of user admin" in (r1.last_error or "")
    assert "not-the-password" not in (r1.last_error or "")
    assert job(engine).attempts == 0 and job(engine).status == "pending"


def test_health_probe_records_version_uptime_and_last_seen(
    sqlite_engine: Engine, sqlite_service: ProvisioningService
) -> None:
    sqlite_service.check_health()
    r1 = router_row(sqlite_engine)
    assert (
        r1.health == "up"
        and r1.version
        and r1.version.startswith("7.18.2")
        and r1.uptime
        and r1.last_seen
    )


def test_a_renewal_queued_while_a_job_runs_is_not_lost(
    sqlite_engine: Engine, sqlite_service: ProvisioningService, sim: SimRouter
) -> None:
    from db import queue

    ActivationService(sqlite_engine).activate("jdoe", "Home 10M")
    [claimed] = queue.claim(sqlite_engine, worker="test", limit=1)
    ActivationService(sqlite_engine).activate("jdoe", "Home 10M")  # a newer revision meanwhile
    with session_scope(sqlite_engine) as session:
        assert queue.complete(session, claimed, worker="test")
    assert job(sqlite_engine).status == "pending"
    assert sqlite_service.drain_once().completed == 1
    assert job(sqlite_engine).status == "completed"


def test_a_profile_edited_on_the_router_is_put_right_by_the_next_batch(
    engine: Engine, service: ProvisioningService, sim: SimRouter, client: RouterClient
) -> None:
    profiles = "/ip/hotspot/user/profile"
    ActivationService(engine).activate("jdoe", "Home 10M")
    assert service.drain_once().completed == 1
    [profile] = named(sim, profiles, "HOTSPOT_10M_PERSONAL")
    client.set(profiles, profile[".id"], {"rate-limit": "1M/1M"})  # an operator edits it by hand
    factories.client(engine, "amina")
    ActivationService(engine).activate("amina", "Home 10M")
    assert service.drain_once().completed == 1
    assert named(sim, profiles, "HOTSPOT_10M_PERSONAL")[0]["rate-limit"] == "10M/10M"


def test_an_unexpected_error_on_the_fresh_try_fails_the_job_and_hands_back_its_claim(
    engine: Engine, service: ProvisioningService, monkeypatch: pytest.MonkeyPatch
) -> None:
    tries: list[str] = []

    def lost_then_broken(
        client: RouterClient, spec: actions.AccountSpec, **_: object
    ) -> dict[str, str]:
        tries.append(spec.username)
        if len(tries) == 1:
            raise RouterError("router r1 closed the connection", kind="unreachable", router="r1")
        raise KeyError("a fault of ours")

    monkeypatch.setattr(actions, "activate", lost_then_broken)
    not_due_again_within_this_drain(service, monkeypatch)
    ActivationService(engine).activate("jdoe", "Home 10M")
    report = service.drain_once()
    row = job(engine)
    assert tries == ["jdoe", "jdoe"] and report.retried == 1
    assert (row.status, row.attempts, row.locked_by) == ("pending", 1, None)
    assert row.last_error is not None and "unexpected error: KeyError" in row.last_error


def test_jobs_held_on_an_unreadable_router_password_are_due_once_the_router_is_back(
    sqlite_engine: Engine, sim: SimRouter, events: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    factories.setup(sqlite_engine, router_port=sim.port, password=SIM_PASSWORD)
    with session_scope(sqlite_engine) as session:
        r1 = session.scalars(select(Router).where(Router.name == "r1")).one()
        r1.password_env, r1.password_encrypted = "WISP_TEST_R1_PASSWORD", None
        session.add(r1)
    monkeypatch.delenv("WISP_TEST_R1_PASSWORD", raising=False)
    service = make_service(sqlite_engine, events, backoff_base=30.0, backoff_max=60.0)
    ActivationService(sqlite_engine).activate("jdoe", "Home 10M")
    assert service.drain_once().paused == 1
    assert (job(sqlite_engine).last_error or "").startswith("router r1: ")
    monkeypatch.setenv("WISP_TEST_R1_PASSWORD", SIM_PASSWORD)
    service.check_health()
    assert router_row(sqlite_engine).health == "up"
    assert service.drain_once().completed == 1  # not after the 30 s pause
    service.shutdown()


def test_a_drain_that_reaches_a_router_marked_down_elsewhere_records_it_up(
    engine: Engine, service: ProvisioningService
) -> None:
    ActivationService(engine).activate("jdoe", "Home 10M")
    assert service.drain_once().completed == 1
    assert router_row(engine).health == "up"
    with session_scope(engine) as session:  # a probe of another process saw it down meanwhile
        r1 = session.scalars(select(Router).where(Router.name == "r1")).one()
        r1.health, r1.last_error = "down", "router r1 (127.0.0.1:1) did not answer within 2 s"
        session.add(r1)
    factories.client(engine, "amina")
    ActivationService(engine).activate("amina", "Home 10M")
    assert service.drain_once().completed == 1
    r1 = router_row(engine)
    assert (r1.health, r1.last_error) == ("up", None)


def test_a_stored_package_with_a_shape_routeros_refuses_fails_its_job_instead_of_keeping_it(
    engine: Engine, service: ProvisioningService, monkeypatch: pytest.MonkeyPatch
) -> None:
    not_due_again_within_this_drain(service, monkeypatch)
    ActivationService(engine).activate("jdoe", "Home 10M")
    with session_scope(engine) as session:  # edited in the database: a burst below the rate
        package = session.scalars(select(Package).where(Package.name == "Home 10M")).one()
        package.burst_enabled = True
        package.burst_upload_rate_kbps = package.burst_download_rate_kbps = 1000
        session.add(package)
    report = service.drain_once()
    row = job(engine)
    assert report.retried == 1 and (row.status, row.attempts, row.locked_by) == ("pending", 1, None)
    assert row.last_error is not None and "burst" in row.last_error


def test_an_unexpected_fault_while_planning_a_batch_fails_its_jobs_instead_of_keeping_them(
    engine: Engine, service: ProvisioningService, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("a fault of ours")

    monkeypatch.setattr(drain, "plan", broken)
    not_due_again_within_this_drain(service, monkeypatch)
    ActivationService(engine).activate("jdoe", "Home 10M")
    assert service.drain_once().retried == 1
    row = job(engine)
    assert (row.status, row.attempts, row.locked_by) == ("pending", 1, None)
    assert row.last_error == "unexpected error: RuntimeError: a fault of ours"
