"""A pane of the main screen: a title line, a window table and a filter line shown on `/`."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Label

from console.views.columns import Column
from console.views.window import Row, Window
from console.widgets.window_table import WindowTable


class Pane(Vertical, can_focus=False):
    """A titled, filterable table of one database window. Subclasses name the columns."""

    TITLE = ""
    NUMBER = 0
    KIND = ""
    """What a row is ("package", "subscription", "job"): picks the details view."""
    COLUMNS: tuple[Column, ...] = ()
    HINTS: tuple[tuple[str, str], ...] = ()
    """Keys worth knowing in this pane, as (binding id, what it does), said in its title with the
    key bound now (the footer has no room for them at 80 columns)."""
    STATUS_COLUMN: int | None = None
    NEWEST_FIRST = False
    """Rows that arrive land on top (the window is newest first): a cursor left on the first row
    stays on it, so what arrives is in view."""
    ALLOW_MAXIMIZE = True
    """Maximizing its table shows the whole pane (title, table and filter) on the screen."""
    BINDINGS = [
        Binding("escape", "close_filter", "Clear filter", show=False, id="clear_filter"),
    ]

    class FilterChanged(Message):
        """The operator changed the pane's filter text."""

        def __init__(self, pane: Pane, text: str) -> None:
            super().__init__()
            self.pane = pane
            self.text = text

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(classes="pane", **kwargs)
        self.filter_text = ""
        self._total: int | None = None
        """How many rows match, once the first poll has landed (until then the title says
        loading, not 0)."""

    def compose(self) -> ComposeResult:
        yield Label(self._title(), classes="pane-title")
        yield WindowTable(
            self.columns(), self.STATUS_COLUMN, self.NEWEST_FIRST, id=f"{self.KIND}-table"
        )
        yield Input(
            placeholder=f"filter {self.TITLE.lower()} (enter: keep, esc: clear)",
            classes="pane-filter",
        )

    def columns(self) -> tuple[Column, ...]:
        """The table's columns (a pane may name them from the settings)."""
        return self.COLUMNS

    @property
    def table(self) -> WindowTable:
        return self.query_one(WindowTable)

    @property
    def selected(self) -> Row | None:
        """The row under the cursor."""
        return self.table.selected_row

    def show(self, window: Window) -> None:
        """Show a fresh window of rows (a refresh tick)."""
        self.table.show(window)
        self._total = window.total
        self.query_one(".pane-title", Label).update(self._title())

    def _title(self) -> str:
        shown = self.table.row_count if self.is_mounted and self.children else 0
        if self._total is None:
            count = "loading…"
        elif shown >= self._total:
            count = f"{self._total:,}"
        else:
            count = f"{shown:,} of {self._total:,}"
        where = f"  filter: {self.filter_text}" if self.filter_text else ""
        return f"{self.NUMBER} {self.TITLE} ({count}){where or self._hints()}"

    def _hints(self) -> str:
        key_for = getattr(self.app, "key_for", None) if self.is_attached else None
        if key_for is None:
            return ""
        return "".join(f"   {key_for(binding_id)}: {what}" for binding_id, what in self.HINTS)

    def open_filter(self) -> None:
        """Show the filter line and put the cursor in it."""
        field = self.query_one(".pane-filter", Input)
        field.display = True
        field.focus()

    def action_close_filter(self) -> None:
        """Clear the filter and go back to the table."""
        field = self.query_one(".pane-filter", Input)
        if self.filter_text or field.display:
            field.value = ""
            field.display = False
            self._set_filter("")
        self.table.focus()

    @on(Input.Changed, ".pane-filter")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        self._set_filter(event.value.strip())

    @on(Input.Submitted, ".pane-filter")
    def _kept(self, event: Input.Submitted) -> None:
        event.stop()
        field = self.query_one(".pane-filter", Input)
        field.display = bool(self.filter_text)
        self.table.focus()

    def _set_filter(self, text: str) -> None:
        if text != self.filter_text:
            self.filter_text = text
            self.query_one(".pane-title", Label).update(self._title())
            self.post_message(self.FilterChanged(self, text))
