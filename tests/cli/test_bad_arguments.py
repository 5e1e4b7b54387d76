"""Arguments no count, id or text can be: one line on stderr, exit 2, nothing done."""

from __future__ import annotations

import io
import os
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from console.cli.main import main


def wisp(*argv: str) -> tuple[int, list[str]]:
    err = io.StringIO()
    with redirect_stdout(io.StringIO()), redirect_stderr(err):
        code = main(list(argv))
    return code, err.getvalue().splitlines()


@pytest.fixture(autouse=True)
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert wisp("init")[0] == 0


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (("jobs", "--limit", "-1"), "wisp: limit -1 is out of range (a whole number from 1 to "),
        (("jobs", "--limit", "0"), "wisp: limit 0 is out of range (a whole number from 1 to "),
        (("retry", str(10**20)), f"wisp: job {10**20} is out of range (a whole number from 0 to "),
        (
            ("client", "add", os.fsdecode(b"\xff"), "--name", "x"),
            "wisp: argument b'\\xff' is not valid UTF-8 text.",
        ),
    ],
)
def test_an_argument_out_of_range_is_one_line_and_exit_2(argv: tuple[str, ...], line: str) -> None:
    code, lines = wisp(*argv)
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith(line)
    assert wisp("client", "list")[0] == 0


def test_a_worker_name_longer_than_the_queue_holds_is_refused_before_a_drain() -> None:
    code, lines = wisp("run", "--once", "--worker", "w" * 200)
    assert (code, lines) == (2, ["wisp: --worker must be 1 to 128 printable characters."])
