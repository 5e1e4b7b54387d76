"""Ours only, against the simulator over TCP: what the console did not create is never changed.

Profiles are ours when `router_profiles` says so; accounts when their comment carries our tag, or
when the operator let the job adopt them. Comment text and the fields no package models are kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db import catalog
from db.activation import ActivationService
from db.config import Settings
from db.engine import session_scope
from db.models import Router, RouterProfile, RouterProvisioning, SystemLog
from db.profiles import record_profile
from db.queue import queue_account
from db.types import utcnow
from scheduler.engine.ownership import foreign_account
from scheduler.engine.service import ProvisioningService
from scheduler.routeros import actions
from scheduler.routeros.actions import AccountSpec, NotOurs, ProfileSpec
from scheduler.routeros.client import RouterClient, RouterError
from scheduler.sim import SimRouter
from tests import factories
from tests.scheduler.conftest import SIM_PASSWORD, engine_settings, not_due_again_within_this_drain

USERS = "/ip/hotspot/user"
PROFILES = "/ip/hotspot/user/profile"
SECRETS = "/ppp/secret"
HOME = "HOTSPOT_10M_PERSONAL"


@pytest.fixture
def service(engine: Engine, sim: SimRouter) -> Iterator[ProvisioningService]:
    """r1 on the simulator, "Home 10M" (hotspot, 10M/10M), "Fibre 20M" (PPPoE), client jdoe."""
    factories.setup(engine, router_port=sim.port, password=SIM_PASSWORD)
    provisioning = ProvisioningService(engine_settings(str(engine.url)), engine, worker="test")
    yield provisioning
    provisioning.shutdown()


def named(sim: SimRouter, path: str, name: str) -> list[dict[str, str]]:
    return [row for row in sim.rows(path) if row.get("name") == name]


def account_row(engine: Engine, username: str, service: str = "hotspot") -> RouterProvisioning:
    with Session(engine) as session:
        return session.scalars(
            select(RouterProvisioning).where(
                RouterProvisioning.router_username == username,
                RouterProvisioning.service_type == service,
            )
        ).one()


def owned(engine: Engine) -> list[tuple[str, str, str]]:
    with Session(engine) as session:
        return [
            (p.service_type, p.name, p.origin)
            for p in session.scalars(select(RouterProfile).order_by(RouterProfile.name))
        ]


def activate(engine: Engine, username: str, package: str = "Home 10M", adopt: bool = False) -> None:
    with Session(engine) as session:
        known = catalog.find_client(session, username) is not None
    if not known:
        factories.client(engine, username)
    ActivationService(engine, factories.clock_from_payment()).activate(
        username, package, adopt=adopt
    )


def due_now(engine: Engine) -> None:
    """Bring every pending job's retry forward (instead of waiting for its backoff)."""
    with session_scope(engine) as session:
        session.execute(
            update(RouterProvisioning).values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )


