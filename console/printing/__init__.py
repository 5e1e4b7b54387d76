"""Printable voucher cards: the card data (cards), a PDF sheet or roll (pdf), a printable page (html).

Nothing here touches the database: the caller builds the `Card`s and picks a layout.
"""

from console.printing.cards import LAYOUTS, Card, Layout, login_url, price_text, validity_text
from console.printing.html import render_html
from console.printing.pdf import render_pdf

__all__ = [
    "LAYOUTS",
    "Card",
    "Layout",
    "login_url",
    "price_text",
    "render_html",
    "render_pdf",
    "validity_text",
]
