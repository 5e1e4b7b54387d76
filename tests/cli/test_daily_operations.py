"""Running an ISP from scripts: listings, editing routers, packages and clients, suspensions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.models import Router, RouterProvisioning
from scheduler.sim import SimRouter
from tests.cli.conftest import PASSWORD, Wisp

USERS = "/ip/hotspot/user"


def on_router(sim: SimRouter, name: str) -> dict[str, str]:
    return next(row for row in sim.rows(USERS) if row["name"] == name)


def test_subscriptions_and_payments_list_what_runs_and_what_came_in(shop: Wisp) -> None:
    shop.ok("activate", "amina", "Day", "--payment-ref", "QJ1")
    shop.ok("activate", "bob", "Home", "--method", "cash")
    shop.ok("run", "--once")
    rows = shop.ok("subscriptions", "--json").json()
    assert [(r["client"], r["package"], r["status"], r["router"]) for r in rows] == [
        ("amina", "Day", "active", "r1"),
        ("bob", "Home", "active", "r1"),
    ]
    amina = rows[0]
    assert amina["router_account"] == "on router" and amina["clock"] == "running"
    assert isinstance(amina["expires_in"], int) and 86000 < amina["expires_in"] <= 86400
    assert amina["expires_on"][-6:] == "+03:00"  # Africa/Nairobi, the default zone
    soon = shop.ok("subscriptions", "--expiring", "2d", "--json").json()
    assert [r["client"] for r in soon] == ["amina"]
    assert shop.ok("subscriptions", "--expiring", "1h").out == "no subscription ends within 1h\n"
    assert [r["package"] for r in shop.ok("subscriptions", "--client", "bob", "--json").json()] == [
        "Home"
    ]
    table = shop.ok("subscriptions").out.splitlines()
    assert table[0].split() == [
        "ID",
        "CLIENT",
        "PACKAGE",
        "ROUTER_ACCOUNT",
        "EXPIRES",
        "STATUS",
        "ROUTER",
    ]
    paid = shop.ok("payments", "--since", "24h", "--json").json()
    assert [(p["client"], p["amount"], p["reference"], p["time_bought"]) for p in paid] == [
        ("bob", "1500.00", None, 30 * 86400),
        ("amina", "50.00", "QJ1", 86400),
    ]
    assert shop.ok("payments", "--since", "2000-01-01", "--json").json() == paid
    assert shop.ok("payments", "--since", "2999-01-01").out == (
        "no payments since 2999-01-01 00:00 EAT\n"
    )
    assert "EAT" in shop.ok("payments").out


def test_a_wrong_password_is_fixed_with_router_edit_without_losing_anything(
    wisp: Wisp, sim: SimRouter, engine: Engine
) -> None:
    refused = wisp(
        *("router", "add", "r1", "--host", "127.0.0.1", "--port", str(sim.port)),
        "--password-stdin",
        stdin="typo\n",
    )
    assert refused.code != 0 and "refused the login of user admin" in refused.err
    assert "nothing was stored" in refused.err and "typo" not in refused.err
    assert wisp.ok("router", "list", "--json").json() == []
    wisp.ok(
        *("router", "add", "r1", "--host", "127.0.0.1", "--port", str(sim.port)),
        *("--password-stdin", "--no-check"),
        stdin="typo\n",
    )
    wisp.ok(
        *[
            "package",
            "add",
            "Day",
            "--type",
            "hotspot",
            "--router",
            "r1",
            "--price",
            "50",
            "--validity",
            "1d",
            "--rate",
            "5M",
        ]
    )
    wisp.ok("client", "add", "amina", "--name", "Amina")
    wisp.ok("activate", "amina", "Day", "--method", "cash")
    held = wisp("run", "--once")
    assert held.code == 5 and "1 held (router away: r1)" in held.err
    assert wisp("router", "edit", "r1", "--password-stdin", stdin="still-wrong\n").code != 0
    changed = wisp.ok("router", "edit", "r1", "--password-stdin", stdin=f"{PASSWORD}\n")
    assert "router r1 changed (password)" in changed.out and "accepted the login" in changed.out
    wisp.ok("run", "--once")
    assert on_router(sim, "amina")["disabled"] == "false"
    with Session(engine) as session:
        assert session.scalars(select(Router.health)).one() == "up"


def test_router_edit_changes_host_and_port_and_says_so_in_json(wisp: Wisp, sim: SimRouter) -> None:
    wisp.ok(
        *("router", "add", "r1", "--host", "localhost", "--port", "1", "--no-check"),
        "--password-env",
        "R1_PASSWORD",
    )
    moved = wisp.ok(
        *("router", "edit", "r1", "--host", "127.0.0.1", "--port", str(sim.port)),
        *("--password-stdin", "--json"),
        stdin=f"{PASSWORD}\n",
    ).json()
    assert moved["host"] == "127.0.0.1" and moved["port"] == sim.port and moved["tls"] is False
    assert moved["changed"] == ["host", "port", "password"]
    assert PASSWORD not in str(moved)
    nothing = wisp("router", "edit", "r1")
    assert nothing.code == 2 and "nothing to change on router r1" in nothing.err
    renamed = wisp.ok("router", "edit", "r1", "--user", "ops", "--no-check", "--json").json()
    assert renamed["changed"] == ["user"] and renamed["user"] == "ops"  # the listing's words


def test_router_remove_refuses_while_accounts_depend_on_it_unless_told_to_forget_them(
    shop: Wisp, sim: SimRouter, engine: Engine
) -> None:
    shop.ok("activate", "amina", "Day", "--method", "cash")
    refused = shop("router", "remove", "r1")
    assert refused.code == 1
    assert refused.err == (
        "wisp: router r1 still has 1 router account(s) and 1 unfinished job(s); move them first, "
        "or pass --forget-accounts to delete them from the database with the router (nothing on "
        "the router changes).\n"
    )
    shop.ok("run", "--once")
    gone = shop.ok("router", "remove", "r1", "--forget-accounts", "--json").json()
    assert gone == {
        "name": "r1",
        "removed": True,
        "accounts_forgotten": 1,
        "jobs_forgotten": 0,
        "packages_without_router": ["Day", "Home"],
    }
    assert on_router(sim, "amina")["disabled"] == "false"  # the router itself is left as it is
    with Session(engine) as session:
        assert session.scalars(select(RouterProvisioning)).all() == []
    assert [p["router"] for p in shop.ok("package", "list", "--json").json()] == [None, None]
    again = shop("activate", "bob", "Day", "--method", "cash")
    assert again.code == 1 and "package Day has no router" in again.err


def test_package_edit_price_and_name_change_only_the_catalog(shop: Wisp) -> None:
    shop.ok("activate", "amina", "Day", "--method", "cash")
    shop.ok("run", "--once")
    edited = shop.ok("package", "edit", "Day", "--price", "60", "--name", "Day 5M", "--json").json()
    assert edited["changed"] == ["name", "price"] and edited["requeued"] == []
    assert edited["price"] == "60.00" and edited["name"] == "Day 5M"
    jobs = shop.ok("jobs", "--json").json()
    assert [j["status"] for j in jobs] == ["completed"]


def test_package_edit_of_the_rate_asks_then_requeues_every_active_account(
    shop: Wisp, sim: SimRouter
) -> None:
    for client in ("amina", "bob"):
        shop.ok("activate", client, "Day", "--method", "cash")
    shop.ok("run", "--once")
    before = on_router(sim, "amina")["profile"]
    unconfirmed = shop("package", "edit", "Day", "--rate", "8M")
    assert unconfirmed.code == 1 and "add --yes" in unconfirmed.err
    assert "the package was not changed" in unconfirmed.err
    assert shop.ok("package", "list", "--json").json()[0]["rate_limit"] == "5M/5M"
    done = shop.ok("package", "edit", "Day", "--rate", "8M", "--yes")
    assert "2 account(s) queued to be re-provisioned" in done.out
    shop.ok("run", "--once")
    after = {on_router(sim, name)["profile"] for name in ("amina", "bob")}
    assert after == {"HOTSPOT_8M_PERSONAL"} and before != "HOTSPOT_8M_PERSONAL"


def test_client_edit_changes_the_contact_details(shop: Wisp) -> None:
    edited = shop.ok(
        "client", "edit", "amina", "--name", "Amina W. Kamau", "--email", "a@example.com", "--json"
    ).json()
    assert edited["full_name"] == "Amina W. Kamau" and edited["email"] == "a@example.com"
    assert edited["changed"] == ["full_name", "email"]
    assert shop("client", "edit", "amina").code == 2


def test_suspend_disables_the_account_and_resume_enables_it_with_the_time_left(
    shop: Wisp, sim: SimRouter
) -> None:
    shop.ok("activate", "amina", "Day", "--method", "cash")
    shop.ok("run", "--once")
    left = shop.ok("subscriptions", "--json").json()[0]["left"]
    suspended = shop.ok("client", "suspend", "amina", "--json").json()
    assert suspended["status"] == "suspended" and suspended["jobs"] == [1]
    shop.ok("run", "--once")
    assert on_router(sim, "amina")["disabled"] == "true"
    stopped = shop.ok("subscriptions", "--json").json()[0]
    assert stopped["clock"] == "stopped" and stopped["expires_in"] is None
    assert 0 <= left - stopped["left"] <= 5  # stood still since the suspension
    refused = shop("activate", "amina", "Day", "--method", "cash")
    assert refused.code == 1 and "client amina is suspended" in refused.err
    assert shop("client", "suspend", "amina").code == 1
    resumed = shop.ok("client", "resume", "amina", "--json").json()
    assert resumed["status"] == "active" and resumed["subscriptions"] == [1]
    shop.ok("run", "--once")
    assert on_router(sim, "amina")["disabled"] == "false"
    running = shop.ok("subscriptions", "--json").json()[0]
    assert running["clock"] == "running" and running["paused_seconds"] == resumed["stood_seconds"]
    assert shop("client", "resume", "amina").code == 1
