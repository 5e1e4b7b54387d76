"""--json on every listing and action: typed values (booleans, integers, seconds as integers, ISO
8601 times with their offset, money as a decimal string) under the console's column names."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from scheduler.sim import SimRouter
from tests.cli.conftest import PASSWORD, Wisp

TIME = "time"


def kinds(value: dict[str, Any]) -> dict[str, str]:
    """Each field's JSON type; a string that is an ISO 8601 time with an offset is a "time"."""

    def kind(item: Any) -> str:
        if isinstance(item, str):
            try:
                return TIME if datetime.fromisoformat(item).utcoffset() is not None else "str"
            except ValueError:
                return "str"
        return type(item).__name__

    return {key: kind(item) for key, item in value.items()}


def test_listings_are_typed_under_the_console_column_names(shop: Wisp, sim: SimRouter) -> None:
    shop.ok("activate", "amina", "Day", "--payment-ref", "QA1")
    shop.ok("run", "--once")
    (router,) = shop.ok("router", "list", "--json").json()
    assert kinds(router) | {"version": "str", "last_error": "str"} == {
        "name": "str",
        "host": "str",
        "port": "int",
        "tls": "bool",
        "user": "str",
        "status": "str",
        "health": "str",
        "since": TIME,
        "version": "str",
        "last_seen": TIME,
        "last_error": "str",
    }
    day = shop.ok("package", "list", "--json").json()[0]
    assert list(day)[:7] == ["name", "type", "price", "validity", "rate_limit", "profile", "router"]
    assert day["price"] == "50.00"
    assert day["validity"] == {"length": 1, "unit": "days", "seconds": 86400, "text": "1 day"}
    assert day["devices"] is None and day["data_limit"] is None
    (job,) = shop.ok("jobs", "--json").json()
    assert list(job)[:9] == [
        "job",
        "account",
        "status",
        "action",
        "router",
        "tries",
        "next_try",
        "age",
        "last_error",
    ]
    assert kinds(job)["tries"] == "int" and kinds(job)["age"] == "int"
    assert kinds(job)["created_at"] == TIME and kinds(job)["completed_at"] == TIME
    (subscription,) = shop.ok("subscriptions", "--json").json()
    assert list(subscription)[:7] == [
        "id",
        "client",
        "package",
        "router_account",
        "expires_in",
        "status",
        "router",
    ]
    assert {k: kinds(subscription)[k] for k in ("expires_in", "left", "start", "expires_on")} == {
        "expires_in": "int",
        "left": "int",
        "start": TIME,
        "expires_on": TIME,
    }
    (payment,) = shop.ok("payments", "--json").json()
    assert payment["amount"] == "50.00" and payment["time_bought"] == 86400
    assert kinds(payment)["date"] == TIME
    clients = shop.ok("client", "list", "--json").json()
    assert [(c["username"], c["phone"], c["credit"]) for c in clients][0][0] == "amina"
    ledger = shop.ok("client", "show", "amina", "--json").json()
    assert ledger["credit"] == "0.00"
    assert ledger["subscriptions"][0]["time_bought"] == 86400
    assert ledger["subscriptions"][0]["clock"] == "running"
    assert kinds(ledger["payments"][0])["date"] == TIME


def test_router_users_are_typed(shop: Wisp, sim: SimRouter) -> None:
    shop.ok("activate", "amina", "Day", "--method", "cash")
    shop.ok("run", "--once")
    sim.sessions.login_hotspot("amina")
    (user,) = shop.ok("users", "r1", "--hotspot", "--json").json()
    assert user["disabled"] is False and isinstance(user["uptime"], int)
    assert isinstance(user["bytes_in"], int) and user["type"] == "hotspot"
    assert "password" not in user and "bytes-in" not in user
    (session,) = shop.ok("users", "r1", "--active", "--hotspot", "--json").json()
    assert session["user"] == "amina" and isinstance(session["uptime"], int)
    assert session["service"] == "hotspot"


