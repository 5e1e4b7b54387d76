"""A DataTable that shows a database window and refreshes it by key, never by clearing.

Dolphie's pattern: inside `app.batch_update()`, `update_cell` only where a value changed,
`remove_row` only for keys that left the window, `add_row(key=...)` for new ones; then the rows are
put in the window's order and the cursor is put back on the row it was on.

The columns fit the table's width (`console.views.columns.fit`): a resize that changes which columns
show, or how wide, builds the columns again and puts the rows back; a refresh tick never does.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, RowDoesNotExist

from console.views.columns import Column, columns_of, fit
from console.views.window import Row, Window

STATUS_STYLES = {
    "failed": "bold red",
    "pending": "yellow",
    "processing": "cyan",
    "waiting": "yellow",
    "completed": "green",
    "expired": "dim",
    "cancelled": "dim",
    "matched": "green",
    "unmatched": "bold yellow",
    "received": "cyan",
    "timed out": "dim",
}
"""Colour of a row's status cell; these are the 16 ANSI colours, so 256-colour terminals match."""


class WindowTable(DataTable[Text | str]):
    """A row-cursor table fed whole windows, ordered by ranking their first column."""

    def __init__(
        self,
        columns: tuple[Column | tuple[str, int | None], ...],
        status_column: int | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)  # type: ignore[arg-type]
        self._spec = columns_of(columns)
        self._status_column = status_column
        self._shown: dict[str, Row] = {}
        self._layout: tuple[tuple[int, int], ...] = ()
        self._column_keys: dict[int, ColumnKey] = {}
        """The key of each shown column, by its index in the spec (and in a row's cells)."""

    def on_mount(self) -> None:
        self._build_columns(fit(self._spec, self._room(self.app.size.width)))

    def on_resize(self) -> None:
        layout = fit(self._spec, self._room(self.size.width))
        if layout != self._layout:
            self._rebuild(layout)

    def _room(self, width: int) -> int:
        """Cells the columns may take: the width less the vertical scrollbar, always kept free."""
        return width - self.styles.scrollbar_size_vertical

    def _build_columns(self, layout: tuple[tuple[int, int], ...]) -> None:
        self._layout = layout
        self._column_keys = {
            index: self.add_column(self._spec[index].label, width=width) for index, width in layout
        }

    def _rebuild(self, layout: tuple[tuple[int, int], ...]) -> None:
        """Show other columns or widths: build the columns anew and put the rows back in order."""
        selected = self.selected_key
        order = [row.key.value for row in self.ordered_rows]
        with self.app.batch_update():
            self.clear(columns=True)
            self._build_columns(layout)
            for key in order:
                if key is not None and key in self._shown:
                    self.add_row(*self._cells(self._shown[key]), key=key)
            self._restore(selected)

    @property
    def shown_labels(self) -> list[str]:
        """The labels of the columns shown, in order (the terminal's width decides)."""
        return [self._spec[index].label for index, _ in self._layout]

    @property
    def selected_key(self) -> str | None:
        """The key of the row under the cursor, if any."""
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except CellDoesNotExist:
            return None

    def row_at(self, index: int) -> Row:
        """The row shown at `index`, with all its cells in full (the table may show fewer, cut)."""
        key = self.ordered_rows[index].key.value
        return self._shown[key or ""]

    @property
    def selected_row(self) -> Row | None:
        key = self.selected_key
        return self._shown.get(key) if key else None

    def _cell(self, row: Row, index: int) -> Text:
        """A cell as text cut with an ellipsis, the status cell in its colour."""
        style = STATUS_STYLES.get(row.status, "") if index == self._status_column else ""
        return Text(row.cells[index], style=style, no_wrap=True, overflow="ellipsis")

    def _cells(self, row: Row) -> list[Text | str]:
        return [self._cell(row, index) for index, _ in self._layout]

    def show(self, window: Window) -> None:
        """Bring the table to `window` with the fewest changes, keeping the cursor on its row."""
        selected = self.selected_key
        with self.app.batch_update():
            wanted = {row.key: row for row in window.rows}
            for key in [key for key in self._shown if key not in wanted]:
                self.remove_row(key)
                del self._shown[key]
            for row in window.rows:
                self._put(row)
            self._order(window.rows)
            self._restore(selected)

    def _put(self, row: Row) -> None:
        old = self._shown.get(row.key)
        if old == row:
            return
        if old is None:
            self.add_row(*self._cells(row), key=row.key)
        else:
            for index, column in self._column_keys.items():
                status_moved = index == self._status_column and old.status != row.status
                if old.cells[index] != row.cells[index] or status_moved:
                    self.update_cell(row.key, column, self._cell(row, index))
        self._shown[row.key] = row

    def _order(self, rows: list[Row]) -> None:
        """Put rows in the window's order (sorting by first-column rank; equal firsts keep order)."""
        current = [row.key.value for row in self.ordered_rows]
        if current == [row.key for row in rows]:
            return
        rank: dict[str, int] = {}
        for index, row in enumerate(rows):
            rank.setdefault(row.cells[0], index)
        first = self._column_keys[0]  # never dropped: the table is ordered by it
        self.sort(
            first, key=lambda cell: rank.get(cell.plain if isinstance(cell, Text) else cell, 0)
        )

    def reset(self) -> None:
        """Forget every row (another source was chosen: not a refresh tick)."""
        self.clear()
        self._shown.clear()

    def append(self, rows: list[Row]) -> None:
        """Add rows at the end (a listing arriving in batches); keys already shown are skipped."""
        with self.app.batch_update():
            for row in rows:
                if row.key not in self._shown:
                    self.add_row(*self._cells(row), key=row.key)
                    self._shown[row.key] = row

    def _restore(self, key: str | None) -> None:
        if key is None or key not in self._shown:
            return
        try:
            index = self.get_row_index(key)
        except RowDoesNotExist:
            return
        if index != self.cursor_row:
            self.move_cursor(row=index, animate=False)
