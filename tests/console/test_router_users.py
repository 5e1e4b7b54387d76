"""The router users screen: what the router holds, tab by tab, filtered; a down router's reason."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Engine
from textual.widgets import Input, Select, TabbedContent

from console.app import WispApp
from console.screens.main import MainScreen
from console.screens.router_users import RouterUsersScreen
from scheduler.sim import SimFleet
from tests import factories
from tests.console.conftest import SIM_PASSWORD, settle

SIZE = (120, 40)


async def _open(pilot, app: WispApp) -> RouterUsersScreen:  # type: ignore[no-untyped-def]
    await settle(pilot)
    await pilot.press("u")
    await settle(pilot)
    assert isinstance(app.screen, RouterUsersScreen)
    return app.screen


async def test_lists_what_the_router_holds(
    make_app: Callable[..., WispApp], fleet: SimFleet
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, app)
        held = {row["name"] for row in fleet["r1"].rows("/ip/hotspot/user")}
        table = screen.table("hotspot")
        assert table.row_count == len(held) == 40
        assert {table.row_at(i).cells[0] for i in range(table.row_count)} == held
        assert "r1: 40 hotspot users" in str(screen.query_one("#users-progress-text").content)


async def test_active_sessions_tab_shows_who_is_online(
    make_app: Callable[..., WispApp], fleet: SimFleet
) -> None:
    fleet["r1"].sessions.login_hotspot(fleet["r1"].rows("/ip/hotspot/user")[5]["name"])
    online = {row["user"] for row in fleet["r1"].rows("/ip/hotspot/active")}
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, app)
        screen.query_one(TabbedContent).active = "tab-active"
        await settle(pilot)
        table = screen.table("active")
        assert {table.row_at(i).cells[0] for i in range(table.row_count)} == online


async def test_filter_as_you_type_and_refresh(
    make_app: Callable[..., WispApp], fleet: SimFleet
) -> None:
    name = fleet["r1"].rows("/ip/hotspot/user")[7]["name"]
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, app)
        await pilot.press("slash", *name)
        await settle(pilot)
        table = screen.table("hotspot")
        assert table.row_at(0).cells[0] == name
        assert all(name in table.row_at(i).cells[0] for i in range(table.row_count))
        await pilot.press("enter", "f5")
        await settle(pilot)
        assert table.row_at(0).cells[0] == name
        await pilot.press("escape")  # the first escape clears the filter
        assert isinstance(app.screen, RouterUsersScreen)
        assert screen.query_one("#users-filter", Input).value == ""
        assert table.row_count == 40
        await pilot.press("escape")  # the second leaves
        assert isinstance(app.screen, MainScreen)


async def test_escape_while_typing_a_filter_clears_it_and_stays(
    make_app: Callable[..., WispApp], fleet: SimFleet
) -> None:
    name = fleet["r1"].rows("/ip/hotspot/user")[3]["name"]
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(pilot, app)
        await pilot.press("slash", *name)
        await settle(pilot)
        table = screen.table("hotspot")
        assert table.row_count < 40
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, RouterUsersScreen)
        assert screen.query_one("#users-filter", Input).value == ""
        assert table.row_count == 40 and app.focused is table
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_a_down_router_shows_its_reason(
    make_app: Callable[..., WispApp], seeded: Engine, fleet: SimFleet
) -> None:
    factories.router(seeded, "r2", port=fleet["r2"].port, password=SIM_PASSWORD)
    fleet["r2"].down()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, app)
        screen.query_one("#users-router", Select).value = "r2"
        await settle(pilot)
        reason = str(screen.query_one("#users-reason").content)
        assert reason.startswith("router r2 (127.0.0.1:")
        assert "refused the connection" in reason
        assert "Traceback" not in reason
        assert screen.table("hotspot").row_count == 0


async def test_wrong_api_password_is_told_as_a_refused_login(
    make_app: Callable[..., WispApp], seeded: Engine, fleet: SimFleet
) -> None:
    factories.router(seeded, "r2", port=fleet["r2"].port, password="not-the-password")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, app)
        screen.query_one("#users-router", Select).value = "r2"
        await settle(pilot)
        assert "login" in str(screen.query_one("#users-reason").content).lower()


async def test_drift_key_opens_the_reconcile_screen_for_the_shown_router(
    make_app: Callable[..., WispApp], fleet: SimFleet
) -> None:
    from console.screens.reconcile import ReconcileScreen

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, app)
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, ReconcileScreen)
        assert app.screen.router_name == screen.router
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert app.screen.report is not None
        assert app.screen.report.of("foreign")  # the simulator's seeded users are not ours
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, RouterUsersScreen)


def test_status_bar_shows_drift_counts_from_the_last_check(seeded: Engine) -> None:
    from sqlalchemy import update

    from console.views.status import routers
    from db.engine import session_scope
    from db.models import Router

    with session_scope(seeded) as session:
        session.execute(
            update(Router).values(
                drift_summary={"missing": 2, "unknown": 1, "different": 3, "foreign": 9}
            )
        )
    with session_scope(seeded) as session:
        assert [r.drift for r in routers(session)] == [6]


async def test_choosing_the_blank_router_line_reads_no_router(
    make_app: Callable[..., WispApp],
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, app)
        screen.query_one("#users-router", Select).clear()
        await settle(pilot)
        assert screen.router == "r1"
        assert "Select.NULL" not in str(screen.query_one("#users-progress-text").content)


async def test_ten_thousand_users_all_arrive_and_the_filter_finds_one_among_them(
    make_app: Callable[..., WispApp], seeded: Engine
) -> None:
    from tests.console.conftest import until

    big = SimFleet()
    big.add("big", password=SIM_PASSWORD, seed_users=10_000)
    big.start()
    try:
        factories.router(seeded, "big", port=big["big"].port, password=SIM_PASSWORD)
        held = big["big"].rows("/ip/hotspot/user")
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            screen = await _open(pilot, app)
            screen.query_one("#users-router", Select).value = "big"
            progress = screen.query_one("#users-progress-text")
            await until(pilot, lambda: "big: 10,000 hotspot users" in str(progress.content))
            table = screen.table("hotspot")
            assert table.row_count == 10_000
            assert {table.row_at(i).cells[0] for i in range(table.row_count)} == {
                row["name"] for row in held
            }
            disabled = next(row["name"] for row in held if row.get("disabled") == "true")
            await pilot.press("slash", *disabled)
            await until(pilot, lambda: "match the filter" in str(progress.content))
            assert table.row_at(0).cells[0] == disabled
            assert table.row_at(0).cells[2] == "true"
            assert all(disabled in table.row_at(i).cells[0] for i in range(table.row_count))
            await pilot.press("escape")
            await until(pilot, lambda: table.row_count == 10_000)
    finally:
        big.stop()
