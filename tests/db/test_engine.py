"""Engines and migrations: the same schema on every backend, SQLite tuned for concurrent writers."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

import db.engine as engine_module
from db.engine import (
    DatabaseError,
    current_revision,
    head_revision,
    kept,
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


def test_upgrade_to_0003_keeps_existing_accounts_and_marks_them_delivered_and_owned(engine):
    """A database in use before accounts were keyed by service upgrades with its data intact."""
    from alembic import command

    from db.engine import alembic_config, upgrade

    config = alembic_config(engine)
    command.downgrade(config, "0002")
    try:
        with engine.begin() as conn:
            now = "2026-11-01 10:00:00"
            conn.execute(
                text(
                    "INSERT INTO routers (id, name, host, port, use_tls, tls_verify, username, "
                    "status, health, created_at, updated_at) VALUES (1, 'r1', 'h', 8728, false, "
                    f"true, 'admin', 'active', 'up', '{now}', '{now}')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO clients (id, full_name, username, account_type, status, "
                    f"created_at, updated_at) VALUES (1, 'Kevin', 'kevin', 'personal', 'active', "
                    f"'{now}', '{now}')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO packages (id, name, type, account_type, price, duration_length, "
                    "duration_unit, router_id, router_profile, rate_limit, bandwidth_value, "
                    "bandwidth_unit, burst_enabled, hotspot_plan_type, created_at, updated_at) "
                    "VALUES (1, 'Hour 2M', 'hotspot', 'personal', 10, 1, 'hours', 1, "
                    f"'HOTSPOT_2M_PERSONAL', '2M/2M', 2, 'Mbps', false, 'unlimited', '{now}', "
                    f"'{now}')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO router_provisionings (id, client_id, router_id, package_id, "
                    "service_type, action, router_username, status, attempts, revision, "
                    "next_attempt_at, completed_at, created_at, updated_at) VALUES (1, 1, 1, 1, "
                    f"'hotspot', 'activate', 'kevin', 'completed', 0, 1, '{now}', '{now}', "
                    f"'{now}', '{now}')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO subscriptions (id, client_id, package_id, router_id, "
                    "provisioning_id, start_date, expires_on, status, created_at, updated_at) "
                    f"VALUES (1, 1, 1, 1, 1, '{now}', '2026-11-01 11:00:00', 'active', '{now}', "
                    f"'{now}')"
                )
            )
        upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT delivered_at IS NOT NULL FROM subscriptions")).scalar()
            assert conn.execute(
                text("SELECT router_id, service_type, name, origin FROM router_profiles")
            ).one() == (1, "hotspot", "HOTSPOT_2M_PERSONAL", "created")
            assert not conn.execute(text("SELECT adopt FROM router_provisionings")).scalar()
        with engine.begin() as conn:  # the same username as a PPPoE secret is another account
            conn.execute(
                text(
                    "INSERT INTO router_provisionings (id, client_id, router_id, service_type, "
                    "action, "
                    "router_username, status, attempts, revision, adopt, next_attempt_at, "
                    f"created_at, updated_at) VALUES (2, 1, 1, 'pppoe', 'activate', 'kevin', "
                    f"'pending', 0, 1, false, '{now}', '{now}', '{now}')"
                )
            )
    finally:
        upgrade(engine)


def opposite_order(
    engine: Engine, run: Callable[[str, str, Callable[[], None]], None]
) -> list[BaseException]:
    """Two threads each `run` a transaction updating clients a and b in opposite orders, both
    holding their first row before asking for the other (`meet`), so the database must break
    one off; the errors they raised."""
    import threading

    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite takes one writer at a time: it has no deadlocks to break")
    with session_scope(engine) as session:
        session.add_all([Client(full_name="A", username="a"), Client(full_name="B", username="b")])
    both_hold_one = threading.Barrier(2)
    errors: list[BaseException] = []

    def take(first: str, second: str) -> None:
        try:
            run(first, second, lambda: both_hold_one.wait(timeout=10))
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=take, args=pair) for pair in (("a", "b"), ("b", "a"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_a_real_deadlock_is_told_apart_from_other_errors(engine):
    from sqlalchemy.exc import DBAPIError

    from db.engine import is_deadlock

    def run(first: str, second: str, meet: Callable[[], None]) -> None:
        with engine.begin() as conn:
            update = "UPDATE clients SET full_name = full_name WHERE username = :u"
            conn.execute(text(update), {"u": first})
            meet()
            conn.execute(text(update), {"u": second})

    errors = opposite_order(engine, run)
    assert len(errors) == 1 and is_deadlock(errors[0])
    with pytest.raises(DBAPIError) as other:
        with engine.connect() as conn:
            conn.execute(text("SELECT no_such_column FROM clients"))
    assert not is_deadlock(other.value)


def test_a_transaction_broken_off_by_a_deadlock_is_run_again(engine, caplog):
    """Each of the pair run by `deadlock_retried`: both commit, one of them on its second try,
    and the retry is said in the log."""
    from db.engine import deadlock_retried

    append = (
        "UPDATE clients SET full_name = CONCAT(full_name, CAST(:m AS CHAR(1))) WHERE username = :u"
    )

    def run(first: str, second: str, meet: Callable[[], None]) -> None:
        tries = 0

        def transaction() -> None:
            nonlocal tries
            tries += 1
            with engine.begin() as conn:
                conn.execute(text(append), {"u": first, "m": first.upper()})
                if tries == 1:
                    meet()
                conn.execute(text(append), {"u": second, "m": first.upper()})

        deadlock_retried(transaction, f"taking {first} then {second}")

    assert opposite_order(engine, run) == []
    with engine.connect() as conn:
        names = dict(conn.execute(text("SELECT username, full_name FROM clients")).all())
    # Each transaction's two updates landed once: a broken-off try left nothing behind.
    assert sorted(names["a"]) == sorted("AAB") and sorted(names["b"]) == sorted("BAB")
    assert "met a deadlock; trying again (1)" in caplog.text


def test_a_file_that_is_not_a_database_is_named_in_one_sentence(tmp_path):
    not_a_database = tmp_path / "passwd"
    not_a_database.write_text("root:x:0:0:root:/root:/bin/bash\n")
    with pytest.raises(DatabaseError) as raised:
        require_schema(make_engine(f"sqlite:///{not_a_database}"))
    assert str(raised.value) == (
        f"sqlite:///{not_a_database} cannot be used as a database: file is not a database."
    )
    assert not_a_database.read_text() == "root:x:0:0:root:/root:/bin/bash\n"


def test_database_errors_never_carry_the_statement_parameters(engine):
    from sqlalchemy.exc import SQLAlchemyError

    from db.models import R

    with pytest.raises(SQLAlchemyError) as raised, engine.begin() as connection:
        # Core bypasses the flush check: the database itself refuses (SQLite: the NOT NULL host).
        connection.execute(R.insert().values(name="n" * 300, password_encrypted="gAAAA-cipher"))
    assert "gAAAA-cipher" not in str(raised.value)


def _usernames(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return [row[0] for row in connection.execute(text("SELECT username FROM clients"))]


_SERIALS = itertools.count(1)


def _opened(engine: Engine) -> int:
    """The serial number of the database connection the engine hands out (new ones get new)."""
    with engine.connect() as connection:
        return connection.connection.info.setdefault("serial", next(_SERIALS))


def _clients(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        return _usernames(engine)
    finally:
        engine.dispose()


def test_a_kept_sqlite_connection_writes_to_the_file_now_at_the_path(sqlite_url, tmp_path):
    """A kept connection still holds the file it opened; once another file is put at the path
    (a backup restored), what it writes must go to that one."""
    db_path = tmp_path / "wisp.db"
    with session_scope(make_engine(sqlite_url)) as session:
        session.add(Client(username="before", full_name="Before"))
    keeping = kept(make_engine(sqlite_url), connections=1)
    try:
        assert _usernames(keeping) == ["before"]  # its connection is open now
        first = _opened(keeping)
        assert _opened(keeping) == first  # kept while the file stays
        db_path.rename(tmp_path / "moved.db")
        shutil.copyfile(tmp_path / "moved.db", db_path)  # the restored copy
        assert _opened(keeping) != first  # the file at the path was opened anew
        with session_scope(keeping) as session:
            session.add(Client(username="after", full_name="After"))
    finally:
        keeping.dispose()
    assert sorted(_clients(sqlite_url)) == ["after", "before"]
    assert _clients(f"sqlite:///{tmp_path / 'moved.db'}") == ["before"]


def test_a_server_database_engine_is_kept_as_it_is(engine):
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite gets an engine of its own")
    assert kept(engine) is engine


def test_a_write_that_failed_hands_the_files_writer_turn_on(sqlite_url: str) -> None:
    """This process's SQLite writers take turns by a lock of the file's: a transaction that
    fails or is rolled back gives its turn up, as one that commits does."""
    engine = make_engine(sqlite_url)
    turns = engine_module._writers_of(engine.url.database)
    assert turns is not None
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        session.execute(text("SELECT 1"))
        assert turns.locked()
        raise RuntimeError("a fault mid-transaction")
    assert not turns.locked()
    with pytest.raises(OperationalError), session_scope(engine) as session:
        session.execute(text("INSERT INTO no_such_table VALUES (1)"))
    assert not turns.locked()
    with session_scope(engine) as session:
        session.execute(text("SELECT 1"))
    assert not turns.locked()
    # A plain read takes no turn.
    with Session(engine) as session:
        session.execute(text("SELECT 1"))
        assert not turns.locked()
    engine.dispose()
