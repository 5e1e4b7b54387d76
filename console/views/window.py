"""The shape every pane query returns: a window of keyed rows, in display order (plain data: the
widgets that show it load no SQLAlchemy; the filter's SQL is in `console.views.matching`)."""

from __future__ import annotations

from dataclasses import dataclass, field

WINDOW = 200
"""Rows a pane holds at most; the rest stay in the database until a filter brings them in."""


@dataclass(frozen=True)
class Row:
    """One table row: a stable key (for diffing) and its cells as text."""

    key: str
    cells: tuple[str, ...]
    status: str = ""
    """A short state word the widget may colour (failed, pending, down...)."""


@dataclass(frozen=True)
class Window:
    """The rows a pane shows now, in order, and how many match in total."""

    rows: list[Row] = field(default_factory=list)
    total: int = 0

    @property
    def keys(self) -> list[str]:
        return [row.key for row in self.rows]
