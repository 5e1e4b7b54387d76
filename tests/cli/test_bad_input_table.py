"""Every kind of bad value an operator can type, on every database: one line, an exit code, no
traceback, and nothing written."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from console.cli.main import main
from tests import factories
from tests.scheduler.conftest import write_config

LONG = "x" * 300
CASES = [
    (("router", "add", "r" * 65, "--host", "10.0.0.9", "--password-env", "PW", "--no-check"), 1),
    (("router", "add", "t9", "--host", "h" * 256, "--password-env", "PW", "--no-check"), 1),
    (("router", "add", "t9", "--host", "10.0.0.1 ; rm -rf /", "--password-env", "PW"), 1),
    (("router", "add", "t9", "--host", "10.0.0.9", "--user", LONG, "--password-env", "PW"), 1),
    (("router", "add", "t9", "--host", "10.0.0.9", "--password-env", "P" * 129, "--no-check"), 1),
    (("router", "add", "t9", "--host", "10.0.0.9", "--port", "0", "--password-env", "PW"), 1),
    (("router", "add", "t9", "--host", "10.0.0.9", "--port", "70000", "--password-env", "PW"), 1),
    (("router", "add", "tower\nforged", "--host", "10.0.0.9", "--password-env", "PW"), 1),
    (
        ("router", "add", "t9", "--host", "10.0.0.9", "--tls", "--fingerprint", "zz")
        + ("--password-env", "PW", "--no-check"),
        1,
    ),
    (
        ("package", "add", "P" * 101, "--router", "r1", "--price", "10", "--validity", "1d")
        + ("--type", "hotspot", "--rate", "1M"),
        1,
    ),
    (
        ("package", "add", "Big", "--router", "r1", "--price", "1e10", "--validity", "1d")
        + ("--type", "hotspot", "--rate", "1M"),
        1,
    ),
    (
        ("package", "add", "Big", "--router", "r1", "--price", "10", "--validity", "99999mo")
        + ("--type", "hotspot", "--rate", "1M"),
        1,
    ),
    (
        ("package", "add", "Big", "--router", "r1", "--price", "10", "--validity", "1d")
        + ("--type", "hotspot", "--rate", "1M", "--devices", str(10**20)),
        2,
    ),
    (("client", "add", "u" * 65, "--name", "Long Name"), 1),
    (("client", "add", "newguy", "--name", "N" * 129), 1),
    (("client", "add", "newguy", "--name", "New Guy", "--phone", "0" * 40), 1),
    (("client", "add", "newguy", "--name", "New Guy", "--email", "e" * 130 + "@x.ke"), 1),
    (("client", "add", "newguy", "--name", "New\nGuy"), 1),
    (("activate", "jdoe", "Home 10M", "--payment-ref", "R" * 65), 1),
    (("activate", "jdoe", "Home 10M", "--method", "m" * 17), 1),
    (("activate", "jdoe", "Home 10M", "--method", "cash", "--amount", "1e100"), 1),
    (("activate", "jdoe", "Home 10M", "--method", "cash", "--amount", "nan"), 2),
    (("activate", "nobody", "Home 10M", "--method", "cash"), 1),
    (("jobs", "--limit", "-1"), 2),
    (("retry", str(10**20)), 2),
    (("run", "--once", "--worker", "w" * 200), 2),
]


def counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {
            table.name: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for table in SQLModel.metadata.sorted_tables
        }


@pytest.fixture
def config(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    factories.setup(engine)
    monkeypatch.setenv("PW", "router-pass")
    return write_config(tmp_path / "config.toml", engine.url.render_as_string(hide_password=False))


@pytest.mark.parametrize(("argv", "code"), CASES, ids=[" ".join(a)[:60] for a, _ in CASES])
def test_a_bad_value_is_one_line_an_exit_code_and_nothing_written(
    engine: Engine, config: Path, argv: tuple[str, ...], code: int
) -> None:
    before = counts(engine)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            got = main(["--config", str(config), *argv])
        except SystemExit as exit:  # argparse's own usage errors
            got = int(exit.code or 0)
    lines = err.getvalue().splitlines()
    assert got == code, err.getvalue()
    assert "Traceback" not in err.getvalue() and "gAAAA" not in err.getvalue()
    assert len(lines) == 1 and lines[0].startswith("wisp: "), lines
    assert counts(engine) == before
