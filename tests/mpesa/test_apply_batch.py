"""A batch applied in one transaction (apply_many) leaves the database exactly as applying its rows
one by one (apply) does: same payments, subscriptions, router account rows, credit, notes and logs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from db.activation import ActivationService
from db.config import Settings
from db.engine import make_engine
from db.models import C, J, S
from db.mpesa import Arrival, apply, apply_many, parse_c2b, store_many
from db.types import utcnow
from tests import factories
from tests.conftest import empty_tables, fresh_sqlite_url
from tests.mpesa.helpers import confirmation

SETTINGS = Settings()
TABLES = (
    "clients",
    "payments",
    "subscriptions",
    "router_provisionings",
    "mpesa_transactions",
    "system_logs",
)
TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} \S+")


def mixed_batch(engine: Engine) -> list[int]:
    """The shop, each client's history, then the batch's rows stored (not applied); their ids.

    Day 5M costs 50 (1 day), Home 10M 1500 (30 days), both on r1.
    """
    factories.router(engine)
    factories.package(engine)
    factories.package(engine, "Day 5M", rate="5M", validity="1d", price="50")
    for name in ("fresh", "renews", "changes", "under", "lapsed", "twice"):
        factories.client(engine, name, full_name=name.title())
    service = ActivationService(engine, SETTINGS)
    service.activate("renews", "Day 5M", "SETUP00001", amount=Decimal("50"), method="mpesa")
    service.activate("changes", "Home 10M", "SETUP00002", amount=Decimal("1500"), method="mpesa")
    service.activate("under", "Day 5M", "SETUP00003", amount=Decimal("50"), method="mpesa")
    service.activate("lapsed", "Day 5M", "SETUP00004", amount=Decimal("50"), method="mpesa")
    # A receipt the operator already recorded by hand: its callback applies nothing again.
    service.activate("twice", "Day 5M", "RCPT000006", amount=Decimal("50"), method="mpesa")
    with engine.begin() as connection:  # lapsed's subscription ran out; the sweep has not run
        past = utcnow() - timedelta(hours=1)
        connection.execute(
            update(S)
            .where(S.c.client_id == 5)
            .values(
                start_date=past - timedelta(days=1),
                delivered_at=past - timedelta(days=1),
                expires_on=past,
            )
        )
    payments = [
        confirmation("RCPT000001", "50.00", "fresh"),  # no package yet: the one priced 50
        confirmation("RCPT000002", "50.00", "renews"),  # the same package again
        confirmation("RCPT000003", "50.00", "changes"),  # another package: after the current one
        confirmation("RCPT000004", "20.00", "under"),  # below the price: credit
        confirmation("RCPT000005", "50.00", "nobody"),  # no such account number
        confirmation("RCPT000006", "50.00", "twice"),  # the receipt was already applied
        confirmation("RCPT000007", "50.00", "lapsed"),  # its running subscription expired
        confirmation("RCPT000008", "30.00", "under"),  # with the credit: reaches the price
        confirmation("RCPT000009", "50.00", "fresh"),  # renews what this batch started
    ]
    stored = store_many(engine, [Arrival(parse_c2b(p), p) for p in payments])
    ids = [s.id for s in stored]
    return ids[:3] + [ids[2]] + ids[3:]  # a row named twice in one batch applies once


def state(engine: Engine, since: datetime) -> dict[str, list[dict[str, Any]]]:
    """Every row of the tables a payment writes; times as minutes from `since`, passwords as
    whether one is set, times in log texts blanked (the two ways run moments apart). Log rows in
    their order but without their ids: PostgreSQL spends a log id on a log row of a rolled-back
    savepoint (a package change tried without a choice), which a batch never inserts."""

    def plain(column: str, value: Any) -> Any:
        if isinstance(value, datetime):
            return round((value - since).total_seconds() / 60)
        if column == "router_password":
            return value is not None
        if column == "message":
            return TIME.sub("<time>", value)
        return value

    tables = SQLModel.metadata.tables
    with engine.connect() as connection:
        return {
            name: [
                {
                    column: plain(column, value)
                    for column, value in row._mapping.items()
                    if not (name == "system_logs" and column == "id")
                }
                for row in connection.execute(select(tables[name]).order_by(tables[name].c.id))
            ]
            for name in TABLES
        }


@contextmanager
def another_shop(engine: Engine, sqlite_template: Path, tmp_path: Path) -> Iterator[Engine]:
    """An empty database to build the same shop again: a fresh SQLite file, or the server's
    database emptied (ids start at 1 again)."""
    if engine.dialect.name != "sqlite":
        empty_tables(engine)
        yield engine
        return
    folder = tmp_path / "batch"
    folder.mkdir()
    other = make_engine(fresh_sqlite_url(sqlite_template, folder))
    try:
        yield other
    finally:
        other.dispose()


def test_a_mixed_batch_applies_exactly_as_one_by_one(
    engine: Engine, sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    since = utcnow()
    ids = mixed_batch(engine)
    one_by_one = [apply(engine, SETTINGS, i) for i in ids]
    expected = state(engine, since)

    with another_shop(engine, sqlite_template, tmp_path) as other:
        assert mixed_batch(other) == ids

        def one_by_one_instead(*_: Any) -> None:
            raise AssertionError("the batch fell back to applying row by row")

        monkeypatch.setattr("db.mpesa._apply_each", one_by_one_instead)
        batch = apply_many(other, SETTINGS, ids)
        assert batch == one_by_one
        assert state(other, since) == expected

    outcomes = [(a.status, a.outcome) for a in batch]
    assert outcomes == [
        ("applied", "new"),
        ("applied", "renewed"),
        ("applied", "scheduled"),
        ("applied", None),  # the same row again: already applied above
        ("applied", "credit"),
        ("unmatched", None),
        ("applied", None),
        ("applied", "new"),
        ("applied", "renewed"),
        ("applied", "renewed"),
    ]
    subscriptions = {(s["client_id"], s["status"]) for s in expected["subscriptions"]}
    assert (5, "expired") in subscriptions and (3, "scheduled") in subscriptions


def plain_batch(engine: Engine, settings: Settings) -> list[int]:
    """A batch of mostly plain payments (set-wise) with rows between them that are not.

    Day 5M costs 50 (1 day), Home 10M 1500 (30 days), both on r1.
    """
    factories.router(engine)
    factories.package(engine)
    factories.package(engine, "Day 5M", rate="5M", validity="1d", price="50")
    names = ("new1", "new2", "renew1", "renew2", "credit", "busy", "swept", "home", "under")
    for name in names:
        factories.client(engine, name, full_name=name.title())
    service = ActivationService(engine, settings)
    for n, name in enumerate(("renew1", "renew2", "credit", "busy", "swept")):
        service.activate(name, "Day 5M", f"SETUP{n:05d}", amount=Decimal("50"), method="mpesa")
    service.activate("home", "Home 10M", "SETUP00009", amount=Decimal("1500"), method="mpesa")
    with engine.begin() as connection:
        connection.execute(update(C).where(C.c.username == "credit").values(credit=Decimal("5")))
        connection.execute(
            update(J).where(J.c.router_username == "busy").values(status="processing")
        )
        # swept's subscription ran out and the sweep disabled its account.
        connection.execute(update(S).where(S.c.client_id == 7).values(status="expired"))
        connection.execute(update(J).where(J.c.router_username == "swept").values(action="disable"))
    payments = [
        confirmation("PLAIN00001", "50.00", "new1"),  # no package yet: the one priced 50
        confirmation("PLAIN00002", "50.00", " NEW2 "),  # account number as typed on a phone
        confirmation("PLAIN00003", "50.00", "renew1"),
        confirmation("PLAIN00004", "20.00", "under"),  # not plain: no package of that price
        confirmation("PLAIN00005", "50.00", "renew2"),
        confirmation("PLAIN00006", "50.00", "credit"),  # the credit stays
        confirmation("PLAIN00007", "50.00", "nobody"),  # not plain: no such account
        confirmation("PLAIN00008", "50.00", "busy"),  # its account is being written
        confirmation("PLAIN00009", "50.00", "swept"),  # a new subscription, the account again
        confirmation("PLAIN00010", "1500.00", "home"),  # the price of its own package
    ]
    stored = store_many(engine, [Arrival(parse_c2b(p), p) for p in payments])
    return [s.id for s in stored]


@pytest.mark.parametrize("clock", ["delivery", "payment"])
def test_plain_payments_apply_set_wise_exactly_as_one_by_one(
    engine: Engine,
    sqlite_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    clock: str,
) -> None:
    settings = SETTINGS if clock == "delivery" else factories.clock_from_payment()
    since = utcnow()
    ids = plain_batch(engine, settings)
    one_by_one = [apply(engine, settings, i) for i in ids]
    expected = state(engine, since)

    with another_shop(engine, sqlite_template, tmp_path) as other:
        assert plain_batch(other, settings) == ids
        import db.mpesa

        row_by_row: list[int] = []
        each = db.mpesa._apply_in

        def counted(session: Any, service: Any, transaction_id: int) -> Any:
            row_by_row.append(transaction_id)
            return each(session, service, transaction_id)

        monkeypatch.setattr("db.mpesa._apply_in", counted)
        batch = apply_many(other, settings, ids)
        assert batch == one_by_one
        assert state(other, since) == expected

    assert row_by_row == [ids[3], ids[6]]  # the two that are not plain
    assert [(a.status, a.outcome) for a in batch] == [
        ("applied", "new"),
        ("applied", "new"),
        ("applied", "renewed"),
        ("unmatched", None),  # no package yet, and none costs 20
        ("applied", "renewed"),
        ("applied", "renewed"),
        ("unmatched", None),
        ("applied", "renewed"),
        ("applied", "new"),
        ("applied", "renewed"),
    ]
    assert batch[5].note == "renewed: credit on Day 5M, credit 5.00"
    accounts = {a["router_username"]: a for a in expected["router_provisionings"]}
    assert accounts["busy"]["status"] == "processing" and accounts["busy"]["revision"] == 2
    assert accounts["swept"]["action"] == "activate" and accounts["swept"]["revision"] == 2
