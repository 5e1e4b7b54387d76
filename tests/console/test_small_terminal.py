"""The console at 80x24 over SSH: everything an operator needs is on screen or one scroll away."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from textual.containers import VerticalScroll
from textual.widgets import Label, Static
from textual.widgets._footer import FooterKey
from textual.widgets._toast import Toast

from console.app import WispApp
from console.screens.confirm import ConfirmScreen
from console.screens.details import DetailsScreen
from console.screens.main import MainScreen
from console.widgets.fitted_text import FittedText
from console.widgets.main.pane import Pane
from db.activation import ActivationService
from db.engine import session_scope
from db.models import J
from scheduler.engine.service import ProvisioningService
from tests.console.conftest import screen_text, settle, until
from tests.console.scenes import LONG_ERROR, fail_with_history, three_routers_one_down

SIZE = (80, 24)


def _inside(inner: Any, outer: Any) -> bool:
    return outer.y <= inner.y and inner.bottom <= outer.bottom


async def test_details_put_the_last_error_first_and_scroll_to_the_end_of_the_history(
    make_app: Callable[..., WispApp], seeded: Engine
) -> None:
    ActivationService(seeded).activate("client1", "Home 10M")
    fail_with_history(seeded, 1)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        details = app.screen
        assert isinstance(details, DetailsScreen)
        body = details.query_one("#details-body", VerticalScroll)
        error = details.query_one("#details-error", Static)
        hint = details.query_one("#details-hint", Label)
        screen = app.screen.region
        assert "out of licence slots" in str(error.content)
        assert error.region.y < details.query_one("#details-fields").region.y
        assert _inside(error.region, body.region), "the error shows without scrolling"
        assert _inside(hint.region, screen) and not _inside(hint.region, body.region)
        assert body.max_scroll_y > 0
        await pilot.press("end")
        await until(pilot, lambda: body.scroll_y == body.max_scroll_y)  # End scrolls smoothly
        shown = screen_text(app)
        assert "attempt 20 refused" in shown and "for good" in shown, "the history's end shows"
        assert "esc, q: close" in shown, "the key line still shows"
        assert _inside(hint.region, screen)


async def test_footer_at_80_columns_shows_help_and_quit(
    make_app: Callable[..., WispApp],
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        keys = {key.description: key for key in app.screen.query(FooterKey)}
        palette = next(k for k in app.screen.query(FooterKey) if k.has_class("-command-palette"))
        for label in ("Help", "Quit", "Activate", "Retry"):
            assert label in keys, f"{label} is not in the footer"
            assert keys[label].region.right <= palette.region.x, f"{label} is cut"


async def test_the_pause_key_reads_resume_while_paused(
    make_app: Callable[..., WispApp], service: Callable[[WispApp], ProvisioningService]
) -> None:
    app = make_app()
    engine_service = service(app)
    engine_service.start()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)

        def footer() -> list[str]:
            return [str(key.description) for key in app.screen.query(FooterKey)]

        assert "Pause" in footer() and "Resume" not in footer()
        await pilot.press("p")
        await settle(pilot)
        assert engine_service.state == "paused"
        assert "Resume" in footer() and "Pause" not in footer()
        await pilot.press("p")
        await settle(pilot)
        assert engine_service.state == "running"
        assert "Pause" in footer()


async def test_the_status_line_names_three_routers_with_one_down_at_80_columns(
    make_app: Callable[..., WispApp], seeded: Engine
) -> None:
    three_routers_one_down(seeded)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        line = app.screen.query_one("#routers", FittedText)
        shown = line.render().plain
        assert line.render().cell_len <= line.size.width
        for name in ("eldoret down", "kisumu up", "r1 up"):
            assert name in shown, f"{name!r} not in {shown!r}"
        assert line.tooltip is not None and "refused the connection" in str(line.tooltip)
        await pilot.press("question_mark")
        await settle(pilot)
        assert "refused the connection" in str(app.screen.query_one("#help-routers").content)


async def test_the_status_line_gives_the_reason_when_there_is_room(
    make_app: Callable[..., WispApp], seeded: Engine
) -> None:
    three_routers_one_down(seeded)
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        shown = app.screen.query_one("#routers", FittedText).render().plain
        assert "eldoret down (refused the connection" in shown and "kisumu up" in shown


async def test_panes_at_80x24_show_the_columns_and_rows_that_matter(
    make_app: Callable[..., WispApp], seeded: Engine
) -> None:
    service = ActivationService(seeded)
    for index in range(1, 6):
        service.activate(f"client{index}", "Home 10M")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        packages, subscriptions, queue, _payments = app.screen.panes  # type: ignore[attr-defined]
        assert "Router" in packages.table.shown_labels
        assert {"Status", "Age", "Last error"} <= set(queue.table.shown_labels)
        for pane in (packages, subscriptions, queue):
            assert pane.table.virtual_size.width <= pane.table.size.width, pane.TITLE
        assert subscriptions.table.size.height >= 5, "a header and four subscriptions"
        assert queue.table.size.height >= 6


async def test_columns_widen_with_the_terminal(make_app: Callable[..., WispApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        packages = app.screen.panes[0].table  # type: ignore[attr-defined]
        narrow = packages.ordered_columns[0].width
        await pilot.resize_terminal(120, 40)
        await settle(pilot)
        assert packages.ordered_columns[0].width > narrow
        assert "Profile" in packages.shown_labels
        assert packages.row_count == 2, "the rows are back after the columns were built anew"


async def test_notices_leave_the_queue_status_column_and_dialogs_in_sight(
    make_app: Callable[..., WispApp], seeded: Engine
) -> None:
    ActivationService(seeded).activate("client1", "Home 10M")
    with session_scope(seeded) as session:
        session.execute(update(J).values(status="failed", last_error="failure: refused"))
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        app.announce("job 1", "Job 1 (client1 on r1) failed: " + LONG_ERROR, "error", 60)
        await until(pilot, lambda: bool(app.screen.query(Toast)))
        toast = app.screen.query_one(Toast)
        table = app.screen.panes[2].table  # type: ignore[attr-defined]
        status_end = table.region.x + sum(
            column.get_render_width(table) for column in table.ordered_columns[:3]
        )
        assert table.shown_labels[2] == "Status"
        assert toast.region.x >= status_end and toast.region.right <= SIZE[0]
        await pilot.press("R")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert all(not toast.visible for toast in app.screen.query(Toast))
        await pilot.press("n")
        await until(pilot, lambda: any(toast.visible for toast in app.screen.query(Toast)))


async def test_m_shows_the_focused_pane_on_the_whole_screen(
    make_app: Callable[..., WispApp],
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen: MainScreen = app.screen  # type: ignore[assignment]
        await pilot.press("2", "m")
        assert isinstance(screen.maximized, Pane) and screen.maximized is screen.panes[1]
        await pilot.press("m")
        assert screen.maximized is None
        await pilot.press("m", "escape")
        assert screen.maximized is None and app.screen is screen
