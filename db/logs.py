"""The LogService: `system_logs` rows for the operator and for audit, mirrored to Python logging.

A log never holds a secret: context keys that name one are masked, and so is any value this process
knows to be a secret (see `db.secrets.remember`), wherever it appears.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from db.models import LOG_TYPES, L, SystemLog
from db.secrets import MASK, mask
from db.types import utcnow
from db.validation import check_values

SECRET_KEY = re.compile(r"pass(word|wd)?|secret|token|api[_-]?key|credential|private", re.I)
LEVELS = {
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
}

logger = logging.getLogger("wisp")

DEFERRED = "wisp.logs.deferred"
"""The session-info key of the log rows written together when a `deferred` block ends."""


def scrub(value: Any) -> Any:
    """A copy of `value` with secrets masked: by key name, and by known secret values."""
    if isinstance(value, dict):
        return {
            str(k): (MASK if SECRET_KEY.search(str(k)) and v not in (None, "") else scrub(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    if isinstance(value, str):
        return mask(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return mask(str(value))


def log(
    session: Session,
    level: str,
    type: str,
    message: str,
    context: dict[str, Any] | None = None,
    *,
    client_id: int | None = None,
    provisioning_id: int | None = None,
) -> None:
    """Add a `system_logs` row to the session's transaction and mirror it to Python logging."""
    if type not in LOG_TYPES:
        raise ValueError(f"log type {type!r} is not one of {', '.join(LOG_TYPES)}")
    level = level.upper()
    values: dict[str, Any] = {
        "level": level,
        "type": type,
        "message": mask(message),
        "context": scrub(context) if context else None,
        "client_id": client_id,
        "provisioning_id": provisioning_id,
    }
    pending = session.info.get(DEFERRED)
    if pending is not None:
        values["created_at"] = utcnow()
        check_values(L, values)
        pending.append(values)
    else:
        session.add(SystemLog(**values))
    logging.getLogger(f"wisp.{type.lower()}").log(
        LEVELS.get(level, logging.INFO), values["message"]
    )


@contextmanager
def deferred(session: Session) -> Iterator[None]:
    """Log rows of the block are inserted together (one statement) when it ends without error.

    For a transaction that writes many: the rows, their order and their texts are those `log`
    would write one by one. A savepoint rolled back inside the block drops its rows with `since`
    and `drop`. An error ending the block writes none (its transaction is rolled back).
    """
    if session.info.get(DEFERRED) is not None:
        yield
        return
    pending: list[dict[str, Any]] = []
    session.info[DEFERRED] = pending
    try:
        yield
    finally:
        session.info.pop(DEFERRED, None)
    if pending:
        session.execute(insert(L), pending)


def since(session: Session) -> int:
    """A mark of the deferred log rows so far, for `drop`."""
    return len(session.info.get(DEFERRED) or ())


def drop(session: Session, mark: int) -> None:
    """Forget the deferred log rows written after `mark` (their savepoint was rolled back)."""
    pending = session.info.get(DEFERRED)
    if pending is not None:
        del pending[mark:]


def info(
    session: Session, type: str, message: str, context: dict[str, Any] | None = None, **ids: Any
) -> None:
    log(session, "INFO", type, message, context, **ids)


def warning(
    session: Session, type: str, message: str, context: dict[str, Any] | None = None, **ids: Any
) -> None:
    log(session, "WARNING", type, message, context, **ids)


def error(
    session: Session, type: str, message: str, context: dict[str, Any] | None = None, **ids: Any
) -> None:
    log(session, "ERROR", type, message, context, **ids)
