"""A database that cannot be reached is told in one sentence, and the console keeps running."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine
from textual.widgets import Static

from console.app import WispApp, build_app
from console.screens.main import MainScreen
from console.screens.router_users import RouterUsersScreen
from tests.console.conftest import console_settings
from tests.waiting import settle

SIZE = (120, 40)


def _unreachable_app(tmp_path: Path) -> WispApp:
    engine = create_engine(f"sqlite:///{tmp_path / 'no-such-folder' / 'wisp.db'}")
    return build_app(console_settings(engine), engine, watch_terminal=False)


def _messages(app: WispApp) -> list[str]:
    return [str(notification.message) for notification in app._notifications]


async def test_panes_tell_an_unreachable_database_once_in_one_sentence(tmp_path: Path) -> None:
    app = _unreachable_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        main: MainScreen = app.screen  # type: ignore[assignment]
        main.poll()
        await settle(pilot)
        told = [m for m in _messages(app) if "could not be refreshed" in m]
        assert len(told) == 1
        assert "cannot be reached: unable to open database file" in told[0]
        assert "\n" not in told[0] and "SQL" not in told[0]


async def test_router_users_tell_an_unreachable_database_in_one_sentence(tmp_path: Path) -> None:
    app = _unreachable_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("u")
        await settle(pilot)
        assert isinstance(app.screen, RouterUsersScreen)
        reason = str(app.screen.query_one("#users-reason", Static).content)
        assert reason.endswith("cannot be reached: unable to open database file")
