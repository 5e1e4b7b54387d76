"""Import of an existing router: packages with typed shaping, accounts, expiries; idempotent; router untouched."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from db.models import Client, Package, RouterProvisioning, Subscription, SystemLog
from scheduler.reconcile.compare import reconcile
from scheduler.reconcile.import_plan import plan_import
from scheduler.reconcile.import_write import apply_import
from tests import factories
from tests.drift.conftest import HS_PROFILES, PPP_PROFILES, SECRETS, SIM_PASSWORD, USERS

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
NAIROBI = ZoneInfo("Africa/Nairobi")


def existing_router(admin) -> None:
    """What an ISP's router looks like before WISP Console: Mikhmon-style comments, odd profiles."""
    admin.add(HS_PROFILES, {"name": "5M_DAILY", "rate-limit": "2M/5M", "shared-users": "2"})
    admin.add(HS_PROFILES, {"name": "20M_BUSINESS", "rate-limit": "10M/20M 20M/40M 8M/16M 10s/10s"})
    admin.add(HS_PROFILES, {"name": "PRIORITY", "rate-limit": "256k/2M 0/0 0/0 0/0 4 128k/1M"})
    admin.add(HS_PROFILES, {"name": "FREE", "shared-users": "1"})
    admin.add(PPP_PROFILES, {"name": "PPPOE_10M", "rate-limit": "5M/10M"})
    admin.add(
        USERS,
        {
            "name": "wanjiku",
            "password": "w-pass-1",
            "profile": "5M_DAILY",
            "comment": "jan/05/2027 10:00:00",
        },
    )
    admin.add(
        USERS,
        {
            "name": "otieno",
            "password": "o-pass-2",
            "profile": "20M_BUSINESS",
            "comment": "exp 31/12/2026 0712345678",
        },
    )
    admin.add(
        USERS,
        {
            "name": "achieng",
            "password": "a-pass-3",
            "profile": "5M_DAILY",
            "comment": "M-Pesa QA1B2C3D4E",
            "limit-bytes-total": "1073741824",
        },
    )
    admin.add(
        USERS, {"name": "kamau", "password": "k-pass-4", "profile": "5M_DAILY", "disabled": "yes"}
    )
    admin.add(USERS, {"name": "vip", "password": "v", "profile": "PRIORITY"})
    admin.add(USERS, {"name": "guest", "password": "g", "profile": "FREE"})
    admin.add(USERS, {"name": "AA:BB:CC:DD:EE:FF", "profile": "5M_DAILY"})
    admin.add(
        SECRETS,
        {
            "name": "shop1",
            "password": "s-pass-5",
            "service": "pppoe",
            "profile": "PPPOE_10M",
            "remote-address": "10.9.0.2",
            "comment": "expires 2026-09-30 18:00",
        },
    )


@pytest.fixture
def adopted(sqlite_engine, sim, settings, admin):
    factories.router(sqlite_engine, port=sim.port, password=SIM_PASSWORD)
    existing_router(admin)
    return sqlite_engine


def table_counts(engine) -> dict[str, int]:
    with Session(engine) as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))  # type: ignore[attr-defined]
            for model in (Package, Client, RouterProvisioning, Subscription)
        }


def test_profiles_become_packages_with_typed_shaping_and_odd_shapes_are_reported(adopted, settings):
    plan = plan_import(adopted, settings, "r1", now=NOW)
    assert sorted(p.name for p in plan.packages) == ["20M_BUSINESS", "5M_DAILY", "PPPOE_10M"]
    skipped = {s.name: s.reason for s in plan.skipped if s.kind == "profile"}
    assert set(skipped) == {"PRIORITY", "FREE"}
    assert "priority or minimum rates" in skipped["PRIORITY"]
    assert "unlimited" in skipped["FREE"]
    apply_import(adopted, plan, now=NOW)
    with Session(adopted) as session:
        business = session.scalars(
            select(Package).where(Package.router_profile == "20M_BUSINESS")
        ).one()
        daily = session.scalars(select(Package).where(Package.router_profile == "5M_DAILY")).one()
    assert (business.bandwidth_value, business.bandwidth_unit, business.upload_value) == (
        20,
        "Mbps",
        10,
    )
    assert business.burst_enabled and business.account_type == "business"
    assert (business.burst_download_rate_kbps, business.burst_upload_rate_kbps) == (40_000, 20_000)
    assert (business.burst_download_threshold_kbps, business.burst_download_time) == (16_000, 10)
    assert (daily.hotspot_device_limit, daily.rate_limit, daily.imported_at) == (2, "2M/5M", NOW)


