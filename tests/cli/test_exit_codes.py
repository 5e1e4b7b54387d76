"""Exit codes a script can act on (console/cli/exits.py): 0 done, 1 error, 2 usage, 3 already
applied, 4 drift found, 5 held or failed jobs."""

from __future__ import annotations

from db.config import RouterSettings
from scheduler.routeros.client import Endpoint, RouterClient
from scheduler.sim import SimRouter
from tests.cli.conftest import PASSWORD, Wisp


def test_usage_errors_exit_2(shop: Wisp) -> None:
    for args, said in (
        (["activate", "amina"], "the following arguments are required: package"),
        (["activate", "amina", "Day"], "a payment without a reference must name its method"),
        (["activate", "amina", "Day", "--method", "cash", "--amount", "lots"], "is not a number"),
        (["payments", "--since", "yesterday"], "--since 'yesterday' is neither a date"),
        (["subscriptions", "--expiring", "soon"], "--expiring 'soon' is not a length"),
        (["router", "edit", "r1"], "nothing to change on router r1"),
        (["client", "edit", "amina"], "nothing to change"),
        (["package", "list", "--bogus"], "unrecognized arguments: --bogus"),
    ):
        result = shop(*args)
        assert result.code == 2, (args, result.err)
        assert said in result.err, (args, result.err)


def test_an_error_exits_1_and_a_payment_applied_before_exits_3(shop: Wisp) -> None:
    assert shop("activate", "nobody", "Day", "--method", "cash").code == 1
    assert shop.ok("activate", "amina", "Day", "--payment-ref", "QK7").code == 0
    again = shop("activate", "amina", "Day", "--payment-ref", "qk7")
    assert again.code == 3
    assert "payment reference QK7 was already applied" in again.err
    assert len(shop.ok("payments", "--json").json()) == 1


def test_reconcile_exits_4_when_it_finds_drift_and_0_when_it_matches(
    shop: Wisp, sim: SimRouter
) -> None:
    shop.ok("activate", "amina", "Day", "--method", "cash")
    shop.ok("run", "--once")
    assert shop("reconcile", "r1").code == 0
    endpoint = Endpoint("r1", "127.0.0.1", sim.port, "admin", PASSWORD)
    with RouterClient(endpoint, RouterSettings(connect_timeout=2.0)) as admin:
        admin.add("/ip/hotspot/user", {"name": "ghost", "comment": "wisp-console:99"})
    drifted = shop("reconcile", "r1", "--json")
    assert drifted.code == 4 and drifted.json()["counts"]["unknown"] == 1


def test_run_once_exits_5_while_jobs_are_held_or_failed_and_0_when_all_are_done(
    wisp: Wisp, sim: SimRouter
) -> None:
    wisp.ok(
        *("router", "add", "r1", "--host", "127.0.0.1", "--port", str(sim.port)),
        *("--password-stdin", "--no-check"),
        stdin="wrong\n",
    )
    wisp.ok(
        *("package", "add", "Day", "--type", "hotspot", "--router", "r1", "--price", "50"),
        *("--validity", "1d", "--rate", "5M"),
    )
    wisp.ok("client", "add", "amina", "--name", "Amina")
    wisp.ok("activate", "amina", "Day", "--method", "cash")
    held = wisp("run", "--once")
    assert held.code == 5 and "1 held" in held.err
    wisp.ok("router", "edit", "r1", "--password-stdin", stdin=f"{PASSWORD}\n")
    assert wisp("run", "--once").code == 0
    once = wisp.config.with_name("once.toml")  # settings are read once per file in a process
    once.write_text(wisp.config.read_text() + "[queue]\nmax_attempts = 1\n")
    wisp.ok("client", "add", "bob", "--name", "Bob")
    sim.faults.trap("/ip/hotspot/user/add", "not enough permissions (9)")
    wisp.ok("activate", "bob", "Day", "--method", "cash")
    failed = Wisp(once)("run", "--once")
    assert failed.code == 5 and "failed for good" in failed.err
