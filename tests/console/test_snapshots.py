"""Snapshots of the main screen, the activation modal (empty, and offering a package change) and
the router users screen, at two sizes.

The data and the clock are fixed, so each picture is the same on every run. Update the baselines
with `pytest tests/console/test_snapshots.py --snapshot-update` after a deliberate change.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from textual.pilot import Pilot
from textual.widgets import Input, Select

from console.app import WispApp, build_app
from db.activation import ActivationService
from db.delivery import mark_delivered
from db.engine import session_scope
from db.models import Router, RouterProvisioning
from tests.console.conftest import FIXED_NOW, console_settings, settle

SIZES = [(120, 40), (80, 24)]
J = RouterProvisioning.__table__  # type: ignore[attr-defined]


def _freeze(engine: Engine) -> None:
    """Five activations at fixed times: three on the router, one failed, one pending."""
    service = ActivationService(engine)
    for index in range(1, 6):
        service.activate(
            f"client{index}",
            "Home 10M" if index % 2 else "Fibre 20M",
            f"QSNAP{index:05d}",
            now=FIXED_NOW - timedelta(minutes=10 * index),
        )
    with session_scope(engine) as session:
        session.execute(
            update(J).values(
                created_at=FIXED_NOW - timedelta(minutes=20),
                updated_at=FIXED_NOW - timedelta(minutes=5),
            )
        )
        session.execute(
            update(J)
            .where(J.c.id <= 3)
            .values(status="completed", completed_at=FIXED_NOW - timedelta(minutes=12))
        )
        mark_delivered(session, [1, 2, 3], FIXED_NOW - timedelta(minutes=12))
        session.execute(
            update(J)
            .where(J.c.id == 4)
            .values(
                status="failed",
                attempts=1,
                last_error="failure: could not add user (out of licence slots)",
            )
        )
        session.execute(
            update(J).where(J.c.id == 5).values(next_attempt_at=FIXED_NOW + timedelta(seconds=25))
        )
        session.execute(update(Router).values(health="up"))


@pytest.fixture
def snapshot_app(seeded: Engine) -> Callable[[], WispApp]:
    _freeze(seeded)

    def make() -> WispApp:
        return build_app(
            console_settings(seeded), seeded, now=lambda: FIXED_NOW, watch_terminal=False
        )

    return make


async def _ready(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=["120x40", "80x24"])
class TestMainScreen:
    def test_main_screen(self, snap_compare, snapshot_app, size) -> None:  # type: ignore[no-untyped-def]
        assert snap_compare(snapshot_app(), terminal_size=size, run_before=_ready)


@pytest.mark.parametrize("size", SIZES, ids=["120x40", "80x24"])
class TestActivationModal:
    def test_activation_modal(self, snap_compare, snapshot_app, size) -> None:  # type: ignore[no-untyped-def]
        async def open_modal(pilot: Pilot[Any]) -> None:
            await settle(pilot)
            await pilot.press("a")
            await settle(pilot)
            await pilot.press(*"client")
            await _ready(pilot)

        assert snap_compare(snapshot_app(), terminal_size=size, run_before=open_modal)


@pytest.mark.parametrize("size", SIZES, ids=["120x40", "80x24"])
class TestActivationChange:
    def test_package_change(self, snap_compare, snapshot_app, size) -> None:  # type: ignore[no-untyped-def]
        async def offer_change(pilot: Pilot[Any]) -> None:
            await settle(pilot)
            await pilot.press("a")
            await settle(pilot)
            await pilot.press(*"client1", "enter")  # client1 runs Home 10M
            pilot.app.screen.query_one("#package", Select).value = "Fibre 20M"
            await _ready(pilot)

        assert snap_compare(snapshot_app(), terminal_size=size, run_before=offer_change)


@pytest.mark.parametrize("size", SIZES, ids=["120x40", "80x24"])
class TestRouterUsers:
    def test_router_users(self, snap_compare, snapshot_app, size) -> None:  # type: ignore[no-untyped-def]
        async def open_users(pilot: Pilot[Any]) -> None:
            await settle(pilot)
            await pilot.press("u")
            await _ready(pilot)

        assert snap_compare(snapshot_app(), terminal_size=size, run_before=open_users)
