"""`wisp jobs` reads a plain SQLite file with the standard library's sqlite3 and every other
database with SQLAlchemy, one SQL statement for both: what it lists is what the tables hold, the
same either way, and a database it cannot read that simply is told as every command tells it."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from db import sqlite_read
from db.engine import make_engine, session_scope
from db.models import JobStatus, Router, RouterProvisioning
from db.paths import sqlite_file
from db.states import Action
from tests.cli.conftest import Wisp, write_config

ZONE = ZoneInfo("Africa/Nairobi")  # the configured zone when the config names none


def shown(moment: datetime | None) -> str | None:
    return moment.astimezone(ZONE).isoformat(timespec="seconds") if moment else None


def from_tables(engine: Engine) -> list[dict[str, Any]]:
    """What `wisp jobs --json` should say, read through the models."""
    with Session(engine) as session:
        routers = {r.id: r.name for r in session.exec(select(Router))}
        jobs = session.exec(select(RouterProvisioning).order_by(RouterProvisioning.id.desc()))  # type: ignore[union-attr]
        return [
            {
                "job": job.id,
                "account": job.router_username,
                "status": job.status,
                "action": job.action,
                "router": routers[job.router_id],
                "tries": job.attempts,
                "next_try": shown(job.next_attempt_at) if job.status == "pending" else None,
                "last_error": job.last_error,
                "service": job.service_type,
                "profile": job.router_profile,
                "created_at": shown(job.created_at),
                "completed_at": shown(job.completed_at),
                "updated_at": shown(job.updated_at),
            }
            for job in jobs
        ]


def listed(wisp: Wisp, *args: str) -> list[dict[str, Any]]:
    rows = wisp.ok("jobs", "--json", *args).json()
    for row in rows:
        assert isinstance(row.pop("age"), int)
    return list(rows)


@pytest.fixture
def queue(shop: Wisp, engine: Engine) -> Wisp:
    """A completed job, a failed one with the router's words, and a pending one."""
    shop.ok("activate", "amina", "Day", "--payment-ref", "QA1")
    shop.ok("run", "--once")
    shop.ok("activate", "bob", "Home", "--payment-ref", "QA2")
    shop.ok("client", "add", "carol", "--name", "Carol Njeri")
    shop.ok("activate", "carol", "Day", "--payment-ref", "QA3")
    with session_scope(engine) as session:
        bob = session.exec(
            select(RouterProvisioning).where(RouterProvisioning.router_username == "bob")
        ).one()
        bob.status, bob.attempts = JobStatus.FAILED, 5
        bob.last_error = "failure: already have user with this name"
        bob.completed_at = datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=UTC)
    return shop


def test_the_queue_listed_is_the_tables(queue: Wisp, engine: Engine) -> None:
    expected = from_tables(engine)
    assert [job["status"] for job in expected] == ["pending", "failed", "completed"]
    assert [job["action"] for job in expected] == [Action.ACTIVATE] * 3
    assert listed(queue) == expected
    assert listed(queue, "--status", "failed") == [expected[1]]
    assert listed(queue, "--limit", "2") == expected[:2]
    assert listed(queue, "--status", "completed", "--limit", "1") == [expected[2]]
    table = queue.ok("jobs").out.splitlines()
    assert table[0].split() == [
        *("JOB", "ACCOUNT", "STATUS", "ACTION", "ROUTER", "TRIES", "NEXT_TRY", "AGE", "LAST_ERROR")
    ]
    assert "failure: already have user with this name" in table[2]


def test_a_plain_sqlite_file_is_read_with_sqlite3_and_says_what_sqlalchemy_says(
    queue: Wisp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[object] = []
    connect = sqlite_read.connect_current

    def spied(*args: Any) -> Any:
        connection = connect(*args)
        opened.append(connection)
        return connection

    monkeypatch.setattr(sqlite_read, "connect_current", spied)
    quick = listed(queue)  # every field but the age, which the clock moves
    assert len(opened) == 1
    assert (opened[0] is not None) == (engine.dialect.name == "sqlite")  # read with sqlite3
    monkeypatch.setattr(sqlite_read, "connect_current", lambda *args: None)
    assert listed(queue) == quick  # the same through SQLAlchemy


def test_only_a_plain_sqlite_url_is_read_with_sqlite3() -> None:
    for url in (
        "sqlite:///wisp.db",
        "sqlite:////srv/wisp/wisp.db",
        "sqlite+pysqlite:///data/w.db",
        "sqlite:///~/wisp.db",
        "sqlite:///a#b.db",
    ):
        assert sqlite_read.plain_file(url) == sqlite_file(url), url
    for url in (
        "sqlite:///a%20b.db",
        "sqlite:///wisp.db?timeout=5",
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite:///file:wisp.db",
        "postgresql+psycopg://postgres@127.0.0.1/wisp",
        "mysql+pymysql://root@127.0.0.1/wisp",
    ):
        assert sqlite_read.plain_file(url) is None, url


def test_a_database_it_cannot_simply_read_is_told_as_every_command_tells_it(
    tmp_path: Path, sqlite_url: str
) -> None:
    behind = Wisp(write_config(tmp_path, sqlite_url))
    path = sqlite_file(sqlite_url)
    assert path is not None
    engine = make_engine(sqlite_url)
    with session_scope(engine) as session:
        session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    engine.dispose()
    said = behind("jobs")
    assert said.code == 1
    assert said.err.startswith("wisp: the database schema is at revision 0001")
    assert said.err == behind("client", "list").err
    path.write_text("not a database\n")
    said = behind("jobs", "--json")
    assert said.code == 1 and said.err == behind("client", "list").err
    assert "cannot be used as a database" in said.err


def test_a_sqlite_file_that_fails_while_read_is_told_as_sqlalchemys_error_is(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    wisp = Wisp(write_config(tmp_path, sqlite_url))
    assert wisp.ok("jobs", "--json").json() == []
    path = sqlite_file(sqlite_url)
    assert path is not None
    with closing(sqlite3.connect(path)) as connection:  # stamped as this version, yet broken
        connection.execute("ALTER TABLE routers RENAME TO routers_gone")
        connection.commit()
    said = wisp("jobs", "--json")
    assert (said.code, said.out) == (1, "")
    assert said.err == "wisp: the database cannot be used: no such table: routers\n"
    monkeypatch.setattr(sqlite_read, "connect_current", lambda *args: None)
    assert wisp("jobs", "--json").err == said.err


def test_a_wrong_secret_key_stops_the_listing(
    queue: Wisp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    right = listed(queue)
    key = os.environ["WISP_SECRET_KEY"]
    monkeypatch.setenv("WISP_SECRET_KEY", Fernet.generate_key().decode())
    said = queue("jobs", "--json")
    assert (said.code, said.out) == (1, "")
    assert said.err == (
        "wisp: WISP_SECRET_KEY is not the key this database's passwords were encrypted with; "
        "nothing was done (restore the original key in the environment or .env).\n"
    )
    monkeypatch.setenv("WISP_SECRET_KEY", "not a key")
    assert "is not a valid key" in queue("jobs").err
    monkeypatch.setenv("WISP_SECRET_KEY", key)
    assert listed(queue) == right
