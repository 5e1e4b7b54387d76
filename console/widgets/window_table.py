"""A DataTable that shows a database window and refreshes it by key, never by clearing.

Dolphie's pattern: inside `app.batch_update()`, `update_cell` only where a value changed,
`remove_row` only for keys that left the window, `add_row(key=...)` for new ones; then the rows are
put in the window's order and the cursor is put back on the row it was on.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, RowDoesNotExist

from console.views.window import Row, Window

STATUS_STYLES = {
    "failed": "bold red",
    "pending": "yellow",
    "processing": "cyan",
    "waiting": "yellow",
    "completed": "green",
    "expired": "dim",
    "cancelled": "dim",
}
"""Colour of a row's status cell; these are the 16 ANSI colours, so 256-colour terminals match."""


class WindowTable(DataTable[Text | str]):
    """A row-cursor table fed whole windows, ordered by ranking their first column."""

    def __init__(
        self,
        columns: tuple[tuple[str, int | None], ...],
        status_column: int | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)  # type: ignore[arg-type]
        self._spec = columns
        self._status_column = status_column
        self._shown: dict[str, Row] = {}
        self._column_keys: list[ColumnKey] = []

    def on_mount(self) -> None:
        self._column_keys = [self.add_column(label, width=width) for label, width in self._spec]

    @property
    def selected_key(self) -> str | None:
        """The key of the row under the cursor, if any."""
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except CellDoesNotExist:
            return None

    @property
    def selected_row(self) -> Row | None:
        key = self.selected_key
        return self._shown.get(key) if key else None

    def _cells(self, row: Row) -> list[Text | str]:
        cells: list[Text | str] = list(row.cells)
        if self._status_column is not None and row.status in STATUS_STYLES:
            index = self._status_column
            cells[index] = Text(row.cells[index], style=STATUS_STYLES[row.status])
        return cells

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
        cells = self._cells(row)
        if old is None:
            self.add_row(*cells, key=row.key)
        else:
            for column, (before, after) in enumerate(zip(old.cells, row.cells, strict=True)):
                if before != after or (column == self._status_column and old.status != row.status):
                    self.update_cell(row.key, self._column_keys[column], cells[column])
        self._shown[row.key] = row

    def _order(self, rows: list[Row]) -> None:
        """Put rows in the window's order (sorting by first-column rank; equal firsts keep order)."""
        current = [row.key.value for row in self.ordered_rows]
        if current == [row.key for row in rows]:
            return
        rank: dict[str, int] = {}
        for index, row in enumerate(rows):
            rank.setdefault(row.cells[0], index)
        first = self._column_keys[0]
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
