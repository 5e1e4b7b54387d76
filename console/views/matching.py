"""A pane's filter as SQL: each word typed must match one of the pane's columns."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, cast, or_
from sqlalchemy.sql.elements import ColumnElement


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
