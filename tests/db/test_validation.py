"""Values that do not fit the schema become one sentence on every database, and nothing is written."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db import catalog
from db.activation import ActivationService
from db.engine import session_scope
from db.errors import UserError
from db.models import Client, Payment, Router
from db.validation import InvalidValue
from tests import factories


def count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "r" * 65}, "the router name is 65 characters long; at most 64 fit."),
        ({"host": "h" * 256}, f"host '{'h' * 256}' is not a host name or an IP address."),
        ({"username": "u" * 65}, "the router API user is 65 characters long; at most 64 fit."),
        ({"name": "tower\nforged"}, "the router name 'tower\\nforged' holds a line break"),
    ],
)
def test_a_router_that_does_not_fit_is_refused_and_its_password_never_shown(
    engine: Engine, fields: dict[str, str], message: str
) -> None:
    values = {"name": "tower", "host": "10.0.0.1", "username": "admin", "password": "s3cret-pw"}
    with pytest.raises(UserError) as raised, session_scope(engine) as session:
        catalog.add_router(session, **{**values, **fields})
    assert str(raised.value).startswith(message)
    assert "s3cret" not in str(raised.value) and "gAAAA" not in str(raised.value)
    assert count(engine, Router) == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"full_name": "N" * 129}, "the client name is 129 characters long; at most 128 fit."),
        # A phone is normalised before it is stored (+254722000111), so one too long for its column
        # is refused earlier, as no phone number (tests/db/test_phones_and_lookup.py).
        ({"email": "e" * 120 + "@example.com"}, "the email address is 132 characters long"),
    ],
)
def test_a_client_that_does_not_fit_is_refused(
    engine: Engine, fields: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidValue, match=message), session_scope(engine) as session:
        catalog.add_client(session, **{"username": "newguy", "full_name": "New Guy", **fields})
    assert count(engine, Client) == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"payment_ref": "R" * 65}, "the payment reference is 65 characters long; at most 64"),
        ({"amount": Decimal("1e100")}, "amount 1E[+]100 is not a sum of money from 0 to"),
        ({"amount": Decimal("NaN")}, "amount NaN is not a sum of money"),
    ],
)
def test_a_payment_that_does_not_fit_is_refused_and_activates_nothing(
    engine: Engine, kwargs: dict[str, object], message: str
) -> None:
    factories.setup(engine)
    with pytest.raises(UserError, match=message):
        ActivationService(engine).activate("jdoe", "Home 10M", method="cash", **kwargs)  # type: ignore[arg-type]
    assert count(engine, Payment) == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"password": ""}, "the router password is empty; nothing was stored."),
        ({"port": 0}, r"port 0 is not a TCP port \(1-65535\)."),
        ({"host": "10.0.0.1 ; rm -rf /"}, "host '10.0.0.1 ; rm -rf /' is not a host name or an IP"),
        ({"host": "tower_1"}, "host 'tower_1' is not a host name or an IP address."),
        ({"tls_fingerprint": "zz"}, "TLS fingerprint 'zz' is not a SHA-256 fingerprint"),
    ],
)
def test_router_fields_are_checked_for_meaning(
    sqlite_engine: Engine, fields: dict[str, object], message: str
) -> None:
    values = {"name": "tower", "host": "10.0.0.1", "username": "admin", "password": "pw"}
    with pytest.raises(UserError, match=message), session_scope(sqlite_engine) as session:
        catalog.add_router(session, **{**values, **fields})
    assert count(sqlite_engine, Router) == 0


@pytest.mark.parametrize(
    "host", ["10.0.0.1", "fe80::1", "tower-1.example.net", "router", "[2001:db8::1]"]
)
def test_host_names_and_addresses_are_accepted(sqlite_engine: Engine, host: str) -> None:
    with session_scope(sqlite_engine) as session:
        catalog.add_router(session, name="tower", host=host, password="pw")
    assert count(sqlite_engine, Router) == 1
