"""Shared fixtures: a real database of each backend, and a clean environment for every test.

`engine` runs a test on SQLite, PostgreSQL and MariaDB. On a machine without a server the server
variants skip with the reason; under CI (CI=true) an unreachable server fails the run instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from db.engine import make_engine, upgrade
from db.models import SQLModel

TEST_SECRET_KEY = "k2hpd0d9W8v6m4vKx6Yq2o3m9jR9V1f7sYwq0cXHf0s="
SERVER_URLS = {
    "postgresql": os.environ.get(
        "WISP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    ),
    "mariadb": os.environ.get(
        "WISP_TEST_MARIADB_URL", "mariadb+pymysql://root@127.0.0.1:3306/mysql"
    ),
}
BACKENDS = ("sqlite", "postgresql", "mariadb")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Ignore the developer's own config and secrets; give every test the same test key."""
    for name in list(os.environ):
        if name.startswith("WISP_") and not name.startswith("WISP_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("WISP_SECRET_KEY", TEST_SECRET_KEY)


def _database_name() -> str:
    """Unique to this run and worker, so that two test runs on one machine never share a database."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", f"p{os.getpid()}")[:8]
    return f"wisp_test_{run}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


def _server_or_skip(backend: str) -> str:
    """The admin URL of a reachable server, or a skip (a failure under CI)."""
    url = SERVER_URLS[backend]
    try:
        probe = make_engine(url, pool=False)
        with probe.connect():
            pass
        probe.dispose()
    except Exception as exc:  # any driver error means "not reachable here"
        reason = f"{backend} server at {url} is not reachable: {str(exc).splitlines()[0]}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI requires it: {reason}")
        pytest.skip(reason)
    return url


def _create_database(admin_url: str, backend: str, name: str) -> str:
    admin = make_engine(admin_url, pool=False)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        quoted = f'"{name}"' if backend == "postgresql" else f"`{name}`"
        if backend == "postgresql":
            conn.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {quoted}"))
        else:
            conn.execute(text(f"DROP DATABASE IF EXISTS {quoted}"))
            conn.execute(
                text(f"CREATE DATABASE {quoted} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
            )
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="session")
def server_databases() -> Iterator[dict[str, str]]:
    """Lazily created per-worker databases on each server, at the current schema."""
    made: dict[str, str] = {}
    yield made
    for backend, url in made.items():
        _drop_database(SERVER_URLS[backend], backend, url.rsplit("/", 1)[1])


def _drop_database(admin_url: str, backend: str, name: str) -> None:
    admin = make_engine(admin_url, pool=False)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if backend == "postgresql":
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        else:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
    admin.dispose()


def server_url(backend: str, made: dict[str, str]) -> str:
    if backend not in made:
        admin = _server_or_skip(backend)
        url = _create_database(admin, backend, _database_name())
        engine = make_engine(url, pool=False)
        upgrade(engine)
        engine.dispose()
        made[backend] = url
    return made[backend]


def empty_tables(engine: Engine) -> None:
    """Delete every row (faster than re-creating the schema) and reset ids."""
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            conn.execute(text("SET FOREIGN_KEY_CHECKS=0"))
            for table in tables:
                conn.execute(text(f"TRUNCATE TABLE {table}"))
            conn.execute(text("SET FOREIGN_KEY_CHECKS=1"))


def emptied(url: str) -> str:
    """Empty the server database at `url` (faster than migrating a new one); returns the URL."""
    engine = make_engine(url, pool=False)
    empty_tables(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies (migrating once per worker)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def fresh_sqlite_url(template: Path, folder: Path) -> str:
    path = folder / "wisp.db"
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=BACKENDS)
def db_url(
    request: pytest.FixtureRequest,
    sqlite_template: Path,
    server_databases: dict[str, str],
    tmp_path: Path,
) -> str:
    """The URL of an empty, migrated database: once on each of SQLite, PostgreSQL and MariaDB."""
    backend = request.param
    if backend == "sqlite":
        return fresh_sqlite_url(sqlite_template, tmp_path)
    return emptied(server_url(backend, server_databases))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on an empty, migrated database of each backend."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """An empty, migrated SQLite database (for tests that need only one backend)."""
    return fresh_sqlite_url(sqlite_template, tmp_path)


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()
