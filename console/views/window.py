"""The shape every pane query returns: a window of keyed rows, in display order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, cast, or_
from sqlalchemy.sql.elements import ColumnElement

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


def matching(text: str, *columns: Any) -> ColumnElement[bool] | None:
    """A case-insensitive `LIKE` on any of `columns`; each word of `text` must match somewhere."""
    words = [w for w in text.lower().split() if w]
    if not words:
        return None
    clauses = []
    for word in words:
        like = f"%{word.replace('%', '').replace('_', '')}%"
        clauses.append(or_(*(cast(c, String).ilike(like) for c in columns)))
    combined = clauses[0]
    for clause in clauses[1:]:
        combined = combined & clause
    return combined
