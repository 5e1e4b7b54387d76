"""A well-formed but wrong WISP_SECRET_KEY stops every command before it touches a job."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from db import secrets
from db.activation import ActivationService
from db.models import Client, RouterProvisioning
from tests import factories
from tests.db.test_sqlite_writers import wisp
from tests.scheduler.conftest import write_config


@pytest.fixture
def config(engine: Engine, tmp_path: Path) -> Path:
    factories.setup(engine)
    ActivationService(engine).activate("jdoe", "Home 10M")
    return write_config(tmp_path / "config.toml", engine.url.render_as_string(hide_password=False))


@pytest.mark.parametrize(
    "argv",
    [
        ("run", "--once"),
        ("activate", "jdoe", "Home 10M", "--method", "cash"),
        ("client", "add", "newcomer", "--name", "New Comer"),
        ("jobs",),
    ],
)
def test_a_wrong_key_stops_the_command_in_one_sentence_and_touches_nothing(
    engine: Engine, config: Path, argv: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WISP_SECRET_KEY", secrets.new_key())
    code, err = wisp(config, *argv)
    assert code == 1
    assert err.strip().splitlines() == [
        "wisp: WISP_SECRET_KEY is not the key this database's passwords were encrypted with; "
        "nothing was done (restore the original key in the environment or .env)."
    ]
    with Session(engine) as session:
        jobs = session.exec(select(RouterProvisioning)).all()
        clients = session.exec(select(Client.username)).all()
    assert [(job.status, job.attempts) for job in jobs] == [("pending", 0)]
    assert "newcomer" not in clients


def test_the_right_key_and_a_new_database_both_pass(engine: Engine, tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "config.toml", engine.url.render_as_string(hide_password=False)
    )
    assert wisp(config, "jobs")[0] == 0  # nothing stored yet: any valid key is accepted
    factories.setup(engine)
    assert wisp(config, "jobs")[0] == 0
