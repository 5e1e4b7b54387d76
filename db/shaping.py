"""Package rules: traffic shaping, RouterOS rate-limit strings, profile names, validity and units.

Pure functions, standard library only. Every refusal is a :class:`ShapeError` whose message is one
sentence naming the field and the problem, so it can be shown to the operator as is.

Directions
    RouterOS writes rate limits from the router's point of view: ``rx`` is what the router receives
    from the client (the client's **upload**), ``tx`` is what it sends (the client's **download**).
    :class:`Shape` uses the client's words (``upload_*`` / ``download_*``); only the rate-limit string
    uses the router's order, always ``upload/download``.

Units
    * Rates are bits per second with decimal multiples, as RouterOS reads them: ``k`` = 1,000,
      ``M`` = 1,000,000, ``G`` = 1,000,000,000 (suffixes are case-insensitive; plain digits are bits/s).
    * Durations inside a rate limit are whole seconds. RouterOS prints the burst time of a rate limit
      back exactly as it was written, and its own examples write plain seconds, so
      :func:`build_rate_limit` writes ``10/10``; :func:`parse_duration_seconds` also reads ``10s``,
      ``1m``, ``1h30m`` and ``00:01:30``.
    * Data limits (``limit-bytes-total`` and friends) are bytes. RouterOS stores them as plain
      integers and its console reads ``k``/``M``/``G``/``T`` there as binary multiples (1k = 1024),
      so :func:`parse_bytes` and :func:`format_bytes` do the same; send the integer to the router.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "DURATION_UNITS",
    "Shape",
    "ShapeError",
    "add_validity",
    "build_rate_limit",
    "format_bytes",
    "format_rate",
    "format_validity",
    "parse_bytes",
    "parse_duration_seconds",
    "parse_rate",
    "parse_rate_limit",
    "parse_validity",
    "router_profile_name",
    "same_shape",
    "validate_shape",
]


class ShapeError(ValueError):
    """A shaping, validity or unit value that RouterOS would not honour or that cannot be read."""


# --------------------------------------------------------------------------------------------
# Rates (bits per second, decimal multiples)
# --------------------------------------------------------------------------------------------

_RATE_MULTIPLIERS = {"": 1, "k": 1_000, "m": 1_000_000, "g": 1_000_000_000}
_RATE_SUFFIXES = (("G", 1_000_000_000), ("M", 1_000_000), ("k", 1_000))
_NUMBER_WITH_SUFFIX = re.compile(r"(\d+(?:\.\d+)?)([A-Za-z]?)")


def _scaled_integer(text: str, multipliers: dict[str, int], what: str) -> int:
    """Read ``<number>[suffix]`` exactly; refuse fractions of the base unit and unknown suffixes."""
    match = _NUMBER_WITH_SUFFIX.fullmatch(text.strip())
    if match is None or match.group(2).lower() not in multipliers:
        suffixes = ", ".join(key.upper() if key != "k" else key for key in multipliers if key)
        raise ShapeError(f"{what} {text!r} is not a number with an optional {suffixes} suffix")
    try:
        value = Decimal(match.group(1)) * multipliers[match.group(2).lower()]
    except InvalidOperation as exc:  # pragma: no cover - the regex only lets digits through
        raise ShapeError(f"{what} {text!r} is not a number") from exc
    if value != value.to_integral_value():
        raise ShapeError(f"{what} {text!r} is not a whole number of base units")
    return int(value)


def _parse_rate_allowing_zero(text: str, what: str = "rate") -> int:
    """Read a rate in bits/s where ``0`` is allowed (RouterOS uses 0 for "not set")."""
    return _scaled_integer(text, _RATE_MULTIPLIERS, what)


def parse_rate(text: str) -> int:
    """Return the bits per second of a RouterOS rate such as ``512k``, ``10M``, ``1.5M`` or ``64000``.

    Suffixes are decimal (k = 1000) and case-insensitive; plain digits are bits/s. Zero, negative,
    fractional-bit and malformed values raise :class:`ShapeError` naming the text.
    """
    if not isinstance(text, str):
        raise ShapeError(f"rate {text!r} must be text such as '10M'")
    bps = _parse_rate_allowing_zero(text)
    if bps <= 0:
        raise ShapeError(f"rate {text!r} must be above 0")
    return bps


def format_rate(bps: int) -> str:
    """Return the shortest exact RouterOS form of a rate: 10000000 -> ``10M``, 1500000 -> ``1500k``.

    ``0`` formats as ``0`` (RouterOS's "not set" inside rate-limit strings); negatives are refused.
    """
    if isinstance(bps, bool) or not isinstance(bps, int) or bps < 0:
        raise ShapeError(f"rate {bps!r} must be a whole number of bits per second, 0 or more")
    for suffix, multiplier in _RATE_SUFFIXES:
        if bps and bps % multiplier == 0:
            return f"{bps // multiplier}{suffix}"
    return str(bps)


# --------------------------------------------------------------------------------------------
# Durations (seconds)
# --------------------------------------------------------------------------------------------

_TIME_UNITS = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
_TIME_PARTS = re.compile(r"(\d+)([wdhms])")
_CLOCK = re.compile(r"(\d+):([0-5]\d):([0-5]\d)")


def parse_duration_seconds(text: str | int) -> int:
    """Return whole seconds from RouterOS time text: ``10``, ``10s``, ``1m``, ``1h30m``, ``00:01:30``.

    Plain digits are seconds. ``0`` is allowed (RouterOS's "not set"); negative, fractional and
    malformed values raise :class:`ShapeError` naming the text.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise ShapeError(f"duration {text!r} must be 0 seconds or more")
        return text
    if not isinstance(text, str):
        raise ShapeError(f"duration {text!r} must be text such as '10s'")
    raw = text.strip().lower()
    if raw.isdigit():
        return int(raw)
    clock = _CLOCK.fullmatch(raw)
    if clock:
        hours, minutes, seconds = (int(part) for part in clock.groups())
        return hours * 3_600 + minutes * 60 + seconds
    return _sum_time_parts(raw, text)


def _sum_time_parts(raw: str, original: str) -> int:
    """Add up ``1w2d3h4m5s``-style parts, each unit at most once and in descending order."""
    parts = _TIME_PARTS.findall(raw)
    units = [unit for _, unit in parts]
    order = list(_TIME_UNITS)
    if (
        not parts
        or "".join(number + unit for number, unit in parts) != raw
        or units != sorted(set(units), key=order.index)
    ):
        raise ShapeError(f"duration {original!r} is not a time such as 10, 10s, 1m or 1h30m")
    return sum(int(number) * _TIME_UNITS[unit] for number, unit in parts)


# --------------------------------------------------------------------------------------------
# Shape and its validation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """Everything that shapes a package's traffic, in the client's directions.

    ``upload_*`` is RouterOS ``rx`` (router receives from the client), ``download_*`` is ``tx``.
    Rates are bits/s, burst times whole seconds. A direction has a burst when its burst rate,
    threshold and time are all set; ``priority`` and the minimum rates only matter for round-tripping
    router strings (RouterOS defaults: priority 8, minimum = rate).
    """

    upload_bps: int
    download_bps: int
    burst_upload_bps: int | None = None
    burst_download_bps: int | None = None
    threshold_upload_bps: int | None = None
    threshold_download_bps: int | None = None
    burst_time_upload_s: int | None = None
    burst_time_download_s: int | None = None
    priority: int | None = None
    min_upload_bps: int | None = None
    min_download_bps: int | None = None

    @property
    def burst_enabled(self) -> bool:
        """True when at least one direction has a complete burst (rate, threshold and time)."""
        return _has_burst(self, "upload") or _has_burst(self, "download")


_BURST_PARTS = (
    ("burst_{}_bps", "burst rate"),
    ("threshold_{}_bps", "burst threshold"),
    ("burst_time_{}_s", "burst time"),
)


def _has_burst(shape: Shape, direction: str) -> bool:
    """True when every burst part of ``direction`` is set."""
    return all(getattr(shape, attr.format(direction)) is not None for attr, _ in _BURST_PARTS)


def _check_whole(value: object, field: str) -> None:
    """Refuse anything but a plain int (bools and floats included)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ShapeError(f"{field} must be a whole number, got {value!r}")


def _check_positive(value: int, field: str, unit: str = "rate") -> None:
    """Refuse a missing type or a value of 0 or less."""
    _check_whole(value, field)
    if value <= 0:
        shown = format_rate(value) if unit == "rate" and value >= 0 else str(value)
        raise ShapeError(f"{field} must be above 0, got {shown}")


def _validate_rate(shape: Shape, direction: str) -> int:
    """Check the plain rate of one direction and return it."""
    rate = getattr(shape, f"{direction}_bps")
    _check_positive(rate, f"{direction} rate")
    return rate


def _validate_burst(shape: Shape, direction: str, rate: int) -> None:
    """Check that one direction's burst is complete and that threshold < rate < burst rate."""
    values = {label: getattr(shape, attr.format(direction)) for attr, label in _BURST_PARTS}
    missing = [label for label, value in values.items() if value is None]
    if len(missing) == len(values):
        return
    if missing:
        raise ShapeError(
            f"{direction} burst needs a burst rate, a burst threshold and a burst time together, "
            f"missing: {', '.join(missing)}"
        )
    burst, threshold, seconds = values.values()
    _check_positive(burst, f"{direction} burst rate")
    _check_positive(threshold, f"{direction} burst threshold")
    _check_positive(seconds, f"{direction} burst time", unit="seconds")
    if burst <= rate:
        raise ShapeError(
            f"{direction} burst rate {format_rate(burst)} must be above the {direction} rate "
            f"{format_rate(rate)}"
        )
    if threshold >= rate:
        raise ShapeError(
            f"{direction} burst threshold {format_rate(threshold)} must be below the {direction} "
            f"rate {format_rate(rate)}"
        )


def _validate_priority_and_min(shape: Shape, rates: dict[str, int]) -> None:
    """Check priority 1..8 and that the minimum rates are paired, positive and <= the rates."""
    if shape.priority is not None:
        _check_whole(shape.priority, "priority")
        if not 1 <= shape.priority <= 8:
            raise ShapeError(f"priority must be between 1 and 8, got {shape.priority}")
    mins = {d: getattr(shape, f"min_{d}_bps") for d in ("upload", "download")}
    if all(value is None for value in mins.values()):
        return
    for direction, value in mins.items():
        if value is None:
            raise ShapeError(
                f"min {direction} rate must be set together with the other direction's min rate"
            )
        _check_positive(value, f"min {direction} rate")
        if value > rates[direction]:
            raise ShapeError(
                f"min {direction} rate {format_rate(value)} must not exceed the {direction} rate "
                f"{format_rate(rates[direction])}"
            )
    if shape.priority is None:
        raise ShapeError(
            "priority must be set when min rates are set, because RouterOS reads the min rates "
            "after the priority"
        )


def validate_shape(shape: Shape) -> None:
    """Raise :class:`ShapeError` for a shape RouterOS would not honour; return None otherwise.

    Rules: rates above 0; per direction, burst rate, threshold and time come together, with
    0 < threshold < rate < burst rate and burst time above 0; min rates come in pairs, above 0, at
    most the rate, and need a priority; priority is 1..8.
    """
    if not isinstance(shape, Shape):
        raise ShapeError(f"shape must be a Shape, got {type(shape).__name__}")
    rates = {d: _validate_rate(shape, d) for d in ("upload", "download")}
    for direction, rate in rates.items():
        _validate_burst(shape, direction, rate)
    _validate_priority_and_min(shape, rates)


# --------------------------------------------------------------------------------------------
# Rate-limit strings
# --------------------------------------------------------------------------------------------


def _pair(upload: int | None, download: int | None, formatter=format_rate) -> str:
    """Write ``upload/download`` with 0 for an unset side."""
    return f"{formatter(upload or 0)}/{formatter(download or 0)}"


def build_rate_limit(shape: Shape) -> str:
    """Return the RouterOS rate-limit string (``rx/tx`` = upload/download) for a valid shape.

    ``5M/10M``; with burst ``5M/10M 10M/20M 4M/8M 10/10``; a direction without burst writes ``0``
    parts; priority and min rates follow when set. Trailing unset parts are omitted, pairs are always
    written in full, burst times in plain seconds. Validates first.
    """
    validate_shape(shape)
    parts = [_pair(shape.upload_bps, shape.download_bps)]
    has_tail = shape.priority is not None
    if shape.burst_enabled or has_tail:
        parts.append(_pair(shape.burst_upload_bps, shape.burst_download_bps))
        parts.append(_pair(shape.threshold_upload_bps, shape.threshold_download_bps))
        parts.append(_pair(shape.burst_time_upload_s, shape.burst_time_download_s, str))
    if has_tail:
        parts.append(str(shape.priority))
    if shape.min_upload_bps is not None:
        parts.append(_pair(shape.min_upload_bps, shape.min_download_bps))
    return " ".join(parts)


_RATE_LIMIT_FIELDS = ("rate", "burst rate", "burst threshold", "burst time", "priority", "min rate")


def _split_pair(token: str, field: str) -> tuple[str, str]:
    """Split ``rx[/tx]``; a lone value applies to both directions, as RouterOS reads it."""
    halves = token.split("/")
    if len(halves) == 1:
        return halves[0], halves[0]
    if len(halves) == 2 and all(halves):
        return halves[0], halves[1]
    raise ShapeError(f"rate limit {field} {token!r} must be one value or two values joined by '/'")


def _read_pair(token: str | None, field: str, reader) -> tuple[int | None, int | None]:
    """Read an ``upload/download`` token with ``reader``; a missing token reads as (None, None)."""
    if token is None:
        return None, None
    upload, download = _split_pair(token, field)
    return reader(upload, f"rate limit {field}"), reader(download, f"rate limit {field}")


def _read_seconds(text: str, what: str) -> int:
    """Read a burst time, naming the field on failure."""
    try:
        return parse_duration_seconds(text)
    except ShapeError as exc:
        raise ShapeError(f"{what} {text!r} is not a time such as 10 or 10s") from exc


def _read_priority(token: str | None) -> int | None:
    """Read the priority token (digits only)."""
    if token is None:
        return None
    if not token.isdigit():
        raise ShapeError(f"rate limit priority {token!r} must be a whole number from 1 to 8")
    return int(token)


def _burst_for(
    direction: str, burst: int | None, threshold: int | None, seconds: int | None, rate: int
) -> dict[str, int | None]:
    """Turn one direction's raw burst numbers into Shape fields, applying RouterOS defaults.

    A burst rate of 0 or absent means no burst (then threshold and time must be 0 or absent too);
    an absent threshold means RouterOS uses the rate, which a package cannot hold; an absent burst
    time means RouterOS's default of 1 second.
    """
    keys = (f"burst_{direction}_bps", f"threshold_{direction}_bps", f"burst_time_{direction}_s")
    if not burst:
        for label, value in (("burst threshold", threshold), ("burst time", seconds)):
            if value:
                raise ShapeError(f"{direction} {label} is set without the {direction} burst rate")
        return dict.fromkeys(keys)
    if not threshold:
        raise ShapeError(
            f"{direction} burst threshold is missing, so RouterOS would use the {direction} rate "
            f"{format_rate(rate)} as threshold, which a package cannot hold (threshold must be "
            "below the rate)"
        )
    if seconds == 0:
        raise ShapeError(f"{direction} burst time is 0 while a {direction} burst rate is set")
    return dict(zip(keys, (burst, threshold, 1 if seconds is None else seconds), strict=True))


def _read_min(token: str | None) -> tuple[int | None, int | None]:
    """Read the min-rate pair; a 0 minimum (no guarantee) is not a value a package can hold."""
    upload, download = _read_pair(token, "min rate", _parse_rate_allowing_zero)
    for direction, value in (("upload", upload), ("download", download)):
        if value == 0:
            raise ShapeError(f"min {direction} rate 0 cannot be represented, omit the min rates")
    return upload, download


def parse_rate_limit(text: str) -> Shape:
    """Read a RouterOS rate-limit string into a validated :class:`Shape`.

    Accepts every string :func:`build_rate_limit` writes and router-export forms such as ``2M/2M``,
    ``512k/1M``, ``1M`` (rx only = both directions), ``10M/10M 20M/20M 8M/8M 16/16`` and
    ``10M/10M 0/0 0/0 0/0 8 1M/1M``; runs of spaces are collapsed. Zero burst parts mean no burst;
    a missing burst time means RouterOS's 1 second. Anything a Shape cannot hold exactly (no
    limit, junk, a burst without a threshold, a threshold outside the rate, ...) raises
    :class:`ShapeError` with the reason.
    """
    if not isinstance(text, str):
        raise ShapeError(f"rate limit {text!r} must be text such as '5M/10M'")
    tokens: list[str | None] = list(text.split())
    if not tokens:
        raise ShapeError(
            "rate limit is empty, which RouterOS reads as unlimited and a package cannot hold"
        )
    if len(tokens) > len(_RATE_LIMIT_FIELDS):
        raise ShapeError(f"rate limit {text!r} has {len(tokens)} parts, at most 6 are allowed")
    tokens += [None] * (len(_RATE_LIMIT_FIELDS) - len(tokens))
    rates = _read_rates(tokens[0])
    bursts = _read_pair(tokens[1], "burst rate", _parse_rate_allowing_zero)
    thresholds = _read_pair(tokens[2], "burst threshold", _parse_rate_allowing_zero)
    times = _read_pair(tokens[3], "burst time", _read_seconds)
    values: dict[str, Any] = {f"{direction}_bps": rate for direction, rate in rates.items()}
    for index, (direction, rate) in enumerate(rates.items()):
        values |= _burst_for(direction, bursts[index], thresholds[index], times[index], rate)
    values["priority"] = _read_priority(tokens[4])
    values["min_upload_bps"], values["min_download_bps"] = _read_min(tokens[5])
    shape = Shape(**values)
    validate_shape(shape)
    return shape


def same_shape(wanted: Shape, text: str) -> bool:
    """True when a router's rate-limit string shapes traffic exactly as `wanted` does.

    Compared as parsed shapes, not strings: `10s` and `10` are one burst time, and RouterOS's own
    defaults (priority 8, minimum rates equal to the rates) mean the same as leaving them out.
    """
    try:
        found = parse_rate_limit(text)
    except ShapeError:
        return False
    return _plain(found) == _plain(wanted)


def _plain(shape: Shape) -> Shape:
    mins = (shape.min_upload_bps, shape.min_download_bps)
    default_mins = mins in ((None, None), (shape.upload_bps, shape.download_bps))
    return replace(
        shape,
        priority=None if shape.priority in (None, 8) and default_mins else shape.priority,
        min_upload_bps=None if default_mins else shape.min_upload_bps,
        min_download_bps=None if default_mins else shape.min_download_bps,
    )


def _read_rates(token: str | None) -> dict[str, int]:
    """Read the leading ``rx/tx`` rate pair; 0 (unlimited) is not something a package can hold."""
    upload, download = _read_pair(token, "rate", _parse_rate_allowing_zero)
    rates: dict[str, int] = {}
    for direction, rate in (("upload", upload), ("download", download)):
        if not rate:
            raise ShapeError(
                f"{direction} rate is 0, which RouterOS reads as unlimited and a package cannot hold"
            )
        rates[direction] = rate
    return rates


# --------------------------------------------------------------------------------------------
# Router profile names
# --------------------------------------------------------------------------------------------

_SERVICE_TYPES = {"hotspot": "HOTSPOT", "pppoe": "PPPOE"}
_ACCOUNT_TYPES = {"personal": "PERSONAL", "business": "BUSINESS"}


def _name_rate(bps: int) -> str:
    """Rate token for names: the RouterOS form in upper case (``512K``, ``10M``)."""
    return format_rate(bps).upper()


def _burst_token(shape: Shape, direction: str) -> str:
    """``B<burst>-<threshold>-<seconds>S`` for a direction with burst, ``B0`` without."""
    if not _has_burst(shape, direction):
        return "B0"
    burst = getattr(shape, f"burst_{direction}_bps")
    threshold = getattr(shape, f"threshold_{direction}_bps")
    seconds = getattr(shape, f"burst_time_{direction}_s")
    return f"B{_name_rate(burst)}-{_name_rate(threshold)}-{seconds}S"


def _directional(download: str, upload: str, absent: str | None = None) -> list[str]:
    """Download token, plus ``<upload>UP`` when the upload differs; nothing when both are absent."""
    if download == upload:
        return [] if download == absent else [download]
    return [download, f"{upload}UP"]


def _shaping_tokens(shape: Shape) -> list[str]:
    """The ordered name tokens derived from a valid shape."""
    tokens = _directional(_name_rate(shape.download_bps), _name_rate(shape.upload_bps))
    tokens += _directional(_burst_token(shape, "download"), _burst_token(shape, "upload"), "B0")
    if shape.priority is not None:
        tokens.append(f"P{shape.priority}")
    if shape.min_download_bps is not None and shape.min_upload_bps is not None:
        tokens += _directional(
            f"MIN{_name_rate(shape.min_download_bps)}", f"MIN{_name_rate(shape.min_upload_bps)}"
        )
    return tokens


def _lookup(table: dict[str, str], value: object, field: str) -> str:
    """Map a service or account type to its name token, refusing unknown values."""
    key = value.strip().lower() if isinstance(value, str) else value
    if key not in table:
        raise ShapeError(f"{field} {value!r} must be one of: {', '.join(table)}")
    return table[key]


def router_profile_name(
    *, service_type: str, account_type: str, shape: Shape, shared_users: int | None = None
) -> str:
    """Return the RouterOS profile name for a package; equal names mean identical router profiles.

    Scheme: ``<SERVICE>_<rates>[_<burst>][_P<priority>][_<min rates>]_<ACCOUNT>[_<n>DEV]``.
    Each directional part is written for the download, followed by the upload with an ``UP``
    suffix only when it differs: ``10M`` (symmetric), ``10M_5MUP`` (10M down, 5M up). A burst is
    ``B<burst>-<threshold>-<seconds>S`` and ``B0`` marks a direction without one, min rates are
    ``MIN<rate>``. ``<n>DEV`` is the hotspot shared-users limit (PPP profiles have none, so it is
    not part of PPPoE names). Examples: ``HOTSPOT_10M_PERSONAL``,
    ``HOTSPOT_10M_5MUP_B20M-8M-10S_B10M-4M-10SUP_PERSONAL_3DEV``, ``PPPOE_2M_512KUP_BUSINESS``.
    The shape is validated first; names use only ``A-Z 0-9 _ -``.
    """
    service = _lookup(_SERVICE_TYPES, service_type, "service type")
    account = _lookup(_ACCOUNT_TYPES, account_type, "account type")
    validate_shape(shape)
    tokens = [service, *_shaping_tokens(shape), account]
    if shared_users is not None and service == "HOTSPOT":
        _check_whole(shared_users, "shared users")
        if shared_users < 1:
            raise ShapeError(f"shared users must be 1 or more, got {shared_users}")
        tokens.append(f"{shared_users}DEV")
    return "_".join(tokens)


# --------------------------------------------------------------------------------------------
# Validity
# --------------------------------------------------------------------------------------------

DURATION_UNITS = ("minutes", "hours", "days", "months")

_VALIDITY_UNITS = {
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), ("minutes", 1)),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), ("hours", 1)),
    **dict.fromkeys(("d", "day", "days"), ("days", 1)),
    **dict.fromkeys(("w", "wk", "week", "weeks"), ("days", 7)),
    **dict.fromkeys(("mo", "mon", "month", "months"), ("months", 1)),
}
_VALIDITY = re.compile(r"(-?\d+)\s*([A-Za-z]+)")


