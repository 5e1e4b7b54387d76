"""The LogService: `system_logs` rows for the operator and for audit, mirrored to Python logging.

A log never holds a secret: context keys that name one are masked, and so is any value this process
knows to be a secret (see `db.secrets.remember`), wherever it appears.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from sqlmodel import Session

from db.models import LOG_TYPES, SystemLog
from db.secrets import MASK, mask

SECRET_KEY = re.compile(r"pass(word|wd)?|secret|token|api[_-]?key|credential|private", re.I)
LEVELS = {
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
}

logger = logging.getLogger("wisp")


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
) -> SystemLog:
    """Add a `system_logs` row to the session's transaction and mirror it to Python logging."""
    if type not in LOG_TYPES:
        raise ValueError(f"log type {type!r} is not one of {', '.join(LOG_TYPES)}")
    level = level.upper()
    entry = SystemLog(
        level=level,
        type=type,
        message=mask(message),
        context=scrub(context) if context else None,
        client_id=client_id,
        provisioning_id=provisioning_id,
    )
    session.add(entry)
    logging.getLogger(f"wisp.{type.lower()}").log(LEVELS.get(level, logging.INFO), entry.message)
    return entry


def info(
    session: Session, type: str, message: str, context: dict[str, Any] | None = None, **ids: Any
) -> SystemLog:
    return log(session, "INFO", type, message, context, **ids)


def warning(
    session: Session, type: str, message: str, context: dict[str, Any] | None = None, **ids: Any
) -> SystemLog:
    return log(session, "WARNING", type, message, context, **ids)


def error(
    session: Session, type: str, message: str, context: dict[str, Any] | None = None, **ids: Any
) -> SystemLog:
    return log(session, "ERROR", type, message, context, **ids)
