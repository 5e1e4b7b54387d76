"""The console benchmark's measurements, taken inside a running app (headless, 120x40)."""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from sqlalchemy import update

from db.config import Settings
from db.engine import make_engine
from db.models import RouterProvisioning

J = RouterProvisioning.__table__  # type: ignore[attr-defined]


def _settings(url: str) -> Settings:
    settings = Settings(source="(bench)")
    settings.database.url = url
    settings.console.refresh_interval = 3600.0  # the bench drives every tick itself
    return settings


async def _until(condition: Any, limit: float = 60.0) -> float:
    """Seconds until `condition()` holds, looking every 2 ms (the app runs meanwhile)."""
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > limit:
            raise TimeoutError("the console did not get there in time")
        await asyncio.sleep(0.002)
    return time.perf_counter() - started


async def run_console_figures(url: str, ticks: int) -> dict[str, float]:
    """First paint, refresh ticks, and router users, in one console process."""
    from console.app import build_app
    from console.screens.main import MainScreen
    from console.views.snapshot import take

    engine = make_engine(url)
    settings = _settings(url)
    started = time.perf_counter()
    app = build_app(settings, engine, watch_terminal=False)
    figures: dict[str, float] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(lambda: isinstance(app.screen, MainScreen) and app.screen.snapshot)
        figures["first_paint"] = time.perf_counter() - started
        screen: MainScreen = app.screen  # type: ignore[assignment]
        ui, queries = [], []
        for tick in range(ticks):
            await asyncio.to_thread(_churn, engine, tick)
            begun = time.perf_counter()
            snapshot = await asyncio.to_thread(
                take, engine, app.now(), settings.zone, screen._filters()
            )
            queries.append(time.perf_counter() - begun)
            begun = time.perf_counter()
            screen.apply(snapshot)
            ui.append(time.perf_counter() - begun)
            await pilot.pause()
        figures["tick_median"] = statistics.median(ui)
        figures["tick_max"] = max(ui)
        figures["query_median"] = statistics.median(queries)
        shown = _watch_first_rows()
        begun = time.perf_counter()
        await pilot.press("u")
        users = app.screen
        await _until(lambda: shown)
        figures["users_first"] = shown[0] - begun
        await _until(lambda: "hotspot" not in users._fresh and users.rows.get("hotspot"))  # type: ignore[attr-defined]
        figures["users_last"] = time.perf_counter() - begun
    engine.dispose()
    return figures


def _watch_first_rows() -> list[float]:
    """When the router users table first receives rows (a probe on WindowTable.append)."""
    from console.widgets.window_table import WindowTable

    shown: list[float] = []
    append = WindowTable.append

    def timed(table: WindowTable, rows: list[Any]) -> None:
        append(table, rows)
        if rows and not shown:
            shown.append(time.perf_counter())

    WindowTable.append = timed  # type: ignore[method-assign]
    return shown


def _churn(engine: Any, tick: int) -> None:
    """Change 50 of the newest jobs, as a drain would between two ticks."""
    newest = engine.connect()
    with newest.begin():
        top = newest.execute(
            J.select().with_only_columns(J.c.id).order_by(J.c.id.desc()).limit(1)
        ).scalar()
        ids = [top - n for n in range(tick % 4, 200, 4)][:50]
        newest.execute(
            update(J)
            .where(J.c.id.in_(ids))
            .values(status="completed" if tick % 2 else "pending", attempts=tick % 3)
        )
    newest.close()
