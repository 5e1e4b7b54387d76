"""Choices for the activation modal: clients found as the operator types, and packages."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.views.matching import matching
from db.models import C, ClientStatus, P, R


@dataclass(frozen=True)
class Choice:
    """Something to pick: the value passed on and the label shown."""

    value: str
    label: str


def search_clients(session: Session, text: str, limit: int = 8) -> list[Choice]:
    """Active clients whose username, name or phone match `text`, by username."""
    query = select(C.c.username, C.c.full_name, C.c.phone).where(C.c.status == ClientStatus.ACTIVE)
    where = matching(text, C.c.username, C.c.full_name, C.c.phone)
    if where is not None:
        query = query.where(where)
    rows = session.execute(query.order_by(C.c.username).limit(limit))
    return [
        Choice(r.username, f"{r.username}  {r.full_name}  {r.phone or ''}".rstrip()) for r in rows
    ]


def package_choices(session: Session) -> list[Choice]:
    """Packages that can be sold (they have a router), by name."""
    query = (
        select(P.c.name, P.c.price, P.c.type, R.c.name.label("router"))
        .select_from(P.join(R, R.c.id == P.c.router_id))
        .order_by(P.c.name)
    )
    return [
        Choice(r.name, f"{r.name} ({r.type}, {r.price:,.2f}, {r.router})")
        for r in session.execute(query)
    ]
