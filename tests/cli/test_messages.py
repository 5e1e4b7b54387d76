"""What the command says when there is nothing, when it needs more, and when it is asked for help."""

from __future__ import annotations

from scheduler.sim import SimRouter
from tests.cli.conftest import Wisp


def test_an_empty_listing_says_which_listing_on_which_router(shop: Wisp, sim: SimRouter) -> None:
    assert shop.ok("users", "r1", "--pppoe").out == "no PPPoE secrets on router r1\n"
    assert shop.ok("users", "r1", "--hotspot").out == "no hotspot users on router r1\n"
    assert shop.ok("users", "r1").out == "no hotspot users or PPPoE secrets on router r1\n"
    assert shop.ok("users", "r1", "--active").out == (
        "no active hotspot sessions or active PPP sessions on router r1\n"
    )
    shop.ok("activate", "amina", "Day", "--method", "cash")
    shop.ok("run", "--once")
    assert shop.ok("users", "r1", "--pppoe").out == "no PPPoE secrets on router r1\n"
    listed = shop.ok("users", "r1").out
    assert "amina" in listed and listed.endswith("1 hotspot\n")


def test_init_explains_itself(wisp: Wisp) -> None:
    helped = " ".join(wisp("init", "--help").out.split())
    assert "write the config file if it is absent" in helped
    assert "the only command that creates a database" in helped


def test_router_add_without_a_check_stores_a_router_that_is_not_there_yet(wisp: Wisp) -> None:
    unset = wisp(
        *("router", "add", "r9", "--host", "127.0.0.1", "--port", "1"),
        *("--password-env", "R9_PASSWORD"),
    )
    assert unset.err == (
        "wisp: router r9: environment variable R9_PASSWORD (holding a router password) is not "
        "set; nothing was stored (--no-check stores it without trying).\n"
    )
    refused = wisp(
        *("router", "add", "r9", "--host", "127.0.0.1", "--port", "1", "--password-stdin"),
        stdin="pw\n",
    )
    assert refused.code == 1 and refused.err.count("\n") == 1
    assert "refused the connection" in refused.err and "nothing was stored" in refused.err
    stored = wisp.ok(
        *("router", "add", "r9", "--host", "127.0.0.1", "--port", "1", "--no-check"),
        *("--password-env", "R9_PASSWORD"),
    )
    assert stored.out == "router r9 added: admin@127.0.0.1:1\n"
