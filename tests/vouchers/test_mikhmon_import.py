"""A router Mikhmon ran, imported: its priced profiles become packages, its vouchers become
vouchers in their batches and true states, and a second import changes nothing. Over TCP, on
every database."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from db.types import utcnow
from scheduler.reconcile.mikhmon import read_voucher
from scheduler.routeros.client import RouterClient
from scheduler.sim import SimRouter
from tests.cli.conftest import PASSWORD, Wisp
from tests.scheduler.conftest import endpoint

NAIROBI = ZoneInfo("Africa/Nairobi")


def test_a_mikhmon_router_imports_with_every_voucher_in_its_state_and_twice_changes_nothing(
    wisp: Wisp,
) -> None:
    with SimRouter(password=PASSWORD, seed_mikhmon=60) as mikhmon:
        with RouterClient(endpoint(mikhmon, password=PASSWORD)) as client:
            users = client.print("/ip/hotspot/user")
        now = utcnow()
        truth = {
            row["name"]: found
            for row in users
            if (found := read_voucher(row, NAIROBI, now)) is not None
        }
        assert len(truth) == 60
        wisp.ok(
            *("router", "add", "mk", "--host", "127.0.0.1", "--port", str(mikhmon.port)),
            "--password-stdin",
            stdin=f"{PASSWORD}\n",
        )
        plan = wisp.ok("import", "mk", "--dry-run", "--json").json()
        assert {p["profile"]: (p["price"], p["validity_seconds"]) for p in plan["packages"]} == {
            "KES20-12h": ("20.00", 43_200),
            "KES50-1day": ("50.00", 86_400),
            "KES250-1week": ("250.00", 604_800),
        }
        assert len(plan["vouchers"]) == 60 and plan["accounts"] == []
        said = wisp.ok("import", "mk", "--yes").out
        assert "imported 60 Mikhmon voucher(s)" in said and "cost 0" not in said
        again = wisp.ok("import", "mk", "--yes", "--json")
        assert again.json()["vouchers"] == [] and again.json()["packages"] == []
        stored_before = wisp.ok("voucher", "list", "--json").json()
        assert wisp.ok("import", "mk", "--dry-run").out.count("0 package(s), 0 account(s)") == 1
    listed = {v["code"]: v for v in wisp.ok("voucher", "list", "--json").json()}
    assert listed == {v["code"]: v for v in stored_before}
    assert set(listed) == set(truth)
    assert Counter(v["state"] for v in listed.values()) == Counter(
        v.state.value.replace("_", " ") for v in truth.values()
    )
    for code, found in truth.items():
        row = listed[code]
        assert row["state"] == found.state.value.replace("_", " "), code
        if found.batch is not None:
            assert row["batch"] == found.batch.name
        if found.expires is not None and row["state"] == "in use":
            assert datetime.fromisoformat(row["expires"]) == found.expires
    prices = {p["name"]: p["price"] for p in wisp.ok("package", "list", "--json").json()}
    assert prices == {"KES20-12h": "20.00", "KES50-1day": "50.00", "KES250-1week": "250.00"}
    sold = [b for b in wisp.ok("voucher", "batches", "--json").json()]
    value = sum(Decimal(b["sold_value"]) for b in sold)
    expected = sum(
        Decimal(listed[c]["price"]) for c in listed if listed[c]["state"] in ("in use", "expired")
    )
    assert value == expected > 0
