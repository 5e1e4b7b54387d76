"""What Mikhmon (laksa19/mikhmonv3) leaves on a router, read back as plain data for an import.

Mikhmon keeps no database: everything it knows sits on the router in three places.

* **Batch comments.** A generated batch gives every hotspot user the comment
  ``<mode>-<NNN>-<mm.dd.yy>-<note>``: mode ``vc`` (voucher code: user name = password) or ``up``
  (user name and password), NNN a random number 100-999 (not unique: the whole comment names the
  batch, as Mikhmon's own filter does), the generation date as month.day.two-digit year in the
  router's zone, and the operator's note (may be empty, may hold hyphens).
* **Expiry comments.** On a voucher's first login the profile's on-login script adds a scheduler
  with the profile's validity as interval, reads its ``next-run``, writes that instant over the
  user's comment, and removes the scheduler: ``jan/05/2026 14:03:11`` (RouterOS up to 7.9, router
  local time). The batch comment is gone from then on. On 7.10 and later ``next-run`` prints as
  ``2026-01-05 14:03:11`` and the same script writes that; both are read here.
* **Profile on-login script.** It starts with
  ``:put (",<expmode>,<price>,<validity>,<sellprice>,,<lock>,")``: expiry mode (``rem`` remove,
  ``ntf`` notice i.e. ``limit-uptime=1s``, ``remc``/``ntfc`` the same and record the sale as a
  ``/system script``), price, validity (a RouterOS duration such as ``1d``, ``12h``, ``2d12h``),
  selling price, and ``Enable``/``Disable`` for locking the user to the MAC it first used. A
  profile without expiry is written ``:put (",,<price>,,,noexp,<lock>,")``. Mikhmon reads the
  fields by splitting the whole script on commas; so does this module.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from db.shaping import ShapeError, parse_duration_seconds

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


class UserMode(StrEnum):
    """How a Mikhmon voucher logs in."""

    CODE = "vc"
    """Voucher code: the user name is the password too."""
    USER_PASS = "up"
    """A user name and a separate password."""


class ExpiryMode(StrEnum):
    """What Mikhmon's expiry monitor does to a voucher whose time is up."""

    REMOVE = "rem"
    NOTICE = "ntf"
    """Sets limit-uptime=1s: the user stays, cannot log in again."""
    REMOVE_RECORD = "remc"
    NOTICE_RECORD = "ntfc"
    NONE = "0"
    """No expiry: the voucher lasts until its limit-uptime, if any."""

    @property
    def records_sales(self) -> bool:
        """Whether the profile writes each first login as a sale (/system script)."""
        return self in (ExpiryMode.REMOVE_RECORD, ExpiryMode.NOTICE_RECORD)

    @property
    def removes(self) -> bool:
        """Whether an expired voucher is removed from the router (not only stopped)."""
        return self in (ExpiryMode.REMOVE, ExpiryMode.REMOVE_RECORD)


@dataclass(frozen=True)
class BatchComment:
    """A Mikhmon batch, read from the comment its vouchers carry until their first login."""

    name: str
    """The whole comment: Mikhmon's batch identity."""
    mode: UserMode
    number: int
    """The NNN part: random, so not unique on its own."""
    generated: date
    """Generation date (router's zone), from mm.dd.yy."""
    note: str


@dataclass(frozen=True)
class ProfileTerms:
    """The sale terms a Mikhmon profile's on-login script carries."""

    expiry_mode: ExpiryMode
    price: Decimal | None
    """What the voucher costs; None when blank or unreadable (Mikhmon writes 0 for "not set")."""
    validity: int | None
    """Seconds from first login to expiry; None when the profile has no expiry."""
    selling_price: Decimal | None
    """What the reseller sells it for (Mikhmon's "selling price"); None when blank or unreadable."""
    lock_user: bool
    """Whether the user is locked to the MAC address of its first login."""


class VoucherState(StrEnum):
    """Where a Mikhmon voucher stands, in the console's words."""

    UNUSED = "unused"
    IN_USE = "in_use"
    EXPIRED = "expired"
    REVOKED = "revoked"
    """Disabled before anyone used it."""


@dataclass(frozen=True)
class MikhmonVoucher:
    """A hotspot user as Mikhmon left it."""

    name: str
    password: str
    profile: str
    mode: UserMode
    batch: BatchComment | None
    """Known until the first login, when the expiry overwrites the comment."""
    expires: datetime | None
    """From the expiry comment; None before the first login (or if the script wrote none)."""
    uptime: int
    """Seconds used so far."""
    state: VoucherState


_BATCH = re.compile(
    r"(?P<mode>vc|up)-(?P<number>\d+)-(?P<m>\d{2})\.(?P<d>\d{2})\.(?P<y>\d{2})-(?P<note>.*)", re.S
)
_TIME = r"(?P<hh>\d{2}):(?P<mi>\d{2}):(?P<ss>\d{2})"
_EXPIRY = (
    re.compile(rf"(?P<mon>[a-z]{{3}})/(?P<d>\d{{2}})/(?P<y>\d{{4}}) {_TIME}", re.I),
    re.compile(rf"(?P<y>\d{{4}})-(?P<m>\d{{2}})-(?P<d>\d{{2}}) {_TIME}"),
)
_PUT = re.compile(r':put\s*\(\s*"(?P<fields>,[^"]*)"\s*\)')


