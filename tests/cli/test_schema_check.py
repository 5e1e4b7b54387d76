"""The CLI's schema check reads the revision without Alembic when the database is at this
version's; in every other case it answers as db.engine.require_schema does, in its words."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from console.cli import common
from db.engine import DatabaseError, head_revision, make_engine
from db.engine import require_schema as full_check
from db.revisions import migrations_head


def test_the_head_read_from_the_migration_files_is_alembics() -> None:
    assert migrations_head() == head_revision()


def test_a_database_at_this_version_passes(sqlite_engine: Engine) -> None:
    assert common.stamped_revision(sqlite_engine) == head_revision()
    common.require_schema(sqlite_engine)


def said(check: object, engine: Engine) -> str:
    with pytest.raises(DatabaseError) as raised:
        check(engine)  # type: ignore[operator]
    return str(raised.value)


def test_a_database_behind_is_told_as_require_schema_tells_it(sqlite_engine: Engine) -> None:
    with sqlite_engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    assert common.stamped_revision(sqlite_engine) == "0001"
    told = said(common.require_schema, sqlite_engine)
    assert told == said(full_check, sqlite_engine)
    assert "run `wisp db upgrade`" in told


def test_a_database_with_tables_and_no_stamp_is_told_the_same(sqlite_engine: Engine) -> None:
    with sqlite_engine.begin() as connection:
        connection.execute(text("DELETE FROM alembic_version"))
    assert common.stamped_revision(sqlite_engine) is None
    assert said(common.require_schema, sqlite_engine) == said(full_check, sqlite_engine)


def test_an_empty_database_and_a_file_that_is_none_are_told_the_same(tmp_path: Path) -> None:
    empty = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    assert "is empty; run `wisp init` first" in said(common.require_schema, empty)
    assert said(common.require_schema, empty) == said(full_check, empty)
    not_a_database = tmp_path / "passwd"
    not_a_database.write_text("root:x:0:0:root:/root:/bin/bash\n")
    other = make_engine(f"sqlite:///{not_a_database}")
    assert said(common.require_schema, other) == said(full_check, other)
