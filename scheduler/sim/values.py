"""Value kinds of menu fields: how input is checked and normalised, and how it prints.

Each normaliser takes the text a client sent and returns the text the router stores and
prints, or raises BadValue; the menu engine turns that into the router's trap.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable


class BadValue(ValueError):
    """The value is not acceptable for the field's kind."""


_TRUE = {"yes", "true"}
_FALSE = {"no", "false"}


def boolean(text: str) -> str:
    """Accept yes/no/true/false; RouterOS prints true/false."""
    low = text.lower()
    if low in _TRUE:
        return "true"
    if low in _FALSE:
        return "false"
    raise BadValue(text)


def text(value: str) -> str:
    """Free text, stored as sent."""
    return value


def integer(value: str) -> str:
    """A non-negative decimal integer, printed without leading zeros."""
    if not value.isdigit():
        raise BadValue(value)
    return str(int(value))


_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION_PART = re.compile(r"(\d+)(ms|w|d|h|m|s)")
_CLOCK = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(\d+):(\d{1,2}):(\d{1,2})$")


def parse_duration(value: str) -> float:
    """Seconds in a RouterOS duration: 1w2d3h4m5s, 500ms, 00:25:00, 1d00:00:00, or bare seconds."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    clock = _CLOCK.match(value)
    if clock:
        w, d, h, m, s = (int(x or 0) for x in clock.groups())
        return w * 604800 + d * 86400 + h * 3600 + m * 60 + s
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(value):
        if match.start() != pos:
            raise BadValue(value)
        number, unit = int(match.group(1)), match.group(2)
        total += number / 1000 if unit == "ms" else number * _UNITS[unit]
        pos = match.end()
    if pos != len(value) or not value:
        raise BadValue(value)
    return total


def format_duration(seconds: float) -> str:
    """Print seconds the way RouterOS does: 4w2d, 7h17m52s, 0s."""
    whole = int(seconds)
    millis = int(round((seconds - whole) * 1000))
    parts = []
    for unit, size in _UNITS.items():
        count, whole = divmod(whole, size)
        if count:
            parts.append(f"{count}{unit}")
    if millis:
        parts.append(f"{millis}ms")
    return "".join(parts) or "0s"


def duration(value: str) -> str:
    """Normalise a duration on store (30d prints as 4w2d)."""
    return format_duration(parse_duration(value))


def duration_or_none(value: str) -> str:
    """A duration that may also be `none` (no timeout)."""
    return "none" if value == "none" else duration(value)


def ip_address(value: str) -> str:
    """A single IPv4 or IPv6 address."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError as exc:
        raise BadValue(value) from exc


def ip_or_pool(value: str) -> str:
    """An address or the name of an address pool (PPP profiles accept both)."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        if not value or not re.fullmatch(r"[\w.-]+", value):
            raise BadValue(value) from None
        return value


def ip_interface(value: str) -> str:
    """An address with prefix length as /ip/address takes it: 192.168.88.1/24."""
    try:
        return ipaddress.ip_interface(value).with_prefixlen
    except ValueError as exc:
        raise BadValue(value) from exc


def mac_address(value: str) -> str:
    """A MAC address, printed upper case with colons."""
    digits = re.sub(r"[:-]", "", value)
    if not re.fullmatch(r"[0-9A-Fa-f]{12}", digits):
        raise BadValue(value)
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2)).upper()


def one_of(*choices: str) -> Callable[[str], str]:
    """An enumeration."""

    def check(value: str) -> str:
        if value not in choices:
            raise BadValue(value)
        return value

    return check


def byte_count(value: str, suffixes: bool = False) -> str:
    """Bytes as a decimal integer; with suffixes, 5G/500M/64k are expanded (1024-based)."""
    if suffixes and value[-1:] in ("k", "K", "M", "G"):
        scale = {"k": 1024, "K": 1024, "M": 1024**2, "G": 1024**3}[value[-1]]
        return str(int(integer(value[:-1])) * scale)
    return integer(value)
