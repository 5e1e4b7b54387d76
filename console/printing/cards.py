"""What a voucher card shows, the hotspot login URL its QR code holds, and the page layouts.

A layout is measured in millimetres and shared by the PDF and the HTML renderers, so a card
printed from either has the same size on paper.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote, urlencode

import segno


@dataclass(frozen=True)
class Card:
    """One voucher as printed: package, price, validity, code (and password), QR login URL."""

    package: str
    price: Decimal
    validity: str
    """As a customer reads it: "1 day", "12 hours" (see `validity_text`)."""
    code: str
    password: str | None
    """None in code mode, where the code is the user name and the password alike."""
    login_url: str
    """What the QR code holds (see `login_url`)."""
    currency: str = "KES"


@dataclass(frozen=True)
class Layout:
    """Where cards go on paper, in millimetres.

    A sheet layout (a4-36) places `columns` x `rows` cards per page with `gap` between them for
    the cut; a roll layout (thermal-*) has one card per page, the page as wide as the paper.
    """

    name: str
    page_width: float
    page_height: float
    columns: int
    rows: int
    card_width: float
    card_height: float
    gap_x: float
    gap_y: float
    padding: float
    qr_size: float
    roll: bool
    """Roll layouts stack the text above a centred QR code; sheets put the QR code at the right."""

    @property
    def per_page(self) -> int:
        """Cards on one page."""
        return self.columns * self.rows

    @property
    def margin_x(self) -> float:
        """Left (and right) page margin that centres the grid."""
        grid = self.columns * self.card_width + (self.columns - 1) * self.gap_x
        return (self.page_width - grid) / 2

    @property
    def margin_y(self) -> float:
        """Top (and bottom) page margin that centres the grid."""
        grid = self.rows * self.card_height + (self.rows - 1) * self.gap_y
        return (self.page_height - grid) / 2

    def position(self, index: int) -> tuple[float, float]:
        """Top-left corner of the card at `index` within its page."""
        slot = index % self.per_page
        column, row = slot % self.columns, slot // self.columns
        return (
            self.margin_x + column * (self.card_width + self.gap_x),
            self.margin_y + row * (self.card_height + self.gap_y),
        )


LAYOUTS: dict[str, Layout] = {
    # A4 with 8 mm / 7.5 mm page margins (inside any office printer's unprintable edge) and
    # 2 mm / 1.5 mm gutters to cut in.
    "a4-36": Layout("a4-36", 210, 297, 4, 9, 47, 30, 2, 1.5, 2, 20, roll=False),
    # Thermal rolls print about 48 mm of a 58 mm roll and 72 mm of an 80 mm one.
    "thermal-58": Layout("thermal-58", 58, 70, 1, 1, 48, 66, 0, 0, 0, 34, roll=True),
    "thermal-80": Layout("thermal-80", 80, 100, 1, 1, 72, 96, 0, 0, 0, 46, roll=True),
}


def layout_named(name: str) -> Layout:
    """The layout called `name`; ValueError naming the known ones if there is none."""
    try:
        return LAYOUTS[name]
    except KeyError:
        known = ", ".join(LAYOUTS)
        raise ValueError(f"Unknown card layout {name!r} (known: {known}).") from None


def login_url(dns_name: str, username: str, password: str) -> str:
    """The hotspot login URL that logs a voucher in when its QR code is scanned.

    `http://<dns name>/login?username=…&password=…`, both values URL-encoded. In code mode pass
    the code as both (the hotspot login page takes it so, as Mikhmon's cards do).
    """
    query = urlencode({"username": username, "password": password}, quote_via=quote)
    return f"http://{dns_name.strip().strip('/')}/login?{query}"


def price_text(card: Card) -> str:
    """The price as printed: "KES 50", "KES 1,500", "KES 49.50"."""
    amount = card.price
    if amount == amount.to_integral_value():
        return f"{card.currency} {int(amount):,}"
    return f"{card.currency} {amount:,.2f}"


UNITS = {"minutes": "minute", "hours": "hour", "days": "day", "weeks": "week", "months": "month"}


def validity_text(length: int, unit: str) -> str:
    """A package's duration as a customer reads it: (1, "days") → "1 day", (12, "hours") → "12 hours"."""
    singular = UNITS.get(unit, unit.rstrip("s"))
    return f"{length} {singular}" if length == 1 else f"{length} {singular}s"


def qr_code(card: Card) -> segno.QRCode:
    """The card's QR code (error correction M, raised by segno where the size allows)."""
    return segno.make(card.login_url, error="m", micro=False)


QR_BORDER = 2
"""Quiet modules around the QR code; the card's own white margin adds to them."""