def parse_validity(text: str) -> tuple[int, str]:
    """Return ``(length, unit)`` from ``30d``, ``12h``, ``45m``, ``1mo``, ``3months`` or ``2 weeks``.

    ``m`` is minutes (as in RouterOS times) and ``mo`` months; a bare upper-case ``M`` is refused as
    ambiguous. Weeks become days. The unit is one of :data:`DURATION_UNITS`.
    """
    if not isinstance(text, str):
        raise ShapeError(f"validity {text!r} must be text such as '30d'")
    match = _VALIDITY.fullmatch(text.strip())
    if match is None:
        raise ShapeError(f"validity {text!r} is not a length with a unit, such as 30d or 1mo")
    number, unit_text = match.groups()
    if unit_text == "M":
        raise ShapeError(f"validity {text!r} is ambiguous, write m for minutes or mo for months")
    if unit_text.lower() not in _VALIDITY_UNITS:
        raise ShapeError(
            f"validity {text!r} has unknown unit {unit_text!r}; use m (minutes), h (hours), "
            "d (days), w (weeks) or mo (months)"
        )
    unit, factor = _VALIDITY_UNITS[unit_text.lower()]
    length = int(number) * factor
    if length <= 0:
        raise ShapeError(f"validity {text!r} must be longer than 0")
    _check_validity(length, unit)
    return length, unit


