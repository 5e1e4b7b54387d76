"""Rows of one menu, held as dicts of str, with an index on the key and cached encodings.

Rows are never copied to answer a print: a full print joins cached `!re` sentences and
a proplist print encodes only the requested words of the matching rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from scheduler.sim.codec import encode_length
from scheduler.sim.request import ENCODING, ERRORS
from scheduler.sim.schema import Menu

RE = b"\x03!re"
Row = dict[str, str]
# Told of every change: (id, row, removed); a removed row is passed as it was.
ChangeListener = Callable[[str, Row, bool], None]
# Moving values of a row (uptime, counters) computed at print time.
LiveValues = Callable[[str, Row], Mapping[str, str]]


def format_id(number: int) -> str:
    """RouterOS item id: * and upper-case hex without leading zeros."""
    return f"*{number:X}"


def parse_id(text: str) -> int | None:
    """Number of a well-formed id (*1A -> 26), or None."""
    if len(text) < 2 or text[0] != "*":
        return None
    try:
        return int(text[1:], 16)
    except ValueError:
        return None


def encode_attribute(key: str, value: str) -> bytes:
    """Encode one =key=value word with its length prefix."""
    word = f"={key}={value}".encode(ENCODING, ERRORS)
    return encode_length(len(word)) + word


class Table:
    """The rows of one menu in creation order."""

    def __init__(self, menu: Menu) -> None:
        self.menu = menu
        self.rows: dict[str, Row] = {}
        self.by_key: dict[str, str] = {}
        self.next_id = menu.first_id
        self.listeners: list[ChangeListener] = []
        self.live: LiveValues | None = None
        self._encoded: dict[str, bytes] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows.values())

    def insert(self, values: Row, number: int | None = None, builtin: bool = False) -> str:
        """Store a new row and return its id (allocated monotonically unless given)."""
        if number is None:
            number = self.next_id
        if not builtin:
            # Built-in rows sit at fixed ids (*0, *FFFFFFFE) that must not move the counter.
            self.next_id = max(self.next_id, number + 1)
        row_id = format_id(number)
        row = {} if self.menu.single else {".id": row_id}
        row.update(values)
        self.rows[row_id] = self._ordered(row)
        self._index(row_id, None, row)
        self._changed(row_id)
        return row_id

    def update(self, row_id: str, changes: dict[str, str | None]) -> None:
        """Apply changes to a row; a None value removes the property."""
        old = self.rows[row_id]
        row = dict(old)
        for key, value in changes.items():
            if value is None:
                row.pop(key, None)
            else:
                row[key] = value
        self.rows[row_id] = self._ordered(row)
        self._index(row_id, old, row)
        self._changed(row_id)

    def delete(self, row_id: str) -> Row:
        """Remove a row and return what it held."""
        row = self.rows.pop(row_id)
        self._index(row_id, row, None)
        self._changed(row_id, row)
        return row

    def get(self, row_id: str) -> Row | None:
        """Row by id, or None."""
        return self.rows.get(row_id)

    def view(self, row_id: str) -> Row:
        """The row as print shows it now, live values included."""
        row = self.rows[row_id]
        if self.live is None:
            return row
        return self.menu_order(row | dict(self.live(row_id, row)))

    def menu_order(self, row: Row) -> Row:
        """A row with its properties in print order."""
        return self._ordered(row)

    def find(self, key_value: str) -> str | None:
        """Id of the row whose key property equals key_value, or None."""
        return self.by_key.get(key_value)

    def encoded(self, row_id: str) -> bytes:
        """The full `!re` sentence of a row (without tag or terminator), cached."""
        if self.live is not None:
            return RE + b"".join([encode_attribute(k, v) for k, v in self.view(row_id).items()])
        cached = self._encoded.get(row_id)
        if cached is None:
            row = self.rows[row_id]
            cached = RE + b"".join([encode_attribute(k, v) for k, v in row.items()])
            self._encoded[row_id] = cached
        return cached

    def _ordered(self, row: Row) -> Row:
        order = self.menu.order
        return dict(sorted(row.items(), key=lambda item: order.get(item[0], 1 << 30)))

    def _index(self, row_id: str, old: Row | None, new: Row | None) -> None:
        key = self.menu.key
        if key is None:
            return
        if old is not None and key in old and self.by_key.get(old[key]) == row_id:
            del self.by_key[old[key]]
        if new is not None and key in new:
            self.by_key[new[key]] = row_id

    def _changed(self, row_id: str, removed: Row | None = None) -> None:
        self._encoded.pop(row_id, None)
        row = removed if removed is not None else self.rows[row_id]
        for listener in list(self.listeners):
            listener(row_id, row, removed is not None)
