"""Help: the keys of the screen it was opened on, then every other key, as currently bound.

Every binding id that [console.keymap] accepts is listed with its key after the operator's keymap.
On the main screen, routers that are not up are listed with why (the status line has room only for
their state).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

from console.screens.keys import Place, keys_of, places
from console.views.format import first_line

ABOUT = (
    "Panes refresh every second from the database. A subscription reads 'waiting for router' "
    "until its job completes. Keys are rebound in config.toml under [console.keymap] by the id "
    'in the last column, e.g. activate = "ctrl+a".'
)

KEYS_WIDTH = 14
"""The keys column: a longer list of keys (a keymap's) wraps."""
ID_WIDTH = 18
"""The id column: the longest binding id (pane_subscriptions)."""


@dataclass(frozen=True)
class KeyLine:
    """One line of help: where a key works, the key as bound now, what it does, its keymap id."""

    place: str
    keys: str
    what: Text
    binding_id: str


def _what(declared: Binding) -> Text:
    """What a key does: its footer label, then its tooltip when that says more."""
    what = Text(declared.description)
    if declared.tooltip and declared.tooltip != declared.description:
        what.append(f": {declared.tooltip}", style="dim")
    return what


class HelpScreen(ModalScreen[None]):
    """The keys of one screen first, then those that work outside dialogs, then all the others."""

    CLOSE = Binding("escape,q,question_mark", "dismiss", "Close", id="close_help")
    BINDINGS = [CLOSE]

    def __init__(self, opened_on: Screen[object] | None = None) -> None:
        super().__init__()
        self.opened_on = opened_on

    @property
    def place(self) -> Place | None:
        """Where help was opened: the screen whose keys come first."""
        for place in places():
            if self.opened_on is not None and type(self.opened_on) is place.screen:
                return place
        return None

    def compose(self) -> ComposeResult:
        here = self.place
        with Vertical(classes="dialog", id="help-dialog"):
            yield Label(f"Keys: {here.title if here else 'WISP Console'}", classes="dialog-title")
            with VerticalScroll(id="help-keys"):
                routers = self._routers()
                if routers is not None:
                    yield Static(routers, id="help-routers")
                yield Static(self._keys(), id="help-table")
                # Inside the scroll and a Static (which wraps), so 80x24 shows all of it.
                yield Static(ABOUT, classes="hint")
            close = keys_of(self.app, self.CLOSE, getattr(self.app, "keymap", {}))
            yield Label(f"↑ ↓ pgdn end: scroll   {close}: close", classes="hint")

    def on_mount(self) -> None:
        # Focus the list so that arrows, page keys and End scroll it on a small terminal.
        self.query_one("#help-keys", VerticalScroll).focus()

    def ordered(self) -> list[Place]:
        """This screen's place first, then the keys outside dialogs, then the other screens."""
        here = self.place
        rest = [place for place in places() if place != here]
        return [here, *rest] if here else rest

    def lines(self) -> list[KeyLine]:
        """Every key, place by place: this screen's first, each binding id once."""
        keymap: dict[str, str] = getattr(self.app, "keymap", {})
        listed: set[str] = set()  # a dialog's help key shares the console's id: listed once
        lines = []
        for place in self.ordered():
            for declared in place.bindings:
                if declared.id in listed:
                    continue
                listed.add(declared.id or "")
                keys = keys_of(self.app, declared, keymap)
                lines.append(KeyLine(place.title, keys, _what(declared), declared.id or ""))
            lines += [KeyLine(place.title, keys, Text(what), "") for keys, what in place.extra]
        return lines

    def _keys(self) -> Group:
        """A heading and a table per place; the same column widths in each, so they line up."""
        sections: list[Text | Table] = []
        for place, lines in groupby(self.lines(), key=lambda line: line.place):
            if sections:
                sections.append(Text())
            sections.append(Text(place, style="bold underline"))
            table = Table(box=None, show_header=False, padding=(0, 1, 0, 0), expand=True)
            table.add_column(style="bold", width=KEYS_WIDTH)
            table.add_column(ratio=1)
            table.add_column(style="dim", no_wrap=True, width=ID_WIDTH)
            for line in lines:
                table.add_row(line.keys, line.what, line.binding_id)
            sections.append(table)
        return Group(*sections)

    def _routers(self) -> Text | None:
        """Routers that are not up and why, when help was opened on the main screen."""
        snapshot = getattr(self.opened_on, "snapshot", None)
        routers = [r for r in snapshot.status.routers if r.why] if snapshot else []
        if not routers:
            return None
        text = Text()
        text.append("Routers not up", style="bold underline")
        for router in routers:
            text.append(f"\n{router.name} ", style="bold")
            text.append(router.health.replace("_", " "), style="red")
            text.append(f": {first_line(router.why, 300)}")
        return text
