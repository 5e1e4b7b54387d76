"""A batch's unused vouchers as cards, with the hotspot address their QR codes log in at."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlmodel import Session

from console.printing.cards import Card, login_url
from db import catalog, lookup, secrets, vouchers
from db.config import Settings
from db.errors import UserError
from db.models import VoucherState


class NothingToPrint(UserError):
    """The batch has no unused voucher, or the hotspot's address is not known."""


def batch_cards(
    engine: Engine, settings: Settings, batch: str, *, dns_name: str | None = None
) -> tuple[str, list[Card], str]:
    """(batch name, cards of its unused vouchers, the DNS name they log in at)."""
    rows = vouchers.vouchers(engine, batch=batch, state=VoucherState.UNUSED)
    if not rows:
        raise NothingToPrint(f"batch {batch} has no unused voucher to print.")
    dns = (
        dns_name
        or settings.vouchers.hotspot_dns
        or hotspot_dns(engine, settings, rows[0]["router"])
    )
    name = rows[0]["batch"]
    validity = validity_words(vouchers.batch_validity(engine, name))
    cards = []
    for row in rows:
        password = secrets.decrypt(row["password"]) if row["password"] else None
        cards.append(
            Card(
                package=row["package"],
                price=row["price"],
                validity=validity,
                code=row["code"],
                password=password,
                login_url=login_url(dns, row["code"], password or row["code"]),
            )
        )
    return name, cards, dns


def hotspot_dns(engine: Engine, settings: Settings, router_name: str) -> str:
    """The DNS name of the router's hotspot (its server profile's dns-name), read live."""
    from scheduler.engine.endpoints import client_for
    from scheduler.routeros.errors import RouterError

    with Session(engine) as session:
        router = lookup.get(session, catalog.ROUTERS, router_name)
        session.expunge(router)
    try:
        with client_for(router, settings.routers) as client:
            names = [
                str(row.get("dns-name") or "")
                for row in client.print("/ip/hotspot/profile", proplist=("name", "dns-name"))
            ]
    except RouterError as error:
        raise NothingToPrint(
            f"could not read the hotspot's DNS name from router {router_name} ({error}); give "
            "--dns-name or set [vouchers] hotspot_dns."
        ) from None
    found = [name for name in names if name]
    if not found:
        raise NothingToPrint(
            f"router {router_name}'s hotspot profiles have no dns-name; give --dns-name (or the "
            "hotspot's address) or set [vouchers] hotspot_dns."
        )
    return found[0]


def validity_words(seconds: int) -> str:
    """A validity as a card says it: "1 day", "12 hours", "90 minutes"."""
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}" + ("" if count == 1 else "s")
    return f"{seconds} seconds"


def render(
    cards: list[Card],
    fmt: str,
    layout: str,
    operator: str,
    *,
    progress: Callable[[int], None] | None = None,
) -> bytes:
    """The cards as a PDF, or as an HTML page (UTF-8); `progress` hears of each card drawn."""
    from console.printing import render_html, render_pdf

    if fmt == "pdf":
        return render_pdf(cards, layout, operator, progress=progress)
    return render_html(cards, layout, operator, progress=progress).encode("utf-8")
