"""Phone numbers in one form, +2547..., however they were typed: 0722 000 111, 722000111,
254722000111 and +254 722 000 111 are one number. Stored so, and searched so.

Numbers without a country code are Kenyan (+254), as M-Pesa's are; one with + or 00 keeps its own.
"""

from __future__ import annotations

import re

from db.errors import UserError

COUNTRY = "254"
"""The country code of numbers typed without one."""
NATIONAL = 9
"""Digits of a number after the country code (722 000 111)."""
SEPARATORS = re.compile(r"[\s\-().]")


class PhoneError(UserError):
    """Not a phone number, told in one sentence."""


def normalise_phone(text: str | None) -> str | None:
    """The number as +<country><number>; None for none. A text that is not one is refused."""
    if text is None or not text.strip():
        return None
    number = _international(SEPARATORS.sub("", text.strip()))
    if number is None:
        raise PhoneError(
            f"phone {text.strip()!r} is not a phone number; write it as 0722000111 or "
            "+254722000111."
        )
    return number


def _international(digits: str) -> str | None:
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if digits.startswith("+"):
        rest = digits[1:]
        if not rest.isdigit():
            return None
        if rest.startswith(COUNTRY):
            return digits if len(rest) == len(COUNTRY) + NATIONAL else None
        return digits if 8 <= len(rest) <= 15 else None
    if not digits.isdigit():
        return None
    if digits.startswith(COUNTRY) and len(digits) == len(COUNTRY) + NATIONAL:
        return "+" + digits
    if digits.startswith("0") and len(digits) == NATIONAL + 1:
        return f"+{COUNTRY}{digits[1:]}"
    if len(digits) == NATIONAL and digits[0] in "17":
        return f"+{COUNTRY}{digits}"
    return None


def phone_fragment(text: str) -> str | None:
    """What a (part of a) phone number typed in a search looks like stored; None if not digits.

    `0722` is `+254722`, `254722` is `+254722`, `722000` is itself (found anywhere in a number).
    """
    digits = SEPARATORS.sub("", text.strip())
    plain = digits.removeprefix("+")
    if len(plain) < 3 or not plain.isdigit():
        return None
    if digits.startswith("+"):
        return digits
    if digits.startswith(COUNTRY):
        return "+" + digits
    if digits.startswith("0") and not digits.startswith("00"):
        return f"+{COUNTRY}{digits[1:]}"
    if len(digits) == NATIONAL and digits[0] in "17":
        return f"+{COUNTRY}{digits}"
    return digits
