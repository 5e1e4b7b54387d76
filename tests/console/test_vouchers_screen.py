"""The vouchers screen at 80×24: generate with a preview, delivery progress, print, revoke."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from textual.widgets import DataTable, Input, ProgressBar

from console.app import WispApp
from console.screens.vouchers import GenerateScreen, VouchersScreen
from db import vouchers
from scheduler.engine.service import ProvisioningService
from scheduler.sim import SimFleet
from tests.console.conftest import drain, screen_text, settle, until

SIZE = (80, 24)


def told(app: WispApp, text: str) -> bool:
    """Whether a notice holding `text` was shown (a toast wraps at 80 columns)."""
    return any(text in str(notice.message) for notice in app._notifications)


async def test_generate_deliver_print_and_revoke_a_batch(
    make_app: Callable[..., WispApp],
    service: Callable[[WispApp], ProvisioningService],
    seeded: Engine,
    fleet: SimFleet,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    app = make_app()
    engine_service = service(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = VouchersScreen()
        await app.push_screen(screen)
        await until(pilot, lambda: "No voucher batch yet" in screen_text(app))
        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, GenerateScreen))
        count = app.screen.query_one("#generate-count", Input)
        count.value = "30"
        app.screen.query_one("#generate-note", Input).value = "kiosk"
        await settle(pilot)
        assert "30 × 1,500 = 45,000; codes like" in screen_text(app)
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is screen and screen.rows != [])
        table = screen.query_one(DataTable)
        assert table.row_count == 1 and screen.rows[0]["count"] == 30
        assert screen.rows[0]["note"] == "kiosk"
        await until(pilot, lambda: told(app, "Batch B1: 30 voucher(s) of Home 10M, 45,000 in all"))

        await drain(pilot, engine_service)
        screen.reload()
        await until(pilot, lambda: screen.rows[0]["on_router"] == 30)
        await settle(pilot)
        bar = screen.query_one(ProgressBar)
        assert bar.total == 30 and bar.progress == 30
        assert "B1: 30 of 30 on router r1" in screen_text(app)
        codes = {v["code"] for v in vouchers.vouchers(seeded)}
        assert codes <= {row["name"] for row in fleet["r1"].rows("/ip/hotspot/user")}

        await pilot.press("p")
        await until(pilot, lambda: (tmp_path / "B1.pdf").exists(), timeout=30)
        await until(pilot, lambda: told(app, "30 card(s), logging in at http://hotspot.lan/login"))

        await pilot.press("x")
        await until(pilot, lambda: "Revoke the 30 unused voucher(s) of B1?" in screen_text(app))
        await pilot.press("y")
        await until(pilot, lambda: screen.rows and screen.rows[0]["revoked"] == 30)
        await drain(pilot, engine_service)
        assert not codes & {row["name"] for row in fleet["r1"].rows("/ip/hotspot/user")}
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is not screen


async def test_the_router_users_screen_starts_a_voucher_it_sees_online(
    make_app: Callable[..., WispApp],
    service: Callable[[WispApp], ProvisioningService],
    seeded: Engine,
    fleet: SimFleet,
) -> None:
    made = vouchers.generate(seeded, package="Home 10M", count=3, created_by="ops")
    app = make_app()
    engine_service = service(app)
    async with app.run_test(size=SIZE) as pilot:
        await drain(pilot, engine_service)
        fleet["r1"].sessions.login_hotspot(made.codes[1])
        await pilot.press("u")
        await settle(pilot)
        await pilot.press("3")  # active sessions
        await until(pilot, lambda: told(app, "1 voucher(s) seen in use for the first time on r1"))
    states = {v["code"]: v["state"] for v in vouchers.vouchers(seeded)}
    assert states == {made.codes[0]: "unused", made.codes[1]: "in use", made.codes[2]: "unused"}
