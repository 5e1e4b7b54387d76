"""The main screen driven by keys: panes from the database, refresh by key, filters, details."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Engine
from textual.widgets import Input

from console.app import WispApp
from console.screens.details import DetailsScreen
from console.screens.help import HelpScreen
from console.screens.main import MainScreen
from console.widgets.main.status_bar import StatusBar
from db.activation import ActivationService
from tests.console.conftest import refresh, settle

SIZE = (120, 40)


def _activate_all(engine: Engine, count: int = 5) -> None:
    service = ActivationService(engine)
    for index in range(1, count + 1):
        service.activate(f"client{index}", "Home 10M")


async def test_panes_show_the_database(make_app: Callable[..., WispApp], seeded: Engine) -> None:
    _activate_all(seeded)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        packages, subscriptions, queue, _payments = app.screen.panes  # type: ignore[attr-defined]
        assert packages.table.row_count == 2
        assert subscriptions.table.row_count == 5
        assert queue.table.row_count == 5
        assert (
            subscriptions.selected is None
            or subscriptions.selected.cells[3] == "waiting for router"
        )
        status = str(app.screen.query_one(StatusBar).query_one("#counts").content)
        assert "pending 5" in status
        assert "scheduler off" in str(app.screen.query_one("#scheduler").content)


async def test_cursor_stays_on_its_row_across_refreshes(
    make_app: Callable[..., WispApp], seeded: Engine
) -> None:
    _activate_all(seeded, 4)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        queue = app.screen.panes[2]  # type: ignore[attr-defined]
        await pilot.press("down", "down")
        assert queue.selected.key == "2"
        ActivationService(seeded).activate("client5", "Fibre 20M")  # a new row lands on top
        await refresh(pilot)
        assert queue.table.row_count == 5
        assert queue.selected.key == "2"
        assert [row.key.value for row in queue.table.ordered_rows][0] == "5"


async def test_a_cursor_on_the_newest_row_moves_to_rows_that_land_on_top(
    make_app: Callable[..., WispApp], seeded: Engine
) -> None:
    _activate_all(seeded, 3)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        packages, subscriptions, queue, _payments = app.screen.panes  # type: ignore[attr-defined]
        assert queue.selected.key == "3" and subscriptions.selected.key == "3"
        await pilot.press("1", "down")  # packages are by name, not newest first
        picked = packages.selected.key
        ActivationService(seeded).activate("client4", "Fibre 20M")
        ActivationService(seeded).activate("client5", "Fibre 20M")
        await refresh(pilot)
        assert queue.selected.key == "5" and subscriptions.selected.key == "5"
        assert packages.selected.key == picked


async def test_filter_narrows_the_focused_pane_in_sql(
    make_app: Callable[..., WispApp], seeded: Engine
) -> None:
    _activate_all(seeded)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2", "slash", *"client3")
        await settle(pilot)
        subscriptions = app.screen.panes[1]  # type: ignore[attr-defined]
        assert subscriptions.table.row_count == 1
        assert subscriptions.filter_text == "client3"
        await pilot.press("enter")
        assert app.focused is subscriptions.table
        await pilot.press("escape")
        await settle(pilot)
        assert subscriptions.table.row_count == 5


async def test_number_keys_and_tab_move_between_panes(make_app: Callable[..., WispApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen: MainScreen = app.screen  # type: ignore[assignment]
        await pilot.press("1")
        assert screen.focused_pane is screen.panes[0]
        await pilot.press("tab")
        assert screen.focused_pane is screen.panes[1]
        await pilot.press("3")
        assert screen.focused_pane is screen.panes[2]
        await pilot.press("tab")
        assert screen.focused_pane is screen.panes[3]
        await pilot.press("tab")
        assert screen.focused_pane is screen.panes[0]


async def test_details_show_every_field_and_reveal_the_password_only_on_its_key(
    make_app: Callable[..., WispApp], seeded: Engine
) -> None:
    _activate_all(seeded, 1)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DetailsScreen)
        fields = dict(app.screen.found.fields)  # type: ignore[union-attr]
        assert fields["Account"] == "client1" and fields["Status"] == "pending"
        assert "History" in str(app.screen.query_one("#details-history").content)
        assert str(app.screen.query_one("#details-password").content) == ""
        await pilot.press("v")
        await settle(pilot)
        assert str(app.screen.query_one("#details-password").content).startswith("Password: ")
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_subscription_details_show_client_payment_and_account(
    make_app: Callable[..., WispApp], seeded: Engine
) -> None:
    ActivationService(seeded).activate("client1", "Home 10M", "QAB12CD34")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2", "enter")
        await settle(pilot)
        fields = dict(app.screen.found.fields)  # type: ignore[attr-defined]
        assert "QAB12CD34" in fields["Payment"]
        assert fields["Router account"].startswith("waiting for router")
        assert fields["Client"] == "Client Number1 (client1)"


async def test_retry_is_greyed_out_unless_the_selected_job_failed(
    make_app: Callable[..., WispApp], seeded: Engine
) -> None:
    _activate_all(seeded, 1)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen: MainScreen = app.screen  # type: ignore[assignment]
        assert screen.check_action("retry", ()) is None
        assert screen.check_action("retry_all", ()) is None
        assert screen.check_action("activate", ()) is True
        bindings = {b.binding.id: b.enabled for b in screen.active_bindings.values()}
        assert bindings["retry"] is False and bindings["activate"] is True


async def test_help_lists_keys_and_keymap_rebinds_them(
    make_app: Callable[..., WispApp], seeded: Engine
) -> None:
    from tests.console.conftest import console_settings

    settings = console_settings(seeded)
    settings.console.keymap = {"activate": "ctrl+a", "help": "f1"}
    app = make_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.press("ctrl+a")
        await settle(pilot)
        assert type(app.screen).__name__ == "ActivateScreen"


async def test_q_quits(make_app: Callable[..., WispApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
    assert app.return_code == 0


async def test_polls_are_skipped_while_a_modal_is_open(
    make_app: Callable[..., WispApp], seeded: Engine
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        main: MainScreen = app.screen  # type: ignore[assignment]
        await pilot.press("question_mark")
        _activate_all(seeded, 2)
        main.poll()
        await settle(pilot)
        assert main.panes[2].table.row_count == 0
        await pilot.press("escape")
        await settle(pilot)
        assert main.panes[2].table.row_count == 2
        assert not isinstance(app.focused, Input)


async def test_command_palette_offers_the_console_actions(make_app: Callable[..., WispApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert titles[:3] == ["Activate a client", "Retry all failed jobs", "Router users"]
        await pilot.press("ctrl+p")
        await settle(pilot)
        assert type(app.screen).__name__ == "CommandPalette"


async def test_job_details_show_times_in_the_operator_zone_with_its_abbreviation(
    make_app: Callable[..., WispApp], seeded: Engine
) -> None:
    ActivationService(seeded).activate("client1", "Home 10M")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("3", "enter")
        await settle(pilot)
        details = app.screen
        assert isinstance(details, DetailsScreen) and details.found is not None
        fields = dict(details.found.fields)
        assert fields["Created"].endswith(" EAT") and fields["Next attempt"].endswith(" EAT")
        assert details.found.history and all(" EAT  " in line for line in details.found.history)
