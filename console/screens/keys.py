"""Every key of the console, screen by screen: what help lists and what [console.keymap] rebinds.

A binding's id is what the keymap rebinds it by; `places` names every class that declares bindings,
so help can list them all (a test checks that no declared id is left out).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.binding import Binding

if TYPE_CHECKING:
    from textual.app import App
    from textual.dom import DOMNode


@dataclass(frozen=True)
class Place:
    """A screen (or the whole console) and the classes whose bindings act there."""

    title: str
    owners: tuple[type[DOMNode], ...]
    extra: tuple[tuple[str, str], ...] = ()
    """Keys with no binding id of ours (moving in a list, closing a maximized pane)."""

    @property
    def screen(self) -> type[DOMNode]:
        """The screen class (the first owner)."""
        return self.owners[0]

    @property
    def bindings(self) -> list[Binding]:
        """The bindings with an id (those the keymap can rebind), in declaration order."""
        return [
            binding
            for owner in self.owners
            for binding in owner.BINDINGS
            if isinstance(binding, Binding) and binding.id
        ]


HELP_IN_DIALOG = Binding("question_mark,f1", "app.help", "Help", id="help", show=False)
"""Help from a dialog, which the console-wide key does not reach; the same id, so one keymap line
rebinds both."""


def first_places() -> list[Place]:
    """The console as a whole and the main screen: the places of the first frame, imported without
    the other screens (which load the database's modules)."""
    from console.app import WispApp
    from console.screens.main import MainScreen
    from console.widgets.main.pane import Pane

    moving = ("↑ ↓ pgup pgdn", "Move in a list or scroll (home, end: to the first, the last)")
    return [
        Place("Outside dialogs", (WispApp,), (moving,)),
        Place("Main screen", (MainScreen, Pane), (("esc", "Back from a maximized pane"),)),
    ]


def places() -> list[Place]:
    """Every place with keys: the console as a whole first, then each screen."""
    from console.screens.activate import ActivateScreen
    from console.screens.activate_push import MpesaRequest
    from console.screens.assign import AssignScreen
    from console.screens.confirm import ConfirmScreen
    from console.screens.details import DetailsScreen
    from console.screens.help import HelpScreen
    from console.screens.reconcile import ReconcileScreen
    from console.screens.router_users import RouterUsersScreen
    from console.screens.vouchers import GenerateScreen, VouchersScreen

    return [
        *first_places(),
        Place("Details", (DetailsScreen,)),
        Place("Activate a client", (ActivateScreen, MpesaRequest), (("tab", "Next field"),)),
        Place("Assign a payment", (AssignScreen,), (("tab", "Next field"),)),
        Place("Yes or no", (ConfirmScreen,)),
        Place("Router users", (RouterUsersScreen,)),
        Place("Vouchers", (VouchersScreen,)),
        Place("Generate vouchers", (GenerateScreen,), (("tab", "Next field"),)),
        Place("Drift (reconcile)", (ReconcileScreen,)),
        Place("Help", (HelpScreen,)),
    ]


def binding_ids() -> list[str]:
    """Every binding id [console.keymap] accepts, once each, in the order help lists them."""
    ids = [binding.id or "" for place in places() for binding in place.bindings]
    return list(dict.fromkeys(ids))


def binding(binding_id: str) -> Binding | None:
    """The binding declared with `binding_id`, if any. The first places are looked in first (they
    come first in `places` too): the keys the main screen's panes name in its first frame are found
    without importing every screen."""
    for group in (first_places, places):
        for place in group():
            for declared in place.bindings:
                if declared.id == binding_id:
                    return declared
    return None


def display(app: App[Any], key: str) -> str:
    """One key as the footer writes it ('?', '^p', 'esc'), except enter, written out."""
    key = key.strip()
    return "enter" if key == "enter" else app.get_key_display(Binding(key, ""))


def keys_of(app: App[Any], declared: Binding, keymap: dict[str, str]) -> str:
    """The keys that run `declared` now: the keymap's if it rebinds the id, else its own."""
    rebound = keymap.get(declared.id or "")
    if rebound is None and declared.key_display:
        return declared.key_display
    return ", ".join(display(app, key) for key in (rebound or declared.key).split(","))


def key_for(app: App[Any], binding_id: str) -> str:
    """The key that runs a binding now (after the keymap), or the id itself if none is declared."""
    declared = binding(binding_id)
    if declared is None:
        return binding_id
    keymap: dict[str, str] = getattr(app, "keymap", {})
    return keys_of(app, declared, keymap)