def router_id(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalars(select(Router.id).where(Router.name == "r1")).one()  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ profiles


def test_a_hand_made_profile_of_the_packages_name_is_byte_identical_after_its_activations(
    engine: Engine, service: ProvisioningService, sim: SimRouter, client: RouterClient
) -> None:
    client.add(PROFILES, {"name": HOME, "rate-limit": "5M/10M"})  # made by hand, 10M down
    before = named(sim, PROFILES, HOME)
    activate(engine, "jdoe")
    activate(engine, "amina")
    report = service.drain_once()
    assert named(sim, PROFILES, HOME) == before
    assert (report.failed, report.retried, report.completed) == (2, 0, 0)
    row = account_row(engine, "jdoe")
    assert (row.status, row.attempts) == ("failed", 1)  # for good at once, no backoff
    assert row.last_error is not None
    assert row.last_error.startswith(
        f"router r1 has hotspot profile {HOME} with rate-limit 5M/10M, not created by WISP "
        "Console, and the package needs 10M/10M: the profile was left as it is;"
    )
    assert "`wisp import r1 --adopt-profiles`" in row.last_error
    assert named(sim, USERS, "jdoe") == [] and owned(engine) == []


def test_a_profile_that_is_not_ours_and_shapes_alike_is_used_as_it_is(
    engine: Engine, service: ProvisioningService, sim: SimRouter, client: RouterClient
) -> None:
    # The same shape written the way an export writes it (priority 8, minimum rates = the rates).
    client.add(PROFILES, {"name": HOME, "rate-limit": "10M/10M 0/0 0/0 0/0 8 10M/10M"})
    before = named(sim, PROFILES, HOME)
    activate(engine, "jdoe")
    assert service.drain_once().completed == 1
    assert named(sim, PROFILES, HOME) == before
    assert named(sim, USERS, "jdoe")[0]["profile"] == HOME
    assert sim.stats["/ip/hotspot/user/profile/set"] == 0 and owned(engine) == []


def test_a_missing_profile_is_recorded_as_ours_before_it_is_created_and_a_crash_between_is_mended(
    engine: Engine, service: ProvisioningService, sim: SimRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    not_due_again_within_this_drain(service, monkeypatch)
    sim.faults.trap("/ip/hotspot/user/profile/add", "failure: out of memory", times=1)
    activate(engine, "jdoe")
    assert service.drain_once().retried == 1
    assert named(sim, PROFILES, HOME) == []
    assert owned(engine) == [("hotspot", HOME, "created")]  # recorded before the add
    due_now(engine)
    assert service.drain_once().completed == 1
    assert named(sim, PROFILES, HOME)[0]["rate-limit"] == "10M/10M"
    assert owned(engine) == [("hotspot", HOME, "created")]


def test_a_profile_of_ours_is_corrected_and_one_adopted_by_the_operator_too(
    engine: Engine, service: ProvisioningService, sim: SimRouter, client: RouterClient
) -> None:
    client.add(PROFILES, {"name": HOME, "rate-limit": "5M/10M"})
    record_profile(
        engine, router_id=router_id(engine), service="hotspot", name=HOME, origin="adopted"
    )
    activate(engine, "jdoe")
    assert service.drain_once().completed == 1
    assert named(sim, PROFILES, HOME)[0]["rate-limit"] == "10M/10M"


def test_a_ppp_profile_that_is_not_ours_is_left_alone_too(
    engine: Engine, service: ProvisioningService, sim: SimRouter, client: RouterClient
) -> None:
    client.add("/ppp/profile", {"name": "PPPOE_20M_10MUP_PERSONAL", "rate-limit": "1M/1M"})
    before = named(sim, "/ppp/profile", "PPPOE_20M_10MUP_PERSONAL")
    activate(engine, "jdoe", "Fibre 20M")
    assert service.drain_once().failed == 1
    assert named(sim, "/ppp/profile", "PPPOE_20M_10MUP_PERSONAL") == before
    error = account_row(engine, "jdoe", "pppoe").last_error or ""
    assert "PPP profile PPPOE_20M_10MUP_PERSONAL with rate-limit 1M/1M" in error
    assert "needs 10M/20M" in error


# ------------------------------------------------------------------------------------ accounts


def test_newguy_made_by_someone_else_is_untouched_without_adopt(
    engine: Engine, service: ProvisioningService, sim: SimRouter, client: RouterClient
) -> None:
    client.add(
        USERS,
        {"name": "newguy", "password": "his-own", "comment": "shop owner", "limit-uptime": "1d"},
    )
    before = named(sim, USERS, "newguy")
    activate(engine, "newguy")
    report = service.drain_once()
    assert named(sim, USERS, "newguy") == before
    row = account_row(engine, "newguy")
    assert (report.failed, row.status, row.attempts) == (1, "failed", 1)
    assert row.last_error == (
        "router r1 already has hotspot user newguy, not created by WISP Console; "
        "`wisp import r1` adopts it, or pass --adopt"
    )


def test_newguy_is_taken_over_with_adopt_keeping_his_comment_and_unmodelled_fields(
    engine: Engine, service: ProvisioningService, sim: SimRouter, client: RouterClient
) -> None:
    client.add(
        USERS,
        {
            "name": "newguy",
            "password": "his-own",
            "comment": "shop owner 0712345678",
            "limit-uptime": "1d",
            "mac-address": "AA:BB:CC:00:11:22",
            "limit-bytes-total": "5000000",
        },
    )
    activate(engine, "newguy", adopt=True)
    assert service.drain_once().completed == 1
    [user] = named(sim, USERS, "newguy")
    row = account_row(engine, "newguy")
    assert user["comment"] == f"shop owner 0712345678 wisp-console:{row.id}"
    assert (user["profile"], user["disabled"]) == (HOME, "false")
    assert (user["limit-uptime"], user["mac-address"], user["limit-bytes-total"]) == (
        "1d",
        "AA:BB:CC:00:11:22",
        "5000000",
    )
    assert row.router_comment == "shop owner 0712345678"
    assert row.router_extra == {
        "limit-uptime": "1d",
        "mac-address": "AA:BB:CC:00:11:22",
        "limit-bytes-total": "5000000",
    }
    with Session(engine) as session:
        adopted = session.scalars(
            select(SystemLog.message).where(SystemLog.message.like("%was adopted%"))  # type: ignore[attr-defined]
        ).all()
    assert adopted and "newguy" in adopted[0]
    # Deleted on the router later: it comes back with what it had.
    client.remove(USERS, [user[".id"]])
    activate(engine, "newguy")
    assert service.drain_once().completed == 1
    [again] = named(sim, USERS, "newguy")
    assert again["comment"] == user["comment"] and again["limit-uptime"] == "1d"
    assert again["mac-address"] == "AA:BB:CC:00:11:22" and again["limit-bytes-total"] == "5000000"


def test_an_expiry_never_disables_an_account_that_is_not_ours(
    engine: Engine, service: ProvisioningService, sim: SimRouter, client: RouterClient
) -> None:
    client.add(USERS, {"name": "jdoe", "password": "x", "comment": "someone else's"})
    before = named(sim, USERS, "jdoe")
    with session_scope(engine) as session:
        queue_account(
            session,
            router_id=router_id(engine),
            router_username="jdoe",
            service_type="hotspot",
            action="deactivate",
        )
    assert service.drain_once().failed == 1
    assert named(sim, USERS, "jdoe") == before
    assert "not created by WISP Console, so it was left as it is" in (
        account_row(engine, "jdoe").last_error or ""
    )


# --------------------------------------------------------------- the check before an activation


def test_foreign_account_names_an_untagged_router_account_with_no_row_of_ours(
    engine: Engine, sim: SimRouter, client: RouterClient
) -> None:
    factories.setup(engine, router_port=sim.port, password=SIM_PASSWORD)
    settings, r1 = engine_settings(str(engine.url)), router_id(engine)
    client.add(USERS, {"name": "newguy", "password": "x", "comment": "by hand"})
    client.add(USERS, {"name": "ours", "password": "x", "comment": "paid wisp-console:4"})
    client.add(SECRETS, {"name": "shop", "password": "x", "service": "pppoe"})
    assert foreign_account(settings, engine, r1, "hotspot", "newguy") == (
        "router r1 already has hotspot user newguy, not created by WISP Console; "
        "`wisp import r1` adopts it, or pass --adopt"
    )
    assert foreign_account(settings, engine, r1, "pppoe", "shop") == (
        "router r1 already has PPPoE secret shop, not created by WISP Console; "
        "`wisp import r1` adopts it, or pass --adopt"
    )
    assert foreign_account(settings, engine, r1, "hotspot", "ours") is None
    assert foreign_account(settings, engine, r1, "hotspot", "nobody") is None
    assert foreign_account(settings, engine, r1, "pppoe", "newguy") is None
    with session_scope(engine) as session:  # an import or an operator's adoption allows it
        queue_account(
            session,
            router_id=r1,
            router_username="newguy",
            service_type="hotspot",
            action="activate",
            adopt=True,
        )
    assert foreign_account(settings, engine, r1, "hotspot", "newguy") is None


def test_foreign_account_is_none_when_the_router_cannot_be_reached(
    engine: Engine, sim: SimRouter, client: RouterClient
) -> None:
    factories.setup(engine, router_port=sim.port, password=SIM_PASSWORD)
    client.add(USERS, {"name": "newguy", "password": "x"})
    sim.down()
    settings: Settings = engine_settings(str(engine.url))
    settings.routers.connect_timeout = 0.5
    assert foreign_account(settings, engine, router_id(engine), "hotspot", "newguy") is None


# ------------------------------------------------------------------------- actions themselves


def spec(**changes: object) -> AccountSpec:
    values: dict[str, object] = {
        "service": "hotspot",
        "username": "jdoe",
        "profile": HOME,
        "tag": actions.owner_tag(7),
        "password": "pa55word",
    }
    values.update(changes)
    return AccountSpec(**values)  # type: ignore[arg-type]


@pytest.fixture
def home(client: RouterClient) -> ProfileSpec:
    profile = ProfileSpec("hotspot", HOME, "10M/10M")
    actions.ensure_profile(client, profile, ours=True)
    return profile


@pytest.mark.parametrize(
    ("comment", "owned_"),
    [
        ("wisp-console:17", True),
        ("M-Pesa QJ03961893 0703531092 wisp-console:17", True),
        ("paid wisp-console:3 by Ann", True),
        ("not-wisp-console:17", False),
        ("wisp-console:17x", False),
        ("wisp-console:", False),
        ("", False),
        (None, False),
    ],
)
def test_is_owned_recognises_the_tag_anywhere_as_a_word_of_its_own(
    comment: str | None, owned_: bool
) -> None:
    assert actions.is_owned(comment) is owned_


@pytest.mark.parametrize(
    ("comment", "written"),
    [
        (None, "wisp-console:7"),
        ("M-Pesa QJ03961893 0703531092", "M-Pesa QJ03961893 0703531092 wisp-console:7"),
        ("wisp-console:3", "wisp-console:7"),
        ("paid cash wisp-console:3 by Ann", "paid cash wisp-console:7 by Ann"),
        ("wisp-console:3 old wisp-console:4", "wisp-console:7 old"),
    ],
)
def test_the_comment_written_is_the_kept_text_with_our_tag_an_old_tag_replaced(
    comment: str | None, written: str
) -> None:
    assert actions.tagged_comment(comment, actions.owner_tag(7)) == written


def test_set_keeps_fields_no_package_models_and_add_sends_them_again(
    client: RouterClient, sim: SimRouter, home: ProfileSpec
) -> None:
    kept = (("limit-uptime", "2d"), ("mac-address", "AA:BB:CC:DD:EE:01"))
    actions.activate(client, spec(extra=kept, comment="M-Pesa QA1"))
    [user] = named(sim, USERS, "jdoe")
    assert (user["limit-uptime"], user["mac-address"]) == ("2d", "AA:BB:CC:DD:EE:01")
    assert user["comment"] == "M-Pesa QA1 wisp-console:7" and "limit-bytes-total" not in user
    client.set(
        USERS, user[".id"], {"limit-uptime": "3d", "comment": "M-Pesa QA1 wisp-console:7 VIP"}
    )
    actions.activate(client, spec(extra=kept, comment="M-Pesa QA1"))
    [user] = named(sim, USERS, "jdoe")
    assert user["limit-uptime"] == "3d"  # the router's, not what was stored
    assert user["comment"] == "M-Pesa QA1 wisp-console:7 VIP"


def test_a_data_limit_is_written_for_a_data_package_and_cleared_only_when_we_set_it(
    client: RouterClient, sim: SimRouter, home: ProfileSpec
) -> None:
    actions.activate(client, spec(limit_bytes_total=5_000_000_000))
    assert named(sim, USERS, "jdoe")[0]["limit-bytes-total"] == "5000000000"
    actions.activate(client, spec())  # moved to an unlimited package: our limit goes
    assert named(sim, USERS, "jdoe")[0]["limit-bytes-total"] == "0"
    client.add(USERS, {"name": "amina", "comment": "walk-in", "limit-bytes-total": "1073741824"})
    actions.activate(client, spec(username="amina", adopt=True))
    [amina] = named(sim, USERS, "amina")
    assert amina["limit-bytes-total"] == "1073741824"  # the operator's own limit stays
    actions.activate(client, spec(username="amina", extra=(("limit-bytes-total", "1073741824"),)))
    assert named(sim, USERS, "amina")[0]["limit-bytes-total"] == "1073741824"


def test_read_back_checks_our_tag_is_in_the_comment_not_that_it_is_the_comment(
    client: RouterClient, sim: SimRouter, home: ProfileSpec
) -> None:
    actions.activate(client, spec(comment="paid"))
    [user] = named(sim, USERS, "jdoe")
    client.set(USERS, user[".id"], {"comment": "paid wisp-console:7 checked"})
    assert actions.read_back(client, spec())["comment"] == "paid wisp-console:7 checked"
    client.set(USERS, user[".id"], {"comment": "paid"})
    with pytest.raises(RouterError, match="does not carry wisp-console:7"):
        actions.read_back(client, spec())


def test_ensure_profile_never_writes_a_profile_that_is_not_ours(
    client: RouterClient, sim: SimRouter
) -> None:
    client.add(PROFILES, {"name": HOME, "rate-limit": "5M/10M", "shared-users": "3"})
    before = named(sim, PROFILES, HOME)
    with pytest.raises(NotOurs) as refused:
        actions.ensure_profile(client, ProfileSpec("hotspot", HOME, "10M/10M", 1), ours=False)
    assert "shared users 3 where it needs 1" in str(refused.value)
    assert named(sim, PROFILES, HOME) == before
    assert sim.stats["/ip/hotspot/user/profile/set"] == 0
