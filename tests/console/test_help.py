"""Help shows the keys of the screen it is opened on, then every binding id the keymap accepts."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from typing import Any

from sqlalchemy import update
from textual.binding import Binding
from textual.dom import DOMNode

from console import screens, widgets
from console.app import WispApp
from console.screens.confirm import ConfirmScreen
from console.screens.details import DetailsScreen
from console.screens.help import HelpScreen
from console.screens.router_users import RouterUsersScreen
from db.activation import ActivationService
from db.engine import session_scope
from db.models import J
from tests.console.conftest import console_settings, settle

SIZE = (80, 24)


def _declared_ids() -> set[str]:
    """Every binding id declared by a class of the console's app, screens and widgets."""
    names = ["console.app"]
    for package in (screens, widgets):
        names += [m.name for m in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")]
    ids: set[str] = set()
    for name in names:
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, DOMNode) and cls.__module__.startswith("console."):
                bindings = cls.__dict__.get("BINDINGS", [])
                ids |= {b.id for b in bindings if isinstance(b, Binding) and b.id}
    return ids


async def _help(pilot: Any, *keys: str) -> HelpScreen:
    await pilot.press(*keys)
    await settle(pilot)
    assert isinstance(pilot.app.screen, HelpScreen)
    return pilot.app.screen


def _first_place(help_screen: HelpScreen) -> list[tuple[str, str]]:
    lines = help_screen.lines()
    return [(line.keys, line.what.plain) for line in lines if line.place == lines[0].place]


async def test_help_lists_every_binding_id_with_its_current_key(
    make_app: Callable[..., WispApp], seeded: Any
) -> None:
    settings = console_settings(seeded)
    settings.console.keymap = {"activate": "ctrl+a", "reveal_password": "ctrl+v"}
    app = make_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        help_screen = await _help(pilot, "question_mark")
        keys = {line.binding_id: line.keys for line in help_screen.lines()}
        declared = _declared_ids()
        assert len(declared) >= 30
        assert declared <= set(keys), f"not in help: {sorted(declared - set(keys))}"
        assert keys["activate"] == "^a" and keys["reveal_password"] == "^v"
        assert keys["reconcile_fix"] == "f" and keys["help"] == "?, f1"
        what = {line.binding_id: line.what.plain for line in help_screen.lines()}
        assert what["maximize"].startswith("Maximize")


async def test_help_on_the_main_screen_starts_with_its_keys(
    make_app: Callable[..., WispApp],
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        first = _first_place(await _help(pilot, "question_mark"))
        assert ("1", "Packages") in first and ("3", "Queue") in first
        assert any(what.startswith("Maximize") for _, what in first)


async def test_help_on_the_router_users_screen_shows_its_own_number_keys(
    make_app: Callable[..., WispApp],
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("u")
        await settle(pilot)
        assert isinstance(app.screen, RouterUsersScreen)
        help_screen = await _help(pilot, "question_mark")
        assert help_screen.lines()[0].place == "Router users"
        first = _first_place(help_screen)
        assert ("1", "Hotspot") in first and ("2", "PPPoE") in first and ("3", "Active") in first
        assert ("1", "Packages") not in first


async def test_help_opens_from_the_dialogs_with_their_keys_first(
    make_app: Callable[..., WispApp], seeded: Any
) -> None:
    ActivationService(seeded).activate("client1", "Home 10M")
    with session_scope(seeded) as session:
        session.execute(update(J).values(status="failed", last_error="failure: refused"))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DetailsScreen)
        first = _first_place(await _help(pilot, "question_mark"))
        assert ("v", "Reveal password") in first
        await pilot.press("escape", "escape")
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        help_screen = await _help(pilot, "f1")  # the client field has the focus: ? is typed
        assert help_screen.lines()[0].place == "Activate a client"
        await pilot.press("escape", "escape")
        await settle(pilot)
        await pilot.press("R")
        assert isinstance(app.screen, ConfirmScreen)
        help_screen = await _help(pilot, "question_mark")
        assert help_screen.lines()[0].place == "Yes or no"


async def test_the_command_palette_has_one_keys_entry(make_app: Callable[..., WispApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert titles.count("Keys") == 1
        keys = next(c for c in app.get_system_commands(app.screen) if c.title == "Keys")
        keys.callback()
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