def _check_validity(length: int, unit: str) -> None:
    """Refuse a non-positive length or a unit outside :data:`DURATION_UNITS`."""
    _check_whole(length, "validity length")
    if length <= 0:
        raise ShapeError(f"validity length must be above 0, got {length}")
    if unit not in DURATION_UNITS:
        raise ShapeError(f"validity unit {unit!r} must be one of: {', '.join(DURATION_UNITS)}")
    if length * _DAYS_PER_UNIT[unit] > MAX_VALIDITY_DAYS:
        raise ShapeError(
            f"validity {length} {unit} is longer than {MAX_VALIDITY_DAYS // 366} years, "
            "the longest a package may last"
        )


MAX_VALIDITY_DAYS = 3660
"""Ten years: a longer validity is a typing mistake, and would overflow a date."""
_DAYS_PER_UNIT = {"minutes": 1 / 1440, "hours": 1 / 24, "days": 1, "months": 30.5}


def format_validity(length: int, unit: str) -> str:
    """Return ``30 days``, ``1 month``, ``12 hours``: the length and the unit, singular for 1."""
    _check_validity(length, unit)
    return f"{length} {unit[:-1] if length == 1 else unit}"


def _add_months(moment: datetime, months: int) -> datetime:
    """Add calendar months, clamping the day to the end of a shorter month (Jan 31 + 1 = Feb 28/29)."""
    index = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def add_validity(start: datetime, length: int, unit: str) -> datetime:
    """Return ``start`` plus the validity, as an aware datetime in ``start``'s time zone.

    The arithmetic happens in UTC: minutes, hours and days are exact elapsed time, months are
    calendar months on the UTC date with end-of-month clamping. A naive ``start`` is refused.
    """
    if not isinstance(start, datetime) or start.utcoffset() is None:
        raise ShapeError(f"validity start {start!r} must be a timezone-aware datetime")
    _check_validity(length, unit)
    utc = start.astimezone(UTC)
    try:
        end = _add_months(utc, length) if unit == "months" else utc + timedelta(**{unit: length})
    except (OverflowError, ValueError) as exc:
        raise ShapeError(
            f"validity of {format_validity(length, unit)} runs past the year 9999"
        ) from exc
    return end.astimezone(start.tzinfo)