def test_actions_answer_in_json_too(shop: Wisp, sim: SimRouter) -> None:
    added = shop.ok("client", "add", "carol", "--name", "Carol", "--json").json()
    assert added["username"] == "carol" and added["status"] == "active"
    done = shop.ok("activate", "carol", "Day", "--method", "cash", "--json").json()
    assert kinds(done) | {"converted": "NoneType"} == {
        "client": "str",
        "package": "str",
        "outcome": "str",
        "subscription": "int",
        "payment": "int",
        "job": "int",
        "start": TIME,
        "expires_on": TIME,
        "waits_for_delivery": "bool",
        "credit": "str",
        "withdrawn": "list",
        "converted": "NoneType",
    }
    assert done["waits_for_delivery"] is True and done["credit"] == "0.00"
    checked = shop.ok("router", "check", "r1", "--json").json()
    assert checked["health"] == "up" and isinstance(checked["uptime"], int)
    assert shop.ok("retry", "--failed", "--json").json() == {"retried": []}
    package = shop.ok(
        "package",
        "add",
        "Week",
        *("--type", "hotspot", "--router", "r1", "--price", "300"),
        *("--validity", "1w", "--rate", "5M", "--json"),
    ).json()
    assert package["validity"]["seconds"] == 7 * 86400


def test_the_engine_and_the_schema_answer_in_json_too(shop: Wisp, sim: SimRouter) -> None:
    shop.ok("activate", "amina", "Day", "--method", "cash")
    drained = shop.ok("run", "--once", "--json").json()
    assert drained == {
        "reaped": 0,
        "expired": 0,
        "vouchers_started": 0,
        "completed": 1,
        "failed": 0,
        "retried": 0,
        "held": 0,
        "routers_away": [],
    }
    assert shop("run", "--json").code == 2  # the headless engine logs lines; JSON is for --once
    status = shop.ok("db", "status", "--json").json()
    assert kinds(status) == {
        "database": "str",
        "revision": "str",
        "head": "str",
        "up_to_date": "bool",
    }
    assert status["up_to_date"] is True
    upgraded = shop.ok("db", "upgrade", "--json").json()
    assert upgraded["revision"] == upgraded["previous_revision"] == status["head"]
    init = shop.ok("init", "--json").json()
    assert init["config"] == str(shop.config) and init["config_written"] is None
    assert init["revision"] == status["head"]


def test_run_once_json_names_the_router_away_and_the_jobs_held_there(wisp: Wisp) -> None:
    with SimRouter(password="right") as stopped:
        port = stopped.port
    wisp.ok(
        *("router", "add", "far", "--host", "127.0.0.1", "--port", str(port)),
        *("--password-stdin", "--no-check"),
        stdin="right\n",
    )
    wisp.ok(
        *("package", "add", "Day", "--type", "hotspot", "--router", "far", "--price", "50"),
        *("--validity", "1d", "--rate", "5M"),
    )
    wisp.ok("client", "add", "amina", "--name", "Amina")
    wisp.ok("activate", "amina", "Day", "--method", "cash")
    held = wisp("run", "--once", "--json")
    assert held.code == 5
    assert held.json() | {"reaped": 0} == {
        "reaped": 0,
        "expired": 0,
        "vouchers_started": 0,
        "completed": 0,
        "failed": 0,
        "retried": 0,
        "held": 1,
        "routers_away": ["far"],
    }


def test_import_plan_json_gives_expiry_times_in_the_operator_zone(wisp: Wisp) -> None:
    with SimRouter(password=PASSWORD, seed_users=4) as seeded:
        wisp.ok(
            *("router", "add", "old", "--host", "127.0.0.1", "--port", str(seeded.port)),
            "--password-stdin",
            stdin=f"{PASSWORD}\n",
        )
        plan = wisp.ok("import", "old", "--dry-run", "--json").json()
    expiries = [a["expires_on"] for a in plan["accounts"] if a["expires_on"]]
    assert expiries, plan["accounts"]
    for text in expiries:
        assert datetime.fromisoformat(text).utcoffset() == timedelta(hours=3)  # Africa/Nairobi
