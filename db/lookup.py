"""Finding routers, packages and clients by the name an operator types.

One rule for all three: the exact name first, then the one name that matches ignoring case
(`amina` finds `Amina`); a miss names the closest names (`did you mean Home 10M?`). Creating one
whose name differs from another only in case is refused, so a typed name never matches two.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from db.errors import UserError


@dataclass(frozen=True)
class Kind:
    """What is looked up: its model, its name column and how a miss is said."""

    model: type[Any]
    column: Any
    missing: str
    """The start of the sentence, with {name}: "there is no client with username {name}"."""
    listing: str
    """What to run to see them all, said when nothing is close."""
    refusal: type[UserError] = UserError
    """The error a miss raises (the catalog's `Refused`)."""


def find(session: Session, kind: Kind, name: str) -> Any | None:
    """The row named `name`: exactly, else the only one whose name matches ignoring case."""
    name = name.strip()
    exact = session.scalars(select(kind.model).where(kind.column == name)).first()
    if exact is not None:
        return exact
    folded = session.scalars(
        select(kind.model).where(func.lower(kind.column) == name.lower()).limit(2)
    ).all()
    return folded[0] if len(folded) == 1 else None


def get(session: Session, kind: Kind, name: str) -> Any:
    """`find`, or one sentence naming the closest names (`kind.refusal`)."""
    found = find(session, kind, name)
    if found is not None:
        return found
    names = list(session.scalars(select(kind.column)))
    missing = kind.missing.format(name=repr(name.strip()))
    raise kind.refusal(missing + _hint(name.strip(), names, kind))


def taken(session: Session, kind: Kind, name: str, *, other_than: Any = None) -> Any | None:
    """A row whose name is `name` ignoring case (another than `other_than`), or None."""
    rows = session.scalars(
        select(kind.model).where(func.lower(kind.column) == name.strip().lower())
    ).all()
    return next((row for row in rows if row is not other_than), None)


def _hint(name: str, names: list[str], kind: Kind) -> str:
    if not names:
        return " (there are none yet)."
    lowered = {n.lower(): n for n in names}
    close = [lowered[n] for n in difflib.get_close_matches(name.lower(), list(lowered), n=3)]
    close += [n for n in names if name and name.lower() in n.lower() and n not in close]
    if not close:
        return f" (see `{kind.listing}`)."
    shown = ", ".join(close[:3])
    return f"; did you mean {shown}?"
