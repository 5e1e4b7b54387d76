"""The reconcile screen: findings by category after a threaded read, fixes queued only when confirmed."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from sqlmodel import Session
from textual.app import App
from textual.widgets import DataTable, Static

from console.screens.confirm import ConfirmScreen
from console.screens.reconcile import ReconcileScreen
from db.models import RouterProvisioning
from tests.drift.conftest import Drifted
from tests.waiting import settle


class Host(App[None]):
    def __init__(self, screen: ReconcileScreen) -> None:
        super().__init__()
        self.reconcile = screen

    def on_mount(self) -> None:
        self.push_screen(self.reconcile)


def pending(engine) -> int:
    with Session(engine) as session:
        return (
            session.scalar(select(func.count()).where(RouterProvisioning.status == "pending")) or 0
        )


def test_the_screen_lists_drift_and_queues_fixes_after_confirmation(drifted: Drifted):
    async def scenario() -> None:
        screen = ReconcileScreen(drifted.engine, drifted.settings, "r1")
        app = Host(screen)
        async with app.run_test(size=(140, 40)) as pilot:
            await settle(pilot)
            assert screen.query_one(DataTable).row_count == 9
            assert "has drifted" in str(screen.query_one("#reconcile-status", Static).content)
            await pilot.press("f")
            await pilot.pause()
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("n")
            await settle(pilot)
            assert pending(drifted.engine) == 0
            await pilot.press("f")
            await pilot.pause()
            await pilot.press("y")
            await settle(pilot)
            assert pending(drifted.engine) == 6
            assert "Queued 6 corrective job(s)" in str(
                screen.query_one("#reconcile-status", Static).content
            )

    asyncio.run(scenario())


def test_a_down_router_shows_its_reason_in_one_sentence(drifted: Drifted):
    async def scenario() -> None:
        drifted.sim.down()
        screen = ReconcileScreen(drifted.engine, drifted.settings, "r1")
        app = Host(screen)
        async with app.run_test(size=(140, 40)) as pilot:
            await settle(pilot)
            assert str(screen.query_one("#reconcile-status", Static).content).startswith(
                "router r1 (127.0.0.1:"
            )
            assert screen.query_one(DataTable).row_count == 0

    asyncio.run(scenario())


def test_a_database_failure_while_queuing_fixes_is_shown_not_swallowed(drifted: Drifted):
    from sqlalchemy import text

    async def scenario() -> None:
        screen = ReconcileScreen(drifted.engine, drifted.settings, "r1")
        app = Host(screen)
        async with app.run_test(size=(140, 40)) as pilot:
            await settle(pilot)
            with drifted.engine.begin() as connection:
                connection.execute(text("DROP TABLE system_logs"))
            await pilot.press("f")
            await pilot.pause()
            await pilot.press("y")
            await settle(pilot)
            status = str(screen.query_one("#reconcile-status", Static).content)
            assert status.startswith("No fixes were queued: the database at "), status
            assert pending(drifted.engine) == 0

    asyncio.run(scenario())
