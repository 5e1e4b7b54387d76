"""A DataTable that shows a database window and refreshes it by key, never by clearing.

Dolphie's pattern: inside `app.batch_update()`, `update_cell` only where a value changed,
`remove_row` only for keys that left the window, `add_row(key=...)` for new ones; then the rows are
put in the window's order and the cursor is put back on the row it was on.

In a newest-first window (the queue, the payments) a cursor on the first row stays on the first
row as new rows land on top, so the newest stays in view; a cursor the operator moved down to a row
keeps that row.

The columns fit the table's width (`console.views.columns.fit`): a resize that changes which columns
show, or how wide, builds the columns again and puts the rows back; a refresh tick never does.

A long listing (10,000 router users) takes another way: its cells are made in a worker thread
(`ready`) and added a whole batch at a time (`append`, `replace`), with no per-row work in the UI
thread but filing the cells.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import (
    CellDoesNotExist,
    ColumnKey,
    RowDoesNotExist,
    RowKey,
)
from textual.widgets.data_table import (
    Row as TableRow,
)

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


def cell_text(row: Row, index: int, status_column: int | None) -> Text:
    """A cell as text cut with an ellipsis, the status cell in its colour."""
    style = STATUS_STYLES.get(row.status, "") if index == status_column else ""
    return Text(row.cells[index], style=style, no_wrap=True, overflow="ellipsis")


class Cell:
    """A cell drawn as `cell_text` draws it, made for a tenth of the cost of a rich `Text`.

    The table turns it into that `Text` only when it draws the cell: a screenful of rows, not
    the 10,000 of a long listing. Made in any thread (it touches nothing of the app).
    """

    __slots__ = ("plain", "style")

    def __init__(self, plain: str, style: str = "") -> None:
        self.plain = plain
        self.style = style

    def __rich__(self) -> Text:
        return Text(self.plain, style=self.style, no_wrap=True, overflow="ellipsis")

    def __repr__(self) -> str:
        return f"Cell({self.plain!r}, {self.style!r})"


class ReadyRow(NamedTuple):
    """A row with its cells made already (in a worker thread), for `append` and `replace`."""

    row: Row
    cells: tuple[Cell, ...]
    """One per cell of `row`, shown or not (the table's width decides which show)."""
    haystack: str = ""
    """What a filter looks in, made with the cells."""


def ready(row: Row, status_column: int | None, haystack: str = "") -> ReadyRow:
    """`row` with its cells made; safe in any thread (nothing of the app is touched)."""
    status = STATUS_STYLES.get(row.status, "") if status_column is not None else ""
    cells = tuple(
        Cell(cell, status if index == status_column else "") for index, cell in enumerate(row.cells)
    )
    return ReadyRow(row, cells, haystack)


class WindowTable(DataTable[Text | str | Cell]):
    """A row-cursor table fed whole windows, ordered by ranking their first column."""

    def __init__(
        self,
        columns: tuple[Column | tuple[str, int | None], ...],
        status_column: int | None = None,
        newest_first: bool = False,
        **kwargs: object,
    ) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)  # type: ignore[arg-type]
        self._spec = columns_of(columns)
        self._status_column = status_column
        self._newest_first = newest_first
        """Rows that arrive land on top: a cursor on the first row follows them."""
        self._shown: dict[str, Row] = {}
        self._layout: tuple[tuple[int, int], ...] = ()
        self._column_keys: dict[int, ColumnKey] = {}
        """The key of each shown column, by its index in the spec (and in a row's cells)."""
        self._made: dict[str, tuple[Cell, ...]] = {}
        """The cells of rows added ready-made, by key, kept to put them back after a resize."""

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
        rows = [self._ready(self._shown[key]) for key in order if key in self._shown]
        with self.app.batch_update():
            self.clear(columns=True)
            self._shown.clear()
            self._build_columns(layout)
            self._add_ready(rows)
            self._restore(selected)

    def _ready(self, row: Row) -> ReadyRow:
        made = self._made.get(row.key)
        return ReadyRow(row, made) if made else ready(row, self._status_column)

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
        return cell_text(row, index, self._status_column)

    def _cells(self, row: Row) -> list[Text | str | Cell]:
        return [self._cell(row, index) for index, _ in self._layout]

    def show(self, window: Window) -> None:
        """Bring the table to `window` with the fewest changes, keeping the cursor on its row (or,
        in a newest-first window, on the first row when it was there)."""
        selected = None if self._on_newest() else self.selected_key
        with self.app.batch_update():
            wanted = {row.key: row for row in window.rows}
            for key in [key for key in self._shown if key not in wanted]:
                self.remove_row(key)
                del self._shown[key]
                self._made.pop(key, None)
            for row in window.rows:
                self._put(row)
            self._order(window.rows)
            self._restore(selected)

    def _on_newest(self) -> bool:
        """The cursor is on the first row of a newest-first window: it stays on the first row."""
        return self._newest_first and self.cursor_row == 0

    def _put(self, row: Row) -> None:
        old = self._shown.get(row.key)
        if old == row:
            return
        if old is None:
            self.add_row(*self._cells(row), key=row.key)
        else:
            self._made.pop(row.key, None)
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
            first,
            key=lambda cell: rank.get(cell.plain if isinstance(cell, Text | Cell) else cell, 0),
        )

    def reset(self) -> None:
        """Forget every row (another source was chosen: not a refresh tick)."""
        self.clear()
        self._shown.clear()
        self._made.clear()

    def append(self, rows: Sequence[ReadyRow]) -> None:
        """Add rows at the end (a listing arriving in batches); keys already shown are skipped."""
        with self.app.batch_update():
            self._add_ready(rows)

    def replace(self, rows: Sequence[ReadyRow]) -> None:
        """Show `rows` instead, in one rebuild (a filter over a long listing), keeping the cursor
        on its row when that row is still shown."""
        selected = self.selected_key
        with self.app.batch_update():
            self.clear()
            self._shown.clear()
            self._made.clear()
            self._add_ready(rows)
            self._restore(selected)

    def _add_ready(self, rows: Sequence[ReadyRow]) -> None:
        """Add rows at the bottom in one step, keys already shown skipped.

        This files each row as `DataTable.add_row` does, and does the rest once for the batch:
        Textual's `add_row` (which `add_rows` calls row by row) also sets the cursor again (a
        reactive, with its watcher), counts an update (dropping the render caches) and wakes the
        idle handler, for every row.
        """
        locations = self._row_locations
        data = self._data
        meta = self.rows
        shown = self._shown
        made = self._made
        columns = list(self._column_keys.items())
        before = index = self.row_count
        for row, cells, _ in rows:
            if row.key in shown:
                continue
            key = RowKey(row.key)
            locations[key] = index
            data[key] = {column: cells[spec] for spec, column in columns}
            meta[key] = TableRow(key, 1)
            shown[row.key] = row
            made[row.key] = cells
            index += 1
        if index == before:
            return
        self._require_update_dimensions = True
        self._update_count += 1
        self.cursor_coordinate = self.cursor_coordinate
        if before == 0 and self.columns and self.show_cursor and self.cursor_type != "none":
            self._highlight_cursor()
        self.check_idle()

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        """Every column has a set width and every row one line: new rows need no measuring
        (Textual measures every cell of every new row, which costs more than adding them)."""
        super()._update_dimensions(())

    def _restore(self, key: str | None) -> None:
        if key is None or key not in self._shown:
            return
        try:
            index = self.get_row_index(key)
        except RowDoesNotExist:
            return
        if index != self.cursor_row:
            self.move_cursor(row=index, animate=False)
