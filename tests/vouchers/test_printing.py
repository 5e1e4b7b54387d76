"""Printed vouchers: pages and cards where the layout puts them, and QR codes that a real decoder
reads back to the exact hotspot login URL (PDF pages rasterised with PDFium, HTML SVG drawn from
its path)."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pypdfium2
import pytest
import zxingcpp
from PIL import Image, ImageDraw
from pypdf import PdfReader

from console.printing import LAYOUTS, Card, login_url, price_text, render_html, render_pdf
from console.printing.cards import validity_text

OPERATOR = "Kamau Wi-Fi Ltd"
DNS = "hotspot.kamau.net"
DPI = 300
MM_PER_POINT = 25.4 / 72


def code_cards(count: int, prefix: str = "KB") -> list[Card]:
    """Code-mode cards: the code is the user name and the password."""
    codes = [f"{prefix}{n:04d}X7" for n in range(count)]
    return [
        Card("Daily 5 Mbps", Decimal("50"), "1 day", code, None, login_url(DNS, code, code))
        for code in codes
    ]


def user_pass_card(code: str, password: str) -> Card:
    return Card(
        "Weekly 10 Mbps", Decimal("300"), "7 days", code, password, login_url(DNS, code, password)
    )


def decode(image: Image.Image) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(image)]


def rasterise(pdf: bytes, page: int) -> Image.Image:
    document = pypdfium2.PdfDocument(pdf)
    return document[page].render(scale=DPI / 72).to_pil().convert("L")


def crop_card(image: Image.Image, layout: str, index: int) -> Image.Image:
    shape = LAYOUTS[layout]
    x, y = shape.position(index)
    px = DPI / 25.4
    box = (x * px, y * px, (x + shape.card_width) * px, (y + shape.card_height) * px)
    return image.crop(tuple(round(v) for v in box))


def test_login_url_encodes_both_values():
    url = login_url("hotspot.kamau.net", "AB CD", "p&q=1/2")
    assert url.startswith("http://hotspot.kamau.net/login?")
    assert parse_qs(urlsplit(url).query) == {"username": ["AB CD"], "password": ["p&q=1/2"]}
    assert " " not in url and url.count("&") == 1
    assert login_url(DNS, "KB23", "KB23") == f"http://{DNS}/login?username=KB23&password=KB23"


def test_prices_and_validity_read_as_a_customer_expects():
    card = code_cards(1)[0]
    assert price_text(card) == "KES 50"
    assert price_text(Card("x", Decimal("1500.00"), "", "C", None, "")) == "KES 1,500"
    assert price_text(Card("x", Decimal("49.5"), "", "C", None, "")) == "KES 49.50"
    assert validity_text(1, "days") == "1 day"
    assert validity_text(12, "hours") == "12 hours"
    assert validity_text(1, "months") == "1 month"


def test_thirty_seven_cards_on_a4_make_two_pages_whose_qr_codes_decode_to_the_login_urls():
    cards = code_cards(37)
    pdf = render_pdf(cards, "a4-36", OPERATOR)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 2
    width, height = (float(v) * MM_PER_POINT for v in reader.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (210, 297)
    first = reader.pages[0].extract_text()
    assert first.count(OPERATOR) == 36
    assert all(card.code in first for card in cards[:36])
    assert cards[36].code in reader.pages[1].extract_text()

    page = rasterise(pdf, 0)
    assert sorted(decode(page)) == sorted(card.login_url for card in cards[:36])
    for index in (0, 3, 17, 35):  # each QR code sits on its own card
        assert decode(crop_card(page, "a4-36", index)) == [cards[index].login_url]
    assert decode(rasterise(pdf, 1)) == [cards[36].login_url]


def test_user_pass_cards_print_the_password_and_log_in_with_it():
    card = user_pass_card("WK7Q2M", "048213")
    pdf = render_pdf([card], "a4-36", OPERATOR)
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "WK7Q2M" in text and "048213" in text and "KES 300" in text and "7 days" in text
    assert decode(rasterise(pdf, 0)) == [f"http://{DNS}/login?username=WK7Q2M&password=048213"]


@pytest.mark.parametrize(("layout", "width"), [("thermal-58", 58), ("thermal-80", 80)])
def test_thermal_rolls_print_one_card_per_page_of_one_height(layout, width):
    cards = code_cards(3, prefix="TH") + [user_pass_card("UP9X4K", "5521")]
    pdf = render_pdf(cards, layout, OPERATOR)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 4
    sizes = {
        tuple(round(float(v) * MM_PER_POINT) for v in page.mediabox.upper_right)
        for page in reader.pages
    }
    assert sizes == {(width, LAYOUTS[layout].page_height)}
    for number, card in enumerate(cards):
        assert card.code in reader.pages[number].extract_text()
        assert decode(rasterise(pdf, number)) == [card.login_url]


def test_unknown_layouts_and_empty_batches_are_refused():
    with pytest.raises(ValueError, match="Unknown card layout 'a5'"):
        render_pdf(code_cards(1), "a5", OPERATOR)
    with pytest.raises(ValueError, match="Unknown card layout"):
        render_html(code_cards(1), "letter", OPERATOR)
    with pytest.raises(ValueError, match="no vouchers"):
        render_pdf([], "a4-36", OPERATOR)


def test_names_outside_latin_1_do_not_break_the_pdf():
    pdf = render_pdf(code_cards(1), "thermal-58", "Wanjiku’s Wi‑Fi ✓")
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1


# The HTML page: one card per voucher, each with an inline SVG QR code.

SVG = re.compile(r'<svg viewBox="0 0 (\d+) (\d+)"[^>]*>.*?<path[^>]* d="([^"]+)"', re.S)
CARD = re.compile(r'<article class="card" data-code="([^"]+)">(.*?)</article>', re.S)


def draw_svg_path(size: int, path: str, scale: int = 8) -> Image.Image:
    """Rasterise segno's SVG path (moves and horizontal strokes one module wide) with PIL."""
    image = Image.new("L", (size * scale, size * scale), 255)
    pen = ImageDraw.Draw(image)
    x = y = 0.0
    for command, dx, dy in re.findall(r"([MmHh])\s*(-?[\d.]+)(?:[ ,](-?[\d.]+))?", path):
        if command == "M":
            x, y = float(dx), float(dy)
        elif command == "m":
            x, y = x + float(dx), y + float(dy)
        else:
            end = float(dx) if command == "H" else x + float(dx)
            top = (y - 0.5) * scale
            pen.rectangle((x * scale, top, end * scale - 1, top + scale - 1), fill=0)
            x = end
    return image


