"""An error nobody foresaw: one sentence on the terminal, the masked traceback in a file."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from console.cli import jobs
from console.cli.main import main
from db import secrets


def test_an_unforeseen_error_prints_one_sentence_and_logs_the_masked_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "wisp.db"}"\n')
    secrets.remember("Rtr-pw-9x")

    def broken(_args: object) -> int:
        raise RuntimeError("the router said Rtr-pw-9x was odd\nsecond line")

    monkeypatch.setattr(jobs, "run_jobs", broken)
    err = io.StringIO()
    with redirect_stdout(io.StringIO()), redirect_stderr(err):
        code = main(["--config", str(config), "jobs"])
    log = tmp_path / "wisp-errors.log"
    assert code == 1
    assert err.getvalue().splitlines() == [
        "wisp: an unexpected error stopped the command (RuntimeError: the router said ******** "
        f"was odd); the details are in {log}."
    ]
    written = log.read_text()
    assert "Traceback (most recent call last)" in written and "in broken" in written
    assert "Rtr-pw-9x" not in written
    assert oct(log.stat().st_mode & 0o777) == "0o600"
