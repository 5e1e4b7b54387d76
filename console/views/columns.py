"""Table columns that fit the terminal: the ones that matter first, wider when there is room.

An 80-column terminal over SSH cannot show every column of a pane. Each column says what it needs,
whether it may grow and how soon it gives way, and `fit` picks the columns and their widths.
"""

from __future__ import annotations

from dataclasses import dataclass

PADDING = 1
"""Blank cells on each side of a column (the table's cell padding)."""


@dataclass(frozen=True)
class Column:
    """One column of a table and what it needs of the width."""

    label: str
    width: int
    """Cells it needs; a longer value is cut with an ellipsis."""
    grow: int = 0
    """Its share of the spare width (0: it keeps `width`)."""
    most: int | None = None
    """The widest it grows; None lets it take all the spare width it is given."""
    drop: int = 0
    """0: always shown; otherwise left out when the width runs short, the highest first. The first
    column of a table is always shown (its rows are ordered by it)."""


def columns_of(spec: tuple[Column | tuple[str, int | None], ...]) -> tuple[Column, ...]:
    """Columns from a spec that may still name them as (label, width) pairs."""
    return tuple(c if isinstance(c, Column) else Column(c[0], c[1] or len(c[0])) for c in spec)


def _needs(columns: list[tuple[int, Column]]) -> int:
    return sum(column.width + 2 * PADDING for _, column in columns)


def fit(columns: tuple[Column, ...], width: int) -> tuple[tuple[int, int], ...]:
    """The columns to show in `width` cells, as (index in `columns`, width) pairs, in order.

    Columns that may be dropped go, the highest `drop` first (the rightmost of equals), until the
    rest fit; the spare width then goes to the growing columns by their share, each up to its
    `most`. Columns that are never dropped are kept even when they do not fit (the table scrolls).
    """
    shown = list(enumerate(columns))
    while _needs(shown) > width:
        droppable = [(column.drop, index) for index, column in shown if column.drop and index]
        if not droppable:
            break
        _, gone = max(droppable)
        shown = [(index, column) for index, column in shown if index != gone]
    widths = {index: column.width for index, column in shown}
    _share(shown, widths, width - _needs(shown))
    return tuple((index, widths[index]) for index, _ in shown)


def _share(shown: list[tuple[int, Column]], widths: dict[int, int], spare: int) -> None:
    """Hand out `spare` cells to the growing columns by their share, none past its `most`."""
    growing = [(index, column) for index, column in shown if column.grow]
    while spare > 0 and growing:
        total = sum(column.grow for _, column in growing)
        given = 0
        for index, column in growing:
            room = column.most - widths[index] if column.most is not None else spare
            share = min(max(spare * column.grow // total, 1), room, spare - given)
            widths[index] += share
            given += share
        spare -= given
        growing = [
            (index, column)
            for index, column in growing
            if column.most is None or widths[index] < column.most
        ]
        if not given:
            break
