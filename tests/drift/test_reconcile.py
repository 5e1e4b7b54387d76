"""Reconcile against the simulator: each kind of drift found once, fixes converge, foreign untouched."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from db.models import RouterProvisioning, SystemLog
from scheduler.reconcile.compare import reconcile
from scheduler.reconcile.fix import queue_fixes
from scheduler.reconcile.sides import Cancelled, Progress
from scheduler.routeros.client import RouterError
from tests.drift.conftest import (
    BURST_PROFILE,
    HS_PROFILES,
    SECRETS,
    USERS,
    Drifted,
    drain,
    drift_behind_our_back,
    our_accounts,
)


def names(report, category: str) -> list[tuple[str, str, str]]:
    return sorted((f.kind, f.service, f.name) for f in report.of(category))


def foreign_rows(sim) -> dict[str, list[dict[str, str]]]:
    return {
        "user": [r for r in sim.rows(USERS) if r["name"] == "walkin1"],
        "secret": [r for r in sim.rows(SECRETS) if r["name"] == "shop-router"],
        "profile": [r for r in sim.rows(HS_PROFILES) if r["name"] == "OLD_PLAN"],
    }


def test_a_freshly_delivered_router_is_clean(sqlite_engine, sim, settings):
    our_accounts(sqlite_engine, sim, settings)
    report = reconcile(sqlite_engine, settings, "r1")
    assert report.clean
    assert report.findings == []
    assert (report.accounts_seen, report.profiles_seen) == (6, 3)


def test_each_kind_of_drift_is_found_exactly_once(drifted: Drifted):
    report = reconcile(drifted.engine, drifted.settings, "r1")
    assert names(report, "missing") == [("account", "hotspot", "dave")]
    assert names(report, "unknown") == [("account", "hotspot", "ghost")]
    assert names(report, "foreign") == [
        ("account", "hotspot", "walkin1"),
        ("account", "pppoe", "shop-router"),
        ("profile", "hotspot", "OLD_PLAN"),
    ]
    different = {f.name: f.differences for f in report.of("different")}
    assert different == {
        "alice": ("profile is OLD_PLAN on the router, HOTSPOT_10M_PERSONAL in the database",),
        "bob": ("disabled on the router, active in the database",),
        "carol": ("password differs",),
        BURST_PROFILE: (
            "rate limit is '20M/20M' on the router, '20M/20M 40M/40M 16M/16M 10/10' in the database",
        ),
    }
    assert report.counts == {
        "missing": 1,
        "unknown": 1,
        "foreign": 3,
        "different": 4,
        "in_queue": 0,
    }


def test_the_report_never_shows_a_password(drifted: Drifted):
    report = reconcile(drifted.engine, drifted.settings, "r1")
    text = repr(report) + repr(report.as_dict())
    assert "changed-by-hand" not in text and "walk-pw-9" not in text


def test_fix_converges_the_router_and_leaves_foreign_objects_alone(engine, sim, settings, admin):
    our_accounts(engine, sim, settings)
    drift_behind_our_back(admin)
    before = foreign_rows(sim)
    report = reconcile(engine, settings, "r1")
    queued = queue_fixes(engine, report)
    assert len(queued) == 6  # alice, bob, carol, dave, erin (for her profile), ghost
    drain(engine, settings)
    again = reconcile(engine, settings, "r1")
    assert again.clean, again.as_dict()
    assert names(again, "foreign") == names(report, "foreign")
    assert foreign_rows(sim) == before
    assert not [r for r in sim.rows(USERS) if r["name"] == "ghost"]
    assert [r["rate-limit"] for r in sim.rows(HS_PROFILES) if r["name"] == BURST_PROFILE] == [
        "20M/20M 40M/40M 16M/16M 10/10"
    ]


def test_fixes_are_audited_and_unknown_accounts_get_a_remove_row(drifted: Drifted):
    queue_fixes(drifted.engine, reconcile(drifted.engine, drifted.settings, "r1"))
    with Session(drifted.engine) as session:
        ghost = session.scalars(
            select(RouterProvisioning).where(RouterProvisioning.router_username == "ghost")
        ).one()
        logs = session.scalars(
            select(SystemLog.message).where(SystemLog.message.like("Reconcile%"))
        ).all()  # type: ignore[attr-defined]
    assert (ghost.action, ghost.status) == ("remove", "pending")
    assert len(logs) == 7  # six jobs and a summary
    assert not any("changed-by-hand" in line for line in logs)


def test_an_untagged_unknown_account_is_never_queued(drifted: Drifted):
    drifted.admin.set(
        USERS, drifted.admin.print(USERS, where={"name": "ghost"})[0][".id"], {"comment": "by hand"}
    )
    report = reconcile(drifted.engine, drifted.settings, "r1")
    assert ("account", "hotspot", "ghost") in names(report, "foreign")
    queue_fixes(drifted.engine, report)
    with Session(drifted.engine) as session:
        count = session.scalar(
            select(func.count()).where(RouterProvisioning.router_username == "ghost")
        )
    assert count == 0


def test_a_fix_skips_a_row_whose_desired_state_changed_since_the_read(drifted: Drifted):
    from db.engine import session_scope
    from db.queue import queue_account

    report = reconcile(drifted.engine, drifted.settings, "r1")
    with session_scope(drifted.engine) as session:  # bob expired meanwhile
        queue_account(
            session, router_id=1, router_username="bob", service_type="hotspot", action="deactivate"
        )
    queue_fixes(drifted.engine, report)
    with Session(drifted.engine) as session:
        bob = session.scalars(
            select(RouterProvisioning).where(RouterProvisioning.router_username == "bob")
        ).one()
    assert (bob.action, bob.revision) == ("deactivate", 2)


def test_accounts_still_in_the_queue_are_counted_not_compared(drifted: Drifted):
    from db.activation import ActivationService

    ActivationService(drifted.engine).activate("dave", "Home 10M")  # re-queued, not yet delivered
    report = reconcile(drifted.engine, drifted.settings, "r1")
    assert names(report, "missing") == []
    assert report.in_queue == 1


def test_a_down_router_is_one_clear_sentence(drifted: Drifted):
    drifted.sim.down()
    with pytest.raises(RouterError) as caught:
        reconcile(drifted.engine, drifted.settings, "r1")
    message = str(caught.value)
    assert message.startswith("router r1 (127.0.0.1:") and "\n" not in message
    assert caught.value.kind == "unreachable"


def test_progress_is_reported_and_a_cancel_stops_the_read(drifted: Drifted):
    seen: list[Progress] = []
    reconcile(drifted.engine, drifted.settings, "r1", progress=seen.append)
    assert Progress("hotspot users", 6, 6) in seen
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled, match="cancelled; nothing was changed"):
        reconcile(drifted.engine, drifted.settings, "r1", cancel=stop)
    assert (
        reconcile(drifted.engine, drifted.settings, "r1", cancel=lambda: False).counts["missing"]
        == 1
    )


def test_cancel_in_the_middle_of_a_large_table_leaves_the_router_usable(sqlite_engine, settings):
    from scheduler.sim import SimRouter
    from tests import factories

    with SimRouter(password="secret-pw", seed_users=1500) as big:
        factories.router(sqlite_engine, port=big.port)
        calls = {"n": 0}

        def after_first_page() -> bool:
            calls["n"] += 1
            return calls["n"] > 3

        with pytest.raises(Cancelled):
            reconcile(sqlite_engine, settings, "r1", cancel=after_first_page)
        report = reconcile(sqlite_engine, settings, "r1")
    assert report.counts["foreign"] == 1500 + 3  # the seeded users and their three profiles


def test_an_untagged_account_named_like_a_removed_one_is_foreign_and_left_alone(drifted: Drifted):
    from db.engine import session_scope
    from db.queue import queue_account

    with session_scope(drifted.engine) as session:  # dave is removed for good
        queue_account(
            session, router_id=1, router_username="dave", service_type="hotspot", action="remove"
        )
    drain(drifted.engine, drifted.settings)
    # Someone else creates their own dave, without our tag.
    drifted.admin.add(USERS, {"name": "dave", "password": "theirs", "comment": "walk-in"})
    report = reconcile(drifted.engine, drifted.settings, "r1")
    assert ("account", "hotspot", "dave") in names(report, "foreign")
    assert ("account", "hotspot", "dave") not in names(report, "different")
    queue_fixes(drifted.engine, report)
    drain(drifted.engine, drifted.settings)
    assert [r["comment"] for r in drifted.sim.rows(USERS) if r["name"] == "dave"] == ["walk-in"]


def test_fixes_survive_a_drainer_committing_while_they_are_queued(drifted: Drifted, monkeypatch):
    from sqlalchemy import text

    from scheduler.reconcile import fix

    report = reconcile(drifted.engine, drifted.settings, "r1")
    real = fix._locked
    writers: list[threading.Thread] = []

    def drainer_commits() -> None:
        with drifted.engine.begin() as connection:
            connection.execute(text("UPDATE routers SET last_error = 'busy'"))

    def racing(session, *where):
        row = real(session, *where)
        if not writers:  # another process writes between the fix's first read and its first write
            writers.append(threading.Thread(target=drainer_commits))
            writers[0].start()
            writers[0].join(timeout=1.0)
        return row

    monkeypatch.setattr(fix, "_locked", racing)
    assert len(queue_fixes(drifted.engine, report)) == 6
    writers[0].join(timeout=10.0)
    assert not writers[0].is_alive()
