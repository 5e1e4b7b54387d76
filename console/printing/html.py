"""Voucher cards as one self-contained printable HTML page: inline SVG QR codes, print CSS,
no external asset (it prints the same from a browser offline)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from console.printing.cards import QR_BORDER, Card, Layout, layout_named, price_text, qr_code


def render_html(
    cards: Sequence[Card],
    layout: str,
    operator: str,
    *,
    progress: Callable[[int], None] | None = None,
) -> str:
    """The printable page of `cards` in `layout` (a4-36, thermal-58, thermal-80), each card with
    the operator's name; ValueError for an unknown layout or no cards.

    `progress`, if given, is told the number of cards drawn so far after each card.
    """
    shape = layout_named(layout)
    if not cards:
        raise ValueError("There are no vouchers to print.")
    drawn = []
    for number, card in enumerate(cards, start=1):
        drawn.append(_card(card, operator))
        if progress is not None:
            progress(number)
    pages = [
        drawn[start : start + shape.per_page] for start in range(0, len(drawn), shape.per_page)
    ]
    body = "\n".join(_page(page) for page in pages)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>Vouchers: {escape(operator)}</title>\n"
        f"<style>\n{_css(shape)}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def _page(cards: list[str]) -> str:
    inner = "\n".join(cards)
    return f'<section class="page">\n{inner}\n</section>'


def _card(card: Card, operator: str) -> str:
    if card.password is None:
        login = f'<div class="label">CODE</div><div class="code">{escape(card.code)}</div>'
    else:
        login = (
            f'<div class="code"><span class="label">USER</span> {escape(card.code)}</div>'
            f'<div class="code"><span class="label">PASS</span> {escape(card.password)}</div>'
        )
    svg = qr_code(card).svg_inline(
        scale=1, border=QR_BORDER, omitsize=True, svgclass="qr", title=card.login_url
    )
    return (
        f'<article class="card" data-code="{escape(card.code)}">'
        f'<div class="text"><div class="operator">{escape(operator)}</div>'
        f'<div class="package">{escape(card.package)}</div>'
        f'<div class="price">{escape(price_text(card))}</div>'
        f'<div class="validity">{escape(card.validity)}</div>'
        f"{login}</div>{svg}</article>"
    )


def _css(shape: Layout) -> str:
    """Print CSS: page size and grid from the layout, in millimetres like the PDF."""
    scale = shape.card_width / 48 if shape.roll else 1.0
    card = (
        "flex-direction: column; align-items: center; text-align: center;"
        if shape.roll
        else "border: 0.1mm dashed #aaa; padding: 2mm; gap: 2mm; align-items: center;"
    )
    return f"""@page {{ size: {shape.page_width}mm {shape.page_height}mm; margin: 0; }}
* {{ box-sizing: border-box; }}
body {{ margin: 0; background: #ccc; color: #000; font-family: Helvetica, Arial, sans-serif; }}
.page {{ width: {shape.page_width}mm; height: {shape.page_height}mm; margin: 0 auto 6mm;
  padding: {shape.margin_y:g}mm {shape.margin_x:g}mm; background: #fff; overflow: hidden;
  display: grid; grid-template-columns: repeat({shape.columns}, {shape.card_width}mm);
  grid-auto-rows: {shape.card_height}mm; column-gap: {shape.gap_x}mm; row-gap: {shape.gap_y}mm;
  break-after: page; page-break-after: always; }}
.card {{ display: flex; overflow: hidden; {card} }}
.text {{ flex: 1; min-width: 0; line-height: 1.2; }}
.operator {{ font-weight: bold; font-size: {6.5 * scale if not shape.roll else 11 * scale:g}pt; }}
.package {{ font-weight: bold; font-size: {8 * scale if not shape.roll else 10 * scale:g}pt; }}
.price, .validity {{ font-size: {7 * scale if not shape.roll else 9 * scale:g}pt; }}
.label {{ font-size: 5pt; font-family: Helvetica, Arial, sans-serif; font-weight: normal; }}
.code {{ font: bold {(18 if shape.roll else 11) * scale:g}pt "Courier New", Courier, monospace;
  overflow-wrap: anywhere; }}
.qr {{ width: {shape.qr_size}mm; height: {shape.qr_size}mm; flex: none; align-self: center; }}
@media print {{ body {{ background: none; }} .page {{ margin: 0; }} }}
"""