def test_accounts_get_clients_rows_and_the_expiry_their_comment_states(adopted, settings):
    plan = plan_import(adopted, settings, "r1", validity="7d", now=NOW)
    expiries = {a.username: (a.expires_on, a.expiry_source) for a in plan.accounts}
    assert expiries == {
        "wanjiku": (datetime(2027, 1, 5, 10, 0, tzinfo=NAIROBI), "comment"),
        "otieno": (datetime(2027, 1, 1, 0, 0, tzinfo=NAIROBI), "comment"),
        "achieng": (datetime(2026, 6, 8, 9, 0, tzinfo=UTC), "default"),
        "kamau": (None, ""),
        "shop1": (datetime(2026, 9, 30, 18, 0, tzinfo=NAIROBI), "comment"),
    }
    skipped = {s.name for s in plan.skipped if s.kind == "account"}
    assert skipped == {"vip", "guest", "AA:BB:CC:DD:EE:FF"}
    assert plan.data_limits == 1
    result = apply_import(adopted, plan, now=NOW)
    assert (result.packages, result.clients, result.accounts, result.subscriptions) == (3, 5, 5, 4)
    with Session(adopted) as session:
        rows = {r.router_username: r for r in session.scalars(select(RouterProvisioning))}
        otieno = session.scalars(select(Client).where(Client.username == "otieno")).one()
    assert {r.status for r in rows.values()} == {"completed"}
    assert all(r.imported_at == NOW for r in rows.values())
    assert (rows["kamau"].action, rows["kamau"].subscription_id) == ("deactivate", None)
    assert rows["shop1"].service_type == "pppoe"
    assert otieno.phone == "0712345678"


def test_import_never_changes_the_router(adopted, settings, sim):
    before = {path: sim.rows(path) for path in (USERS, SECRETS, HS_PROFILES, PPP_PROFILES)}
    commands_before = Counter(sim.stats)
    apply_import(adopted, plan_import(adopted, settings, "r1", now=NOW), now=NOW)
    sent = Counter(sim.stats) - commands_before
    assert sent and all(c.endswith("/print") or c == "/login" for c in sent), sent
    assert {path: sim.rows(path) for path in before} == before


def test_importing_twice_changes_nothing_the_second_time(adopted, settings):
    apply_import(adopted, plan_import(adopted, settings, "r1", now=NOW), now=NOW)
    counts = table_counts(adopted)
    second = plan_import(adopted, settings, "r1", now=NOW)
    assert second.empty and (second.known_packages, second.known_accounts) == (3, 5)
    assert apply_import(adopted, second, now=NOW).written == 0
    assert table_counts(adopted) == counts
    with Session(adopted) as session:
        imports = session.scalar(
            select(func.count()).where(SystemLog.message.like("Imported from%"))
        )  # type: ignore[attr-defined]
    assert imports == 1


def test_import_followed_by_reconcile_reports_no_drift(adopted, settings):
    apply_import(adopted, plan_import(adopted, settings, "r1", now=NOW), now=NOW)
    report = reconcile(adopted, settings, "r1")
    assert report.clean, report.as_dict()
    assert sorted(f.name for f in report.of("foreign")) == [
        "AA:BB:CC:DD:EE:FF",
        "FREE",
        "PRIORITY",
        "guest",
        "vip",
    ]


def test_a_plan_written_after_an_activation_skips_the_account_taken_meanwhile(adopted, settings):
    plan = plan_import(adopted, settings, "r1", now=NOW)
    apply_import(adopted, plan, now=NOW)
    assert apply_import(adopted, plan, now=NOW).written == 0


def test_an_import_reuses_existing_clients_links_rows_both_ways_and_is_all_or_nothing(
    engine, sim, settings, admin, monkeypatch
):
    """On every database: the batched writes keep the one transaction and every link."""
    from db import secrets

    factories.router(engine, port=sim.port, password=SIM_PASSWORD)
    existing_router(admin)
    adopted = engine
    factories.client(adopted, "otieno", full_name="Otieno Ouma")
    plan = plan_import(adopted, settings, "r1", now=NOW)
    before = table_counts(adopted)
    encrypt = secrets.encrypt

    def failing(plain: str) -> str:
        if plain == "s-pass-5":  # the last account of the plan
            raise secrets.SecretError("the key went away mid-import.")
        return encrypt(plain)

    monkeypatch.setattr(secrets, "encrypt", failing)
    with pytest.raises(secrets.SecretError):
        apply_import(adopted, plan, now=NOW)
    assert table_counts(adopted) == before
    monkeypatch.setattr(secrets, "encrypt", encrypt)
    result = apply_import(adopted, plan, now=NOW)
    assert (result.accounts, result.clients, result.subscriptions) == (5, 4, 4)
    with Session(adopted) as session:
        otieno = session.scalars(select(Client).where(Client.username == "otieno")).all()
        assert [c.full_name for c in otieno] == ["Otieno Ouma"]
        for row in session.scalars(select(RouterProvisioning)).all():
            owner = session.scalars(
                select(Client.id).where(Client.username == row.router_username)
            ).one()
            assert row.client_id == owner
            if row.subscription_id is not None:
                subscription = session.get(Subscription, row.subscription_id)
                assert subscription is not None and subscription.provisioning_id == row.id
