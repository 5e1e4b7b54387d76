"""Help: every key of the console, as currently bound (after the operator's keymap)."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from console.screens.main import MainScreen

ABOUT = (
    "Panes refresh every second from the database. A subscription reads 'waiting for router' "
    "until its job completes. Keys are rebound in config.toml under [console.keymap] by the id "
    'in the last column, e.g. activate = "ctrl+a".'
)


class HelpScreen(ModalScreen[None]):
    """A table of keys and what they do."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="close_help")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("WISP Console keys", classes="dialog-title")
            with VerticalScroll(id="help-keys"):
                yield Static(self._keys())
                # Inside the scroll and a Static (which wraps), so 80x24 shows all of it.
                yield Static(ABOUT, classes="hint")
            yield Label("esc: close", classes="hint")

    def on_mount(self) -> None:
        # Focus the list so that arrows, page keys and End scroll it on a small terminal.
        self.query_one("#help-keys", VerticalScroll).focus()

    def _keys(self) -> Table:
        table = Table(box=None, show_header=False, padding=(0, 2, 0, 0))
        table.add_column(style="bold")
        table.add_column()
        table.add_column(style="dim")
        keymap = self.app._keymap
        for binding in [*MainScreen.BINDINGS, *self.app.BINDINGS]:
            if not isinstance(binding, Binding):
                continue
            keys = keymap.get(binding.id or "", binding.key_display or binding.key)
            table.add_row(
                keys.replace("question_mark", "?").replace("slash", "/"),
                binding.description,
                binding.id or "",
            )
        table.add_row("ctrl+p", "Command palette")
        table.add_row("esc", "Clear a pane's filter / close a window")
        return table
