"""What a router holds, read-only: hotspot users, PPPoE secrets and active sessions.

Rows stream from the router in batches so the console shows the first ones at once. Passwords are
never asked for (`.proplist` leaves them out).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlmodel import col

from console.views.columns import Column
from console.views.window import Row
from db.config import RouterSettings
from db.models import Router
from scheduler.engine.endpoints import client_for
from scheduler.routeros.client import RouterClient
from scheduler.routeros.users import fetch_users

FIRST_BATCH = 100
"""Rows of the first message from the router worker: few, so the first rows show at once."""
BATCH = 5000
"""Rows of a later message at most: many, so the UI spends little time per row."""
EVERY = 0.5
"""Seconds between two later messages at least, unless BATCH rows are waiting: the screen lays
out and paints again for each message, whatever its size."""


@dataclass(frozen=True)
class Listing:
    """One tab of the router users screen: the listings it reads and the columns it shows."""

    kind: str
    title: str
    sources: tuple[tuple[str, str], ...]
    """(service label, `fetch_users` kind) pairs; active sessions read two listings."""
    columns: tuple[Column, ...]


LISTINGS = {
    "hotspot": Listing(
        "hotspot",
        "Hotspot users",
        (("hotspot", "hotspot"),),
        (
            Column("Name", 18, grow=1, most=28),
            Column("Profile", 20, grow=1, most=32),
            Column("Disabled", 8),
            Column("Uptime", 10),
            Column("Comment", 12, grow=3),
        ),
    ),
    "pppoe": Listing(
        "pppoe",
        "PPPoE secrets",
        (("pppoe", "pppoe"),),
        (
            Column("Name", 18, grow=1, most=28),
            Column("Profile", 20, grow=1, most=32),
            Column("Disabled", 8),
            Column("Last logged out", 20),
            Column("Comment", 12, grow=3, drop=1),
        ),
    ),
    "active": Listing(
        "active",
        "Active sessions",
        (("hotspot", "hotspot-active"), ("pppoe", "ppp-active")),
        (
            Column("User", 18, grow=1, most=28),
            Column("Service", 8),
            Column("Address", 15),
            Column("MAC / caller", 18),
            Column("Uptime", 12, grow=1),
        ),
    ),
}
CELLS = {
    "hotspot": ("name", "profile", "disabled", "uptime", "comment"),
    "pppoe": ("name", "profile", "disabled", "last-logged-out", "comment"),
}
ASKED = {
    **CELLS,
    "hotspot-active": ("user", "address", "mac-address", "uptime"),
    "ppp-active": ("name", "caller-id", "address", "uptime"),
}
"""The properties each `fetch_users` listing is asked for: only what `to_row` shows."""


def router_names(engine: Engine) -> list[str]:
    """Routers to choose from: those last seen up first, then the others, each by name."""
    with Session(engine) as session:
        rows = session.execute(select(col(Router.name), col(Router.health))).all()
    return [name for name, _ in sorted(rows, key=lambda row: (row[1] != "up", row[0]))]


def open_router(engine: Engine, name: str, settings: RouterSettings) -> RouterClient:
    """A client for the named router (nothing is connected yet)."""
    with Session(engine) as session:
        router = session.scalars(select(Router).where(Router.name == name)).one()  # type: ignore[arg-type]
        return client_for(router, settings)


def to_row(listing: Listing, service: str, item: dict[str, str]) -> Row:
    """One router item as a table row, keyed by service and the router's .id."""
    if listing.kind == "active":
        user = item.get("user") or item.get("name", "")
        mac = item.get("mac-address") or item.get("caller-id", "")
        cells: tuple[str, ...] = (
            user,
            service,
            item.get("address", ""),
            mac,
            item.get("uptime", ""),
        )
    else:
        cells = tuple(item.get(prop, "") for prop in CELLS[listing.kind])
    disabled = item.get("disabled") == "true"
    return Row(f"{service}:{item.get('.id', cells[0])}", cells, "cancelled" if disabled else "")


def stream_rows(
    client: RouterClient,
    listing: Listing,
    batch: int = BATCH,
    every: float = EVERY,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[list[Row]]:
    """The listing's rows straight from the router (raises RouterError): a small first batch,
    then what arrived in each `every` seconds, up to `batch` rows at a time."""
    pending: list[Row] = []
    first = True
    sent = clock()
    for service, kind in listing.sources:
        for items in fetch_users(client, kind, batch=FIRST_BATCH, properties=ASKED[kind]):
            pending.extend(to_row(listing, service, item) for item in items)
            if first or len(pending) >= batch or clock() - sent >= every:
                yield pending
                pending, first, sent = [], False, clock()
    if pending:
        yield pending


def voucher_uptimes(kind: str, rows: list[Row]) -> list[tuple[str, str]]:
    """(name, uptime) of the hotspot users or sessions among the rows: where a voucher's first
    login shows."""
    if kind == "hotspot":
        return [(row.cells[0], row.cells[3]) for row in rows]
    if kind == "active":
        return [(row.cells[0], row.cells[4]) for row in rows if row.cells[1] == "hotspot"]
    return []


def haystack(row: Row) -> str:
    """The text a filter looks in: every cell, lower case."""
    return " ".join(row.cells).lower()


def matches(row: Row, text: str) -> bool:
    """True when every word of `text` appears in some cell (case-insensitive)."""
    return found(haystack(row), text.lower().split())


def found(haystack: str, words: list[str]) -> bool:
    """True when every (lower-case) word appears in `haystack` (made by `haystack`)."""
    return all(word in haystack for word in words)
