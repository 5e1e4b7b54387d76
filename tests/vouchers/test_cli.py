"""`wisp voucher ...` and `wisp report sales` as an operator runs them, on every database, with
the router a simulator over TCP."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pypdfium2
import zxingcpp
from pypdf import PdfReader

from scheduler.sim import SimRouter
from tests.cli.conftest import Wisp

USERS = "/ip/hotspot/user"


def test_generate_deliver_list_and_sell_a_batch(shop: Wisp, sim: SimRouter) -> None:
    made = shop.ok(
        "voucher", "generate", "day", "--count", "12", "--note", "kiosk", "--json"
    ).json()
    assert made["batch"] == "B1" and made["count"] == 12 and len(made["codes"]) == 12
    assert made["price"] == "50.00" and made["value"] == "600.00"
    assert made["validity_seconds"] == 86_400
    words = shop.ok("voucher", "generate", "Day", "--count", "3", "--prefix", "ks").out
    assert "batch B2: 3 voucher(s) of Day at 50.00 each (150.00 in all)" in words
    assert "first codes: KS" in words
    shop.ok("run", "--once")
    on_router = {row["name"] for row in sim.rows(USERS)}
    assert set(made["codes"]) <= on_router
    (second, first) = shop.ok("voucher", "batches", "--json").json()
    assert first["batch"] == "B1" and first["on_router"] == 12 and first["unused"] == 12
    assert first["note"] == "kiosk" and second["count"] == 3
    sim.sessions.login_hotspot(made["codes"][0])
    sim.sessions.login_hotspot(made["codes"][1])
    shop.ok("run", "--once")  # the engine looks for first logins as it starts
    used = shop.ok("voucher", "list", "--state", "in use", "--json").json()
    assert sorted(v["code"] for v in used) == sorted(made["codes"][:2])
    assert all(v["first_login"] and v["expires"] for v in used)
    (row,) = shop.ok("report", "sales", "--json").json()
    assert row == {
        "day": row["day"],
        "batch": "B1",
        "package": "Day",
        "router": "r1",
        "vouchers": 2,
        "value": "100.00",
    }
    assert "total: 2 voucher(s), 100.00" in shop.ok("report", "sales").out


def test_print_writes_one_card_per_unused_voucher_whose_qr_logs_in(
    shop: Wisp, sim: SimRouter, tmp_path: Path
) -> None:
    made = shop.ok("voucher", "generate", "Day", "--count", "37", "--json").json()
    shop.ok("run", "--once")
    sim.sessions.login_hotspot(made["codes"][0])
    shop.ok("run", "--once")
    sheet = tmp_path / "b1.pdf"
    said = shop.ok("voucher", "print", "B1", "--output", str(sheet)).out
    assert "36 card(s) of batch B1" in said and "http://hotspot.lan/login" in said
    assert len(PdfReader(io.BytesIO(sheet.read_bytes())).pages) == 1
    page = pypdfium2.PdfDocument(str(sheet))[0].render(scale=4).to_pil()
    found = {
        urlsplit(r.text).netloc + "|" + parse_qs(urlsplit(r.text).query)["username"][0]
        for r in zxingcpp.read_barcodes(page)
    }
    assert found == {f"hotspot.lan|{code}" for code in made["codes"][1:]}
    page_html = tmp_path / "b1.html"
    shop.ok(
        *("voucher", "print", "1", "--format", "html", "--layout", "thermal-80"),
        *("--dns-name", "wifi.shop", "--output", str(page_html)),
    )
    assert page_html.read_text().count(made["codes"][5]) >= 1


def test_revoke_and_redeem_and_their_mistakes(shop: Wisp, sim: SimRouter) -> None:
    made = shop.ok("voucher", "generate", "Day", "--count", "4", "--json").json()
    shop.ok("run", "--once")
    assert shop("voucher", "revoke").code == 2
    assert shop("voucher", "revoke", made["codes"][0], "--batch", "B1").code == 2
    redeemed = shop.ok("voucher", "redeem", made["codes"][0].lower(), "amina", "--json").json()
    assert redeemed["client"] == "amina" and redeemed["package"] == "Day"
    again = shop("voucher", "redeem", made["codes"][0], "bob")
    assert again.code == 1 and "is in use: only an unused voucher is redeemed" in again.err
    revoked = shop.ok("voucher", "revoke", "--batch", "b1", "--json").json()
    assert sorted(revoked["revoked"]) == sorted(made["codes"][1:])
    assert revoked["kept"] == {made["codes"][0]: "in use"}
    shop.ok("run", "--once")
    names = {row["name"] for row in sim.rows(USERS)}
    assert not names & set(made["codes"]) and "amina" in names
    missing = shop("voucher", "revoke", "NOSUCH")
    assert missing.code == 1 and "there is no voucher NOSUCH" in missing.err
    pppoe = shop("voucher", "generate", "Home", "--count", "2")
    assert pppoe.code == 1 and "vouchers are hotspot users" in pppoe.err
    assert shop("voucher", "generate", "Day", "--count", "0").code == 2
    assert shop("voucher", "generate", "Day", "--count", "2", "--length", "3").code == 2
    typo = shop("voucher", "generate", "Dya", "--count", "2")
    assert typo.code == 1 and "did you mean Day?" in typo.err
    assert Decimal(shop.ok("client", "show", "amina", "--json").json()["credit"]) == 0