def test_the_html_page_has_one_card_per_voucher_and_its_qr_codes_decode():
    cards = code_cards(37) + [user_pass_card("WK7Q2M", "048213")]
    page = render_html(cards, "a4-36", OPERATOR)
    found = CARD.findall(page)
    assert [code for code, _ in found] == [card.code for card in cards]
    assert page.count('<section class="page">') == 2
    assert "<script" not in page and "http" not in page.split("<body>")[0]  # no external asset
    assert "@page { size: 210mm 297mm" in page
    for (code, inner), card in zip(found, cards, strict=True):
        assert OPERATOR in inner and card.package in inner and "KES" in inner
        size, _, path = SVG.search(inner).groups()
        assert decode(draw_svg_path(int(size), path)) == [card.login_url], code
    assert "048213" in found[-1][1]


def test_the_html_page_escapes_what_the_operator_typed():
    page = render_html(code_cards(1), "thermal-80", "Joe's <Net> & Co")
    assert "Joe&#x27;s &lt;Net&gt; &amp; Co" in page
    assert "<Net>" not in page
    assert "@page { size: 80mm 100mm" in page


def test_both_renderers_tell_their_progress_card_by_card():
    cards = code_cards(5)
    told: list[int] = []
    render_pdf(cards, "a4-36", OPERATOR, progress=told.append)
    render_html(cards, "thermal-58", OPERATOR, progress=told.append)
    assert told == [1, 2, 3, 4, 5] * 2


def test_the_card_data_loads_without_the_pdf_writer():
    import subprocess
    import sys

    code = "import sys, console.printing; print('fpdf' in sys.modules)"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "False"
