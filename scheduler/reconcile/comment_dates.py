"""Expiry dates written in router comments by operators and other tools, for an import to propose.

Recognised (case-insensitive), in the operator's time zone:

* the whole comment is a date, as Mikhmon's on-login script writes it: ``jan/05/2026 10:00:00``
  (RouterOS up to 7.9) or ``2026-01-05 10:00:00`` (7.10 and later), the time optional;
* a keyword (``exp``, ``expires``, ``expiry``, ``expire``, ``valid until``, ``until``), an optional
  ``:`` or ``=``, then one of: ``2026-12-31``, ``31/12/2026``, ``31.12.2026``, ``31-12-2026``
  (day first, as written in East Africa) or ``dec/31/2026``; each may be followed by ``HH:MM`` or
  ``HH:MM:SS``. Anything else around it is ignored (``M-Pesa QA1B2C3 exp 2026-12-31 0712...``).

A date without a time means the account is paid through that day: it expires at the start of the
next day. Only these shapes are read; any other date-like text is left alone rather than guessed.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_TIME = r"(?:[ T](?P<hh>\d{1,2}):(?P<mi>\d{2})(?::(?P<ss>\d{2}))?)?"
_ISO = rf"(?P<y>\d{{4}})-(?P<m>\d{{1,2}})-(?P<d>\d{{1,2}}){_TIME}"
_DAY_FIRST = rf"(?P<d>\d{{1,2}})(?P<sep>[/.-])(?P<m>\d{{1,2}})(?P=sep)(?P<y>\d{{4}}){_TIME}"
_ROUTEROS = rf"(?P<mon>{'|'.join(MONTHS)})/(?P<d>\d{{1,2}})/(?P<y>\d{{4}}){_TIME}"
_KEYWORD = r"\b(?:exp(?:ires|iry|ire)?|valid\s+until|until)\b\.?\s*[:=]?\s*"

WHOLE = [re.compile(rf"\s*{shape}\s*", re.I) for shape in (_ROUTEROS, _ISO)]
AFTER_KEYWORD = [
    re.compile(rf"{_KEYWORD}{shape}(?!\d)", re.I) for shape in (_ISO, _DAY_FIRST, _ROUTEROS)
]
FORMATS = (
    "jan/05/2026 10:00:00 (whole comment)",
    "2026-01-05 10:00:00 (whole comment)",
    "exp 2026-12-31",
    "expires 31/12/2026",
    "expiry: 31.12.2026 18:00",
    "valid until dec/31/2026",
)
"""Examples of each recognised shape, for help texts."""


def expiry_from_comment(comment: str | None, zone: tzinfo) -> datetime | None:
    """The expiry a comment states, as an aware datetime in `zone`; None when none is recognised."""
    if not comment:
        return None
    for pattern in WHOLE:
        match = pattern.fullmatch(comment)
        if match:
            return _moment(match, zone)
    for pattern in AFTER_KEYWORD:
        match = pattern.search(comment)
        if match:
            return _moment(match, zone)
    return None


def _moment(match: re.Match[str], zone: tzinfo) -> datetime | None:
    parts = match.groupdict()
    month = MONTHS.index(parts["mon"].lower()) + 1 if parts.get("mon") else int(parts["m"])
    try:
        day = date(int(parts["y"]), month, int(parts["d"]))
        if parts.get("hh") is None:
            return datetime.combine(day + timedelta(days=1), time(0, 0), zone)
        clock = time(int(parts["hh"]), int(parts["mi"]), int(parts["ss"] or 0))
    except ValueError:
        return None  # 31/02/2026 and the like: not a date, so nothing is proposed
    return datetime.combine(day, clock, zone)
