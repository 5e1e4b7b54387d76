"""Engines and migrations: the same schema on every backend, SQLite tuned for concurrent writers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from db.engine import (
    DatabaseError,
    current_revision,
    head_revision,
    make_engine,
    require_schema,
    session_scope,
)
from db.models import Client, SQLModel


def test_migrations_produce_exactly_the_models_schema(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []
    assert current_revision(engine) == head_revision()


def test_sqlite_runs_in_wal_with_foreign_keys_and_a_busy_timeout(sqlite_engine):
    with sqlite_engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_timestamps_come_back_timezone_aware_utc_to_the_microsecond(engine):
    moment = datetime(2026, 5, 1, 15, 30, 12, 123456, tzinfo=timezone(timedelta(hours=3)))
    with session_scope(engine) as session:
        session.add(Client(full_name="A", username="a", created_at=moment))
    with session_scope(engine) as session:
        stored = session.get(Client, 1).created_at
    assert stored == moment
    assert stored.tzinfo == UTC


def test_naive_datetimes_are_refused(sqlite_engine):
    with pytest.raises(Exception, match="naive datetime"), session_scope(sqlite_engine) as session:
        session.add(Client(full_name="A", username="a", created_at=datetime(2026, 1, 1)))
        session.flush()


def test_an_empty_database_asks_for_init(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    with pytest.raises(DatabaseError, match="is empty; run `wisp init` first"):
        require_schema(engine)


def test_a_database_behind_this_version_asks_for_upgrade(sqlite_engine):
    with sqlite_engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    with pytest.raises(DatabaseError, match="run `wisp db upgrade`"):
        require_schema(sqlite_engine)


def test_unknown_database_kind_is_named():
    with pytest.raises(DatabaseError, match="uses 'oracle'; use sqlite, postgresql or mariadb"):
        make_engine("oracle://scott@host/db")