# --------------------------------------------------------------------------------------------
# Data limits (bytes, binary multiples)
# --------------------------------------------------------------------------------------------

_BYTE_MULTIPLIERS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_BYTE_SUFFIXES = (("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("k", 1 << 10))


def parse_bytes(text: str) -> int:
    """Return bytes from a data limit such as ``5G``, ``500M``, ``1024k`` or ``123``.

    Suffixes are binary as RouterOS reads byte counts (k = 1024, M = 1024², G = 1024³, T = 1024⁴)
    and case-insensitive; fractions are allowed when exact (``1.5G``). Zero, negative and
    malformed values raise :class:`ShapeError`; leave a data limit empty for "no limit".
    """
    if not isinstance(text, str):
        raise ShapeError(f"data limit {text!r} must be text such as '5G'")
    stripped = text.strip()
    if stripped[-1:].upper() == "B":
        stripped = stripped[:-1]
    value = _scaled_integer(stripped, _BYTE_MULTIPLIERS, "data limit")
    if value <= 0:
        raise ShapeError(f"data limit {text!r} must be above 0")
    return value


def format_bytes(n: int) -> str:
    """Return the shortest exact binary form of a byte count: 5368709120 -> ``5G``, 1536 -> ``1536``.

    Only exact multiples of a power of 1024 take a suffix (k, M, G, T), so the text always reads
    back to the same integer with :func:`parse_bytes`. ``0`` formats as ``0``; negatives are refused.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ShapeError(f"data limit {n!r} must be a whole number of bytes, 0 or more")
    for suffix, multiplier in _BYTE_SUFFIXES:
        if n and n % multiplier == 0:
            return f"{n // multiplier}{suffix}"
    return str(n)