def parse_batch_comment(comment: str | None) -> BatchComment | None:
    """The batch a ``vc-NNN-mm.dd.yy-note`` / ``up-…`` comment names; None for any other comment.

    >>> parse_batch_comment("vc-482-01.05.26-shop kiosk").generated
    datetime.date(2026, 1, 5)
    """
    found = _BATCH.fullmatch(comment or "")
    if found is None:
        return None
    try:
        generated = date(2000 + int(found["y"]), int(found["m"]), int(found["d"]))
    except ValueError:
        return None
    return BatchComment(
        name=found.string,
        mode=UserMode(found["mode"]),
        number=int(found["number"]),
        generated=generated,
        note=found["note"],
    )


def parse_expiry_comment(comment: str | None, zone: tzinfo) -> datetime | None:
    """The expiry Mikhmon wrote on first login (``jan/05/2026 14:03:11``, or
    ``2026-01-05 14:03:11`` from 7.10), as an aware datetime in `zone` (the router's zone);
    None for a blank comment, a batch comment or anything else."""
    text = (comment or "").strip()
    for pattern in _EXPIRY:
        found = pattern.fullmatch(text)
        if found is not None:
            return _moment(found.groupdict(), zone)
    return None


def parse_on_login(script: str | None) -> ProfileTerms | None:
    """The terms in a profile's on-login script; None when it is not Mikhmon's (no ``:put`` of
    its shape, or an unknown expiry mode)."""
    found = _PUT.search(script or "")
    if found is None:
        return None
    fields = found["fields"].split(",")
    if len(fields) < 8:
        return None
    _, mode, price, validity, selling, marker, lock = fields[:7]
    expiry_mode = _expiry_mode(mode, marker)
    if expiry_mode is None:
        return None
    return ProfileTerms(
        expiry_mode=expiry_mode,
        price=_amount(price),
        validity=None if expiry_mode is ExpiryMode.NONE else _seconds(validity),
        selling_price=_amount(selling),
        lock_user=lock.strip().lower() == "enable",
    )


def read_voucher(row: Mapping[str, str], zone: tzinfo, now: datetime) -> MikhmonVoucher | None:
    """A /ip/hotspot/user row (values as strings) as a Mikhmon voucher; None when neither a batch
    nor an expiry comment marks it as one.

    Expired: the expiry comment is past, or Mikhmon's notice mode stopped it (limit-uptime=1s),
    or it is disabled after use, or its limit-uptime is used up. Revoked: disabled unused.
    In use: logged in before (uptime or an expiry comment) and none of those. Unused: the rest.
    """
    comment = row.get("comment", "")
    batch = parse_batch_comment(comment)
    expires = parse_expiry_comment(comment, zone)
    if batch is None and expires is None:
        return None
    name, password = str(row.get("name", "")), str(row.get("password", ""))
    uptime = _seconds(str(row.get("uptime", "0s"))) or 0
    return MikhmonVoucher(
        name=name,
        password=password,
        profile=str(row.get("profile", "default")),
        mode=batch.mode if batch else user_mode(name, password),
        batch=batch,
        expires=expires,
        uptime=uptime,
        state=_state(row, expires, uptime, now),
    )


def _state(
    row: Mapping[str, str], expires: datetime | None, uptime: int, now: datetime
) -> VoucherState:
    limit = _seconds(str(row.get("limit-uptime", "")))
    disabled = str(row.get("disabled", "false")).lower() in ("true", "yes")
    used = uptime > 0 or expires is not None
    stopped = limit == 1 or (limit is not None and uptime >= limit) or (disabled and used)
    if (expires is not None and expires <= now) or stopped:
        return VoucherState.EXPIRED
    if disabled:
        return VoucherState.REVOKED
    return VoucherState.IN_USE if used else VoucherState.UNUSED


def user_mode(name: str, password: str | None) -> UserMode:
    """Mikhmon's own rule for a user it did not comment: code mode when the password is the name."""
    return UserMode.CODE if str(password or "") == name else UserMode.USER_PASS


def _expiry_mode(mode: str, marker: str) -> ExpiryMode | None:
    """The mode field; a blank one with the ``noexp`` marker (or ``0``) means no expiry."""
    mode = mode.strip().lower()
    if mode == "" and marker.strip() == "noexp":
        return ExpiryMode.NONE
    try:
        return ExpiryMode(mode)
    except ValueError:
        return None


def _amount(text: str) -> Decimal | None:
    text = text.strip()
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and amount >= 0 else None


def _seconds(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    try:
        seconds = parse_duration_seconds(text)
    except ShapeError:
        return None
    return seconds or None


def _moment(parts: dict[str, str], zone: tzinfo) -> datetime | None:
    if parts.get("mon") is not None:
        name = parts["mon"].lower()
        if name not in MONTHS:
            return None
        month = MONTHS.index(name) + 1
    else:
        month = int(parts["m"])
    try:
        return datetime(
            int(parts["y"]),
            month,
            int(parts["d"]),
            int(parts["hh"]),
            int(parts["mi"]),
            int(parts["ss"]),
            tzinfo=zone,
        )
    except ValueError:
        return None
