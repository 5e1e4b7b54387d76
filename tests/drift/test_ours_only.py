"""Ours only across import and reconcile: imported profiles are read-only until adopted, imported
accounts keep their comment text and unmodelled fields through every write, and a fix never queues
a change to what is not ours."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from console.cli import main
from db import queue
from db.activation import ActivationService
from db.engine import session_scope
from db.models import RouterProfile, RouterProvisioning, Subscription
from scheduler.reconcile.compare import reconcile
from scheduler.reconcile.fix import queue_fixes
from scheduler.reconcile.import_plan import plan_import
from scheduler.reconcile.import_write import apply_import
from tests import factories
from tests.drift.conftest import (
    HS_PROFILES,
    PPP_PROFILES,
    SECRETS,
    SIM_PASSWORD,
    USERS,
    drain,
    item_id,
)
from tests.drift.test_adopt import existing_router
from tests.drift.test_cli import config

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
MPESA = "M-Pesa QJ03961893 0703531092"


def named(sim, path: str, name: str) -> dict[str, str]:
    [row] = [r for r in sim.rows(path) if r.get("name") == name]
    return row


def rows(engine: Engine) -> dict[tuple[str, str], RouterProvisioning]:
    with Session(engine) as session:
        return {
            (r.service_type, r.router_username): r
            for r in session.scalars(select(RouterProvisioning))
        }


def owned(engine: Engine) -> list[tuple[str, str, str]]:
    with Session(engine) as session:
        return sorted(
            (p.service_type, p.name, p.origin) for p in session.scalars(select(RouterProfile))
        )


@pytest.fixture
def imported(engine, sim, settings, admin) -> Engine:
    """On every database: a router as an ISP runs it before WISP Console, imported."""
    factories.router(engine, port=sim.port, password=SIM_PASSWORD)
    existing_router(admin)
    admin.add(
        USERS,
        {
            "name": "mpesa1",
            "password": "m-pass-6",
            "profile": "5M_DAILY",
            "comment": MPESA,
            "limit-bytes-total": "5000000",
            "limit-uptime": "1d",
            "mac-address": "AA:BB:CC:00:00:01",
        },
    )
    apply_import(engine, plan_import(engine, settings, "r1", now=NOW), now=NOW)
    return engine


def test_imported_profiles_keep_their_names_and_stay_read_only_until_adopted(
    imported, settings, sim
):
    assert owned(imported) == []
    again = plan_import(imported, settings, "r1", now=NOW)
    assert again.empty and sorted(again.profiles) == [
        ("hotspot", "20M_BUSINESS"),
        ("hotspot", "5M_DAILY"),
        ("pppoe", "PPPOE_10M"),
    ]
    adopting = plan_import(imported, settings, "r1", adopt_profiles=True, now=NOW)
    assert not adopting.empty
    assert apply_import(imported, adopting, now=NOW).profiles_adopted == 3
    assert owned(imported) == [
        ("hotspot", "20M_BUSINESS", "adopted"),
        ("hotspot", "5M_DAILY", "adopted"),
        ("pppoe", "PPPOE_10M", "adopted"),
    ]
    assert plan_import(imported, settings, "r1", adopt_profiles=True, now=NOW).empty


def test_import_keeps_each_accounts_comment_text_and_unmodelled_fields_and_lets_it_adopt(
    imported,
):
    found = rows(imported)
    mpesa, achieng, shop = (
        found[("hotspot", "mpesa1")],
        found[("hotspot", "achieng")],
        found[("pppoe", "shop1")],
    )
    assert all(row.adopt for row in found.values())
    assert (mpesa.router_comment, mpesa.router_extra) == (
        MPESA,
        {"limit-bytes-total": "5000000", "limit-uptime": "1d", "mac-address": "AA:BB:CC:00:00:01"},
    )
    assert (achieng.router_comment, achieng.router_extra) == (
        "M-Pesa QA1B2C3D4E",
        {"limit-bytes-total": "1073741824"},
    )
    assert (shop.router_comment, shop.router_extra) == (
        "expires 2026-09-30 18:00",
        {"remote-address": "10.9.0.2"},
    )
    assert found[("hotspot", "kamau")].router_extra is None
    with Session(imported) as session:
        subscriptions = session.scalars(select(Subscription)).all()
    assert subscriptions and all(
        s.delivered_at == NOW and not s.starts_on_delivery for s in subscriptions
    )


def test_reconcile_fix_of_an_imported_account_keeps_its_comment_text_and_data_limit(
    imported, sim, settings, admin, tmp_path, capsys
):
    admin.set(USERS, item_id(admin, USERS, "mpesa1"), {"disabled": "yes"})
    profile_before = named(sim, HS_PROFILES, "5M_DAILY")
    assert (
        main(["--config", config(tmp_path, imported), "reconcile", "r1", "--fix"]) == 4
    )  # drift found
    assert "queued 1 corrective job(s)" in capsys.readouterr().out
    drain(imported, settings)
    user = named(sim, USERS, "mpesa1")
    job = rows(imported)[("hotspot", "mpesa1")]
    assert job.status == "completed", job.last_error
    assert user["comment"] == f"{MPESA} wisp-console:{job.id}"
    assert (user["limit-bytes-total"], user["limit-uptime"], user["mac-address"]) == (
        "5000000",
        "1d",
        "AA:BB:CC:00:00:01",
    )
    assert user["disabled"] == "false" and user["password"] == "m-pass-6"
    assert named(sim, HS_PROFILES, "5M_DAILY") == profile_before
    assert reconcile(imported, settings, "r1").clean


def test_a_profile_that_is_not_ours_and_differs_is_reported_and_never_queued(
    imported, sim, settings, admin
):
    admin.set(HS_PROFILES, item_id(admin, HS_PROFILES, "5M_DAILY"), {"rate-limit": "1M/5M"})
    report = reconcile(imported, settings, "r1")
    [finding] = [f for f in report.of("different") if f.kind == "profile"]
    assert finding.name == "5M_DAILY" and not finding.fixable
    assert finding.differences == (
        "rate limit is '1M/5M' on the router, '2M/5M' in the database",
        "not ours, so WISP Console leaves it as it is "
        "(`wisp import r1 --adopt-profiles` adopts it)",
    )
    assert queue_fixes(imported, report) == []
    drain(imported, settings)
    assert named(sim, HS_PROFILES, "5M_DAILY")["rate-limit"] == "1M/5M"


def test_an_adopted_profile_is_put_right_by_a_fix(imported, sim, settings, admin):
    apply_import(imported, plan_import(imported, settings, "r1", adopt_profiles=True), now=NOW)
    admin.set(HS_PROFILES, item_id(admin, HS_PROFILES, "5M_DAILY"), {"rate-limit": "1M/5M"})
    report = reconcile(imported, settings, "r1")
    [finding] = [f for f in report.of("different") if f.kind == "profile"]
    assert finding.fixable
    assert queue_fixes(imported, report)
    drain(imported, settings)
    assert named(sim, HS_PROFILES, "5M_DAILY")["rate-limit"] == "2M/5M"
    assert named(sim, USERS, "mpesa1")["comment"].startswith(f"{MPESA} wisp-console:")


def test_import_lets_a_refused_activation_take_over_the_account_and_a_retry_delivers_it(
    sqlite_engine, sim, settings, admin
):
    factories.router(sqlite_engine, port=sim.port, password=SIM_PASSWORD)
    factories.package(sqlite_engine)
    factories.client(sqlite_engine, "newguy")
    admin.add(
        USERS, {"name": "newguy", "password": "x", "comment": "paid cash", "limit-uptime": "2h"}
    )
    ActivationService(sqlite_engine, factories.clock_from_payment()).activate("newguy", "Home 10M")
    drain(sqlite_engine, settings)
    row = rows(sqlite_engine)[("hotspot", "newguy")]
    assert row.status == "failed" and "`wisp import r1` adopts it" in (row.last_error or "")
    plan = plan_import(sqlite_engine, settings, "r1")
    assert [(a.username, a.comment, a.extra) for a in plan.adoptions] == [
        ("newguy", "paid cash", {"limit-uptime": "2h"})
    ]
    assert apply_import(sqlite_engine, plan).accounts_adopted == 1
    with session_scope(sqlite_engine) as session:
        queue.retry(session)
    drain(sqlite_engine, settings)
    user = named(sim, USERS, "newguy")
    assert user["comment"] == f"paid cash wisp-console:{row.id}" and user["limit-uptime"] == "2h"
    assert user["profile"] == "HOTSPOT_10M_PERSONAL"


def test_an_unknown_account_of_ours_is_removed_though_a_row_of_the_other_service_has_its_name(
    engine, sim, settings, admin
):
    factories.router(engine, port=sim.port, password=SIM_PASSWORD)
    factories.package(engine, "Fibre 20M", type="pppoe", rate="20M")
    factories.client(engine, "ghost")
    ActivationService(engine, factories.clock_from_payment()).activate("ghost", "Fibre 20M")
    drain(engine, settings)
    admin.add(USERS, {"name": "ghost", "password": "g", "comment": "wisp-console:999"})
    report = reconcile(engine, settings, "r1")
    assert [(f.service, f.name) for f in report.of("unknown")] == [("hotspot", "ghost")]
    assert len(queue_fixes(engine, report)) == 1
    assert rows(engine)[("hotspot", "ghost")].action == "remove"
    drain(engine, settings)
    assert not [r for r in sim.rows(USERS) if r["name"] == "ghost"]
    assert named(sim, SECRETS, "ghost")["disabled"] == "false"


def test_import_output_names_the_read_only_profiles_and_how_to_adopt_them(
    sqlite_engine, sim, settings, admin, tmp_path, capsys
):
    factories.router(sqlite_engine, port=sim.port, password=SIM_PASSWORD)
    admin.add(HS_PROFILES, {"name": "5M_DAILY", "rate-limit": "2M/5M"})
    admin.add(PPP_PROFILES, {"name": "PPPOE_10M", "rate-limit": "5M/10M"})
    path = config(tmp_path, sqlite_engine)
    assert main(["--config", path, "import", "r1", "--yes"]) == 0
    out = capsys.readouterr().out
    assert (
        "read-only profiles (2): 5M_DAILY, PPPOE_10M; WISP Console uses them as they are and "
        "never changes them. To let it manage them: `wisp import r1 --adopt-profiles`."
    ) in out
    assert owned(sqlite_engine) == []
    assert main(["--config", path, "import", "r1", "--adopt-profiles", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "profiles to adopt (2): 5M_DAILY, PPPOE_10M" in out and "adopted 2 profile(s)" in out
    assert owned(sqlite_engine) == [
        ("hotspot", "5M_DAILY", "adopted"),
        ("pppoe", "PPPOE_10M", "adopted"),
    ]
