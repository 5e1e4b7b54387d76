"""Printable voucher cards: the card data (cards), a PDF sheet or roll (pdf), a printable page (html).

Nothing here touches the database: the caller builds the `Card`s and picks a layout. The
renderers are imported on first use, so that a command needing only the card data does not pay
for loading the PDF writer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from console.printing.cards import LAYOUTS, Card, Layout, login_url, price_text, validity_text

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    if name == "render_pdf":
        from console.printing.pdf import render_pdf

        return render_pdf
    if name == "render_html":
        from console.printing.html import render_html

        return render_html
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
