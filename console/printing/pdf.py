"""Voucher cards as a PDF (fpdf2): an A4 sheet of 36 to cut, or one card per page of a roll."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

from fpdf import FPDF

from console.printing.cards import QR_BORDER, Card, Layout, layout_named, price_text, qr_code

PT = 0.3528
"""Millimetres per typographic point."""
LINE = 1.22
"""Line height as a multiple of the font size."""


def render_pdf(
    cards: Sequence[Card],
    layout: str,
    operator: str,
    *,
    progress: Callable[[int], None] | None = None,
) -> bytes:
    """The PDF of `cards` in `layout` (a4-36, thermal-58, thermal-80), each card with the
    operator's name; ValueError for an unknown layout or no cards.

    `progress`, if given, is told the number of cards drawn so far after each card (a batch of
    5,000 takes some seconds: most of it is segno choosing the best mask of each QR code).
    """
    shape = layout_named(layout)
    if not cards:
        raise ValueError("There are no vouchers to print.")
    pdf = FPDF(unit="mm", format=(shape.page_width, shape.page_height))
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    pdf.set_title(f"Vouchers: {operator}")
    pdf.set_creator("WISP Console")
    for index, card in enumerate(cards):
        if index % shape.per_page == 0:
            pdf.add_page()
        x, y = shape.position(index)
        if shape.roll:
            _roll_card(pdf, shape, card, operator, x, y)
        else:
            _sheet_card(pdf, shape, card, operator, x, y)
        if progress is not None:
            progress(index + 1)
    return bytes(pdf.output())


def _sheet_card(pdf: FPDF, shape: Layout, card: Card, operator: str, x: float, y: float) -> None:
    """A card of a sheet: text on the left, the QR code on the right, a dashed line to cut on."""
    _cut_line(pdf, x, y, shape.card_width, shape.card_height)
    pad, qr = shape.padding, shape.qr_size
    _qr(pdf, card, x + shape.card_width - pad - qr, y + (shape.card_height - qr) / 2, qr)
    width = shape.card_width - qr - 3 * pad
    sizes = (6.5, 8, 7, 7, 5, 11) if card.password is None else (6.5, 8, 7, 7, 9.5, 9.5)
    block = sum(sizes) * PT * LINE + 1
    left, top = x + pad, y + max(pad, (shape.card_height - block) / 2)  # centred like the QR
    top = _line(pdf, operator, left, top, width, "Helvetica", "B", 6.5)
    top = _line(pdf, card.package, left, top, width, "Helvetica", "B", 8)
    top = _line(pdf, price_text(card), left, top, width, "Helvetica", "", 7)
    top = _line(pdf, card.validity, left, top, width, "Helvetica", "", 7) + 1
    if card.password is None:
        top = _line(pdf, "CODE", left, top, width, "Helvetica", "", 5)
        _line(pdf, card.code, left, top, width, "Courier", "B", 11)
        return
    top = _labelled(pdf, "USER", card.code, left, top, width, 9.5)
    _labelled(pdf, "PASS", card.password, left, top, width, 9.5)


def _roll_card(pdf: FPDF, shape: Layout, card: Card, operator: str, x: float, y: float) -> None:
    """A card of a roll: everything centred, the QR code last, a dashed line to tear on."""
    scale = shape.card_width / 48
    width, top = shape.card_width, y + 2
    top = _line(pdf, operator, x, top, width, "Helvetica", "B", 11 * scale, "C")
    top = _line(pdf, card.package, x, top, width, "Helvetica", "B", 10 * scale, "C")
    top = _line(
        pdf,
        f"{price_text(card)}  ·  {card.validity}",
        x,
        top,
        width,
        "Helvetica",
        "",
        9 * scale,
        "C",
    )
    top += 1.5 * scale
    if card.password is None:
        top = _line(pdf, card.code, x, top, width, "Courier", "B", 18 * scale, "C")
    else:
        top = _line(pdf, f"User {card.code}", x, top, width, "Courier", "B", 13 * scale, "C")
        top = _line(pdf, f"Pass {card.password}", x, top, width, "Courier", "B", 13 * scale, "C")
    _qr(pdf, card, x + (width - shape.qr_size) / 2, top + 1.5 * scale, shape.qr_size)
    pdf.set_draw_color(150)
    pdf.set_line_width(0.1)
    pdf.set_dash_pattern(dash=1, gap=1)
    pdf.line(0, shape.page_height - 0.5, shape.page_width, shape.page_height - 0.5)
    pdf.set_dash_pattern()


def _line(
    pdf: FPDF,
    text: str,
    x: float,
    y: float,
    width: float,
    family: str,
    style: str,
    size: float,
    align: str = "L",
) -> float:
    """Write one line of text, shrunk until it fits `width`; returns the top of the next line."""
    text = _printable(text)
    size = _fit(pdf, text, family, style, size, width)
    height = size * PT * LINE
    pdf.set_xy(x, y)
    pdf.cell(width, height, text, align=align)
    return y + height


def _labelled(
    pdf: FPDF, label: str, value: str, x: float, y: float, width: float, size: float
) -> float:
    """A small label (USER, PASS) followed on the same line by a value in a typewriter face."""
    label_width = 7.0
    _line(pdf, label, x, y + size * PT * 0.3, label_width, "Helvetica", "", 5)
    return _line(pdf, value, x + label_width, y, width - label_width, "Courier", "B", size)


def _fit(pdf: FPDF, text: str, family: str, style: str, size: float, width: float) -> float:
    """The largest size up to `size` (not below 4 pt) at which `text` fits in `width`."""
    pdf.set_font(family, style, size)
    while size > 4 and pdf.get_string_width(text) > width:
        size -= 0.25
        pdf.set_font(family, style, size)
    return size


def _qr(pdf: FPDF, card: Card, x: float, y: float, size: float) -> None:
    """The card's QR code as a PNG image of `size` mm square (4 pixels a module: 230 dpi on a
    sheet, above a thermal printer's 203 dpi on a roll; PDF images are not smoothed)."""
    image = io.BytesIO()
    qr_code(card).save(image, kind="png", scale=4, border=QR_BORDER)
    image.seek(0)
    pdf.image(image, x=x, y=y, w=size, h=size)


def _cut_line(pdf: FPDF, x: float, y: float, width: float, height: float) -> None:
    pdf.set_draw_color(170)
    pdf.set_line_width(0.1)
    pdf.set_dash_pattern(dash=1, gap=1)
    pdf.rect(x, y, width, height)
    pdf.set_dash_pattern()


def _printable(text: str) -> str:
    """The PDF's built-in fonts cover Latin-1 only: other characters print as '?'."""
    return text.encode("latin-1", "replace").decode("latin-1")
