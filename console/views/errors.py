"""One sentence for a failure the console reports: no SQL, no stack trace, no password."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from db.engine import describe_operational_error, safe_url
from db.errors import UserError
from scheduler.routeros.actions import NotOurs
from scheduler.routeros.errors import RouterError


def one_sentence(error: BaseException | None, engine: Engine) -> str:
    """What went wrong, as the operator should read it."""
    if isinstance(error, OperationalError):
        return describe_operational_error(engine, error)
    if isinstance(error, SQLAlchemyError):
        orig = getattr(error, "orig", None) or error
        return f"the database at {safe_url(engine.url)} refused the request: {_first(orig)}"
    if isinstance(error, UserError | RouterError | NotOurs):  # the router's are the operator's too
        return str(error)
    return f"{type(error).__name__}: {_first(error)}"


def _first(error: object) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else "no reason given"
