"""One check of every value before it reaches the database, whichever command or screen wrote it.

PostgreSQL and MariaDB refuse an over-length string or an out-of-range number with a DataError whose
text carries the statement's parameters (password ciphertext included); SQLite stores it silently.
Both are wrong for an operator. Every ORM flush is checked here first against the schema itself
(string lengths, numeric precision, integer width) and for characters that break a table or forge
a log line, and a bad value becomes one `InvalidValue` sentence naming the field.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Integer, Numeric, String, event
from sqlalchemy.orm import Session

from db.errors import UserError

LABELS = {
    ("routers", "name"): "router name",
    ("routers", "host"): "router host",
    ("routers", "username"): "router API user",
    ("routers", "password_env"): "--password-env variable name",
    ("routers", "tls_fingerprint"): "TLS fingerprint",
    ("packages", "name"): "package name",
    ("packages", "price"): "package price",
    ("packages", "router_profile"): "profile name",
    ("packages", "rate_limit"): "rate limit",
    ("clients", "full_name"): "client name",
    ("clients", "username"): "client username",
    ("clients", "phone"): "phone number",
    ("clients", "email"): "email address",
    ("clients", "credit"): "client credit",
    ("payments", "amount"): "payment amount",
    ("payments", "method"): "payment method",
    ("payments", "reference"): "payment reference",
}
"""How a column is named to a person; others are named '<table> <column>'."""

INTEGER_BITS = {BigInteger: 63, Integer: 31}


class InvalidValue(UserError):
    """A value that does not fit the schema, told in one sentence."""


def label(table: str, column: str) -> str:
    return LABELS.get((table, column), f"{table.rstrip('s')} {column.replace('_', ' ')}")


def check_value(table: str, column: str, kind: Any, value: Any) -> None:
    """Raise InvalidValue when `value` does not fit a column of type `kind`."""
    if value is None:
        return
    name = label(table, column)
    length = getattr(kind, "length", None)
    if _is_string(kind) and isinstance(value, str) and length is not None:
        # Only bounded strings: names, hosts, references. Text columns hold free text and errors.
        if len(value) > length:
            raise InvalidValue(f"the {name} is {len(value)} characters long; at most {length} fit.")
        if not value.isprintable():
            raise InvalidValue(
                f"the {name} {value!r} holds a line break or another control character."
            )
    elif isinstance(kind, Numeric) and isinstance(value, Decimal | float | int):
        if isinstance(value, Decimal | float) and not math.isfinite(value):
            raise InvalidValue(f"the {name} must be a number, not {value}.")
        digits = (kind.precision or 12) - (kind.scale or 0)
        if abs(value) >= 10**digits:
            raise InvalidValue(
                f"the {name} {value} is too large (it must be below {10**digits:,})."
            )
    elif type(kind) in INTEGER_BITS and isinstance(value, int):
        bits = INTEGER_BITS[type(kind)]
        if not -(2**bits) <= value < 2**bits:
            raise InvalidValue(f"the {name} {value} is out of range (at most {2**bits - 1:,}).")


def _is_string(kind: Any) -> bool:
    # SQLModel's AutoString decorates a String rather than being one.
    return isinstance(kind, String) or isinstance(getattr(kind, "impl", None), String)


def _can_fail(kind: Any) -> bool:
    """Whether `check_value` can refuse some value of a column of type `kind`."""
    return (
        (_is_string(kind) and getattr(kind, "length", None) is not None)
        or isinstance(kind, Numeric)
        or type(kind) in INTEGER_BITS
    )


_CHECKED: dict[Any, list[tuple[str, str, Any]]] = {}
"""Per table: (attribute key, column name, type) of the columns a value can fail, worked out once."""


def _checked_columns(table: Any) -> list[tuple[str, str, Any]]:
    columns = _CHECKED.get(table)
    if columns is None:
        columns = _CHECKED[table] = [
            (column.key, column.name, column.type)
            for column in table.columns
            if _can_fail(column.type)
        ]
    return columns


def check_row(row: Any) -> None:
    """Check every column value of an ORM object against its table."""
    table = getattr(row, "__table__", None)
    if table is None:
        return
    name = table.name
    for key, column, kind in _checked_columns(table):
        value = getattr(row, key, None)
        if value is not None:
            check_value(name, column, kind, value)


def check_values(table: Any, values: dict[str, Any]) -> None:
    """Check the column values of a row written without the ORM (keyed by column key)."""
    for key, column, kind in _checked_columns(table):
        value = values.get(key)
        if value is not None:
            check_value(table.name, column, kind, value)


@event.listens_for(Session, "before_flush")
def _check_flush(session: Session, _context: Any, _instances: Any) -> None:
    for row in (*session.new, *session.dirty):
        check_row(row)
