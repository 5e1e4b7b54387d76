"""The `wisp` command run in this process against a real database of each backend and a simulated
router over real TCP: `shop` gives a database with a router, packages and clients to work on."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from console.cli import main
from scheduler.sim import SimRouter

PASSWORD = "lab-pw"


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class Wisp:
    """`wisp --config CONFIG ...` in this process: its exit code, stdout and stderr."""

    def __init__(self, config: Path) -> None:
        self.config = config

    def __call__(self, *args: str, stdin: str = "") -> Result:
        out, err = io.StringIO(), io.StringIO()
        saved = sys.stdin
        sys.stdin = io.StringIO(stdin)
        try:
            with redirect_stdout(out), redirect_stderr(err):
                code = main(["--config", str(self.config), *args])
        except SystemExit as exit:  # argparse's usage errors
            code = int(exit.code or 0)
        finally:
            sys.stdin = saved
        return Result(code, out.getvalue(), err.getvalue())

    def ok(self, *args: str, stdin: str = "") -> Result:
        result = self(*args, stdin=stdin)
        assert result.code == 0, result.err
        return result


@pytest.fixture
def sim() -> Iterator[SimRouter]:
    with SimRouter(password=PASSWORD) as router:
        yield router


def write_config(folder: Path, url: str) -> Path:
    path = folder / "config.toml"
    path.write_text(
        f"[database]\nurl = {json.dumps(url)}\n[routers]\nconnect_timeout = 10.0\n"
        "command_timeout = 30.0\n"
    )
    return path


@pytest.fixture
def wisp(engine: Engine, tmp_path: Path) -> Wisp:
    """The command on an empty migrated database of each backend."""
    return Wisp(write_config(tmp_path, engine.url.render_as_string(hide_password=False)))


@pytest.fixture
def shop(wisp: Wisp, sim: SimRouter) -> Wisp:
    """Router r1 (the simulator), hotspot package Day (1 day, 50), PPPoE package Home (30 days,
    1500) and clients amina and bob."""
    wisp.ok(
        *("router", "add", "r1", "--host", "127.0.0.1", "--port", str(sim.port)),
        "--password-stdin",
        stdin=f"{PASSWORD}\n",
    )
    common = ("--router", "r1", "--rate", "5M")
    wisp.ok(
        "package", "add", "Day", "--type", "hotspot", "--price", "50", "--validity", "1d", *common
    )
    wisp.ok(
        *("package", "add", "Home", "--type", "pppoe", "--price", "1500", "--validity", "30d"),
        *common,
    )
    wisp.ok("client", "add", "amina", "--name", "Amina Wanjiru", "--phone", "0722000111")
    wisp.ok("client", "add", "bob", "--name", "Bob Otieno")
    return wisp
