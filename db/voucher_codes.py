"""Voucher codes and passwords: drawn with `secrets`, over an alphabet a customer cannot misread.

The alphabet is the upper-case letters and the digits less every character that a cheap thermal
print, a smudged card or a hurried reader confuses with another:

* 0/O: both are left out (``Q`` stays: its tail shows);
* 1/I/L: all three are left out;
* 2/Z, 5/S, 8/B: one of each pair goes, the letter, so the digits 2, 5 and 8 stay. Digits sit on
  the first keyboard page of most phones, and a customer who reads ``Z`` for ``2`` finds no
  ``Z`` to type wrongly.

That leaves 28 symbols (``23456789ACDEFGHJKMNPQRTUVWXY``). A code is an optional prefix chosen by
the operator followed by `length` symbols drawn from the alphabet.

How short is too short: a batch is refused when, after it, more than one code in a thousand of
the space (28 ** length) would be in use on the router. Below that share a customer who types a
random code finds a live voucher less than once in a thousand tries, and drawing distinct codes
almost never has to draw twice. Length 4 allows 614 codes, 5 allows 17,210, 6 (the default)
481,890.

Passwords (user-pass mode) are digits only, all ten of them: they are typed on a phone's numeric
keypad, and with no letter in the password there is no letter to mistake a digit for. The user
name, drawn from the alphabet above, carries most of the guessing resistance.
"""

from __future__ import annotations

import re
import secrets
import string

ALPHABET = "23456789ACDEFGHJKMNPQRTUVWXY"
"""Symbols of a code: upper-case letters and digits without 0/O, 1/I/L, Z, S and B."""

PASSWORD_ALPHABET = string.digits
"""Symbols of a user-pass password: the ten digits (typed on a phone's keypad)."""

MIN_LENGTH = 4
MAX_LENGTH = 16
MAX_PREFIX_LENGTH = 8
MAX_SHARE_IN_USE = 1000
"""A batch may bring the codes in use up to 1/MAX_SHARE_IN_USE of the code space, no further."""

_PREFIX = re.compile(r"[A-Za-z0-9]*")


def check_length(length: int) -> int:
    """Return `length` if a code or password may have it (4 to 16 symbols); ValueError if not."""
    if not MIN_LENGTH <= length <= MAX_LENGTH:
        raise ValueError(
            f"A voucher code length must be between {MIN_LENGTH} and {MAX_LENGTH}, not {length}."
        )
    return length


def check_prefix(prefix: str) -> str:
    """Return `prefix` if it may start a RouterOS user name (ASCII letters and digits, at most 8);
    ValueError if not."""
    if not _PREFIX.fullmatch(prefix):
        raise ValueError(
            f"A voucher prefix may hold only the letters A-Z and digits 0-9, not {prefix!r}."
        )
    if len(prefix) > MAX_PREFIX_LENGTH:
        raise ValueError(
            f"A voucher prefix may be at most {MAX_PREFIX_LENGTH} characters, not {len(prefix)}."
        )
    return prefix


def code_space(length: int) -> int:
    """How many codes of `length` symbols (after the prefix) the alphabet makes."""
    return len(ALPHABET) ** length


def max_codes(length: int) -> int:
    """The most codes of one prefix and length that may be in use on a router at once."""
    return code_space(length) // MAX_SHARE_IN_USE


def new_code(length: int, prefix: str = "") -> str:
    """One code: `prefix` then `length` symbols of ALPHABET drawn with `secrets`."""
    check_length(length)
    check_prefix(prefix)
    return prefix + "".join(secrets.choice(ALPHABET) for _ in range(length))


def new_codes(
    count: int, length: int, prefix: str = "", taken: set[str] | None = None
) -> list[str]:
    """`count` distinct codes, none of them in `taken` (the codes already on the router).

    Raises ValueError when the batch would bring the codes in use beyond one in a thousand of
    the code space (see the module's docstring): the length is then too short for the count.
    """
    check_length(length)
    check_prefix(prefix)
    if count < 0:
        raise ValueError(f"A batch cannot hold a negative number of vouchers ({count}).")
    taken = taken or set()
    in_use = sum(1 for code in taken if _same_shape(code, prefix, length))
    if in_use + count > max_codes(length):
        raise ValueError(
            f"{count} codes of {length} symbols are too easy to guess next to the {in_use} in use "
            f"(at most {max_codes(length)} fit); use a longer code length."
        )
    codes: dict[str, None] = {}  # insertion-ordered set: the batch keeps the order drawn
    while len(codes) < count:
        code = new_code(length, prefix)
        if code not in taken:
            codes[code] = None
    return list(codes)


def new_password(length: int) -> str:
    """A user-pass password: `length` digits (4 to 16) drawn with `secrets`."""
    check_length(length)
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(length))


def _same_shape(code: str, prefix: str, length: int) -> bool:
    """Whether `code` could collide with a code drawn for this prefix and length."""
    return len(code) == len(prefix) + length and code.startswith(prefix)
