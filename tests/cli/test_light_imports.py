"""`wisp --help`, every subcommand's `--help` and a usage error load no database, UI, router or
HTTP library: each handler imports what it needs when it runs. `wisp jobs --json` loads the
database and nothing of the UI, the engine or the web. Checked in a fresh interpreter by what
`sys.modules` holds afterwards, never by timing."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from console.cli import jobs, vouchers
from console.cli.main import build_parser
from db.models import JOB_STATUSES, VoucherMode, VoucherState

ROOT = Path(__file__).resolve().parents[2]

LIBRARIES = (
    "sqlalchemy",
    "sqlmodel",
    "pydantic",
    "alembic",
    "textual",
    "librouteros",
    "starlette",
    "uvicorn",
    "httpx",
    "apscheduler",
)
"""What building the parser must not load."""
LIGHT = {
    "db",
    "db.errors",
    "db.localtime",
    "scheduler",
    "scheduler.sim",
    "scheduler.sim.cli",
    "scheduler.sim.faults",
    "scheduler.mpesa_sim",
    "scheduler.mpesa_sim.cli",
    "scheduler.reconcile",
    "scheduler.reconcile.comment_dates",
}
"""The modules of db and scheduler that the parser may load: plain Python describing options."""

PROBE = """
import contextlib, io, json, sys

from console.cli.main import main

LIBRARIES, LIGHT, RUNS = json.loads(sys.argv[1])


def heavy(name):
    top = name.partition(".")[0]
    return top in LIBRARIES or (top in ("db", "scheduler") and name not in LIGHT)


loaded = {}
for argv in RUNS:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit:
            code = exit.code
    loaded[" ".join(argv)] = {
        "code": code,
        "out": out.getvalue(),
        "heavy": sorted(m for m in sys.modules if heavy(m)),
    }
print(json.dumps(loaded))
"""


def probe(runs: list[list[str]], light: set[str] = LIGHT) -> dict[str, dict[str, object]]:
    """Run `main(argv)` for each argv in one fresh interpreter; what each left in sys.modules
    (the modules accumulate: the first run that lists one is the run that loaded it)."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps([LIBRARIES, sorted(light), runs])],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    loaded: dict[str, dict[str, object]] = json.loads(result.stdout)
    return loaded


def command_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[list[str]]:
    """Every command and action (`client`, `client add`, ...) as the words that name it."""
    paths: list[list[str]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                paths.append([*prefix, name])
                paths += command_paths(sub, (*prefix, name))
    return paths


def test_help_of_wisp_and_of_every_subcommand_loads_nothing_heavy() -> None:
    paths = command_paths(build_parser())
    assert len(paths) > 40  # every family and its actions
    runs = [["--help"], *([*path, "--help"] for path in paths)]
    loaded = probe(runs)
    assert {argv: run["heavy"] for argv, run in loaded.items() if run["heavy"]} == {}
    assert all(run["code"] == 0 and "usage: wisp" in str(run["out"]) for run in loaded.values())


def test_usage_errors_load_nothing_heavy() -> None:
    runs = [
        [],
        ["no-such-command"],
        ["jobs", "--limit", "many"],
        ["jobs", "--status", "lost"],
        ["client", "add"],
        ["voucher", "generate", "daily", "--mode", "pin"],
        ["router", "edit"],
        ["pay", "request", "alice"],
        ["sim", "--port", "x"],
    ]
    loaded = probe(runs)
    assert {argv: run["heavy"] for argv, run in loaded.items() if run["heavy"]} == {}
    assert all(run["code"] == 2 for run in loaded.values())


def test_wisp_jobs_on_a_sqlite_file_loads_no_database_library_ui_engine_or_web(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[database]\nurl = "sqlite:///wisp.db"\n')
    init = [sys.executable, "-m", "console.cli", "--config", str(config), "init"]
    subprocess.run(init, cwd=ROOT, capture_output=True, check=True, timeout=120)
    listing, table = (["--config", str(config), "jobs", *more] for more in (["--json"], []))
    loaded = probe([listing, table], light=set())
    run, after = loaded[" ".join(listing)], loaded[" ".join(table)]
    assert (run["code"], json.loads(str(run["out"]))) == (0, [])
    assert (after["code"], after["out"]) == (0, "no jobs\n")
    heavy = set(map(str, after["heavy"]))  # type: ignore[call-overload]
    assert {"db.sqlite_read", "db.config"} <= heavy  # the probe sees what was loaded
    unwanted = {
        name
        for name in heavy
        if name.partition(".")[0] in LIBRARIES
        or name.startswith(("scheduler.engine", "scheduler.routeros", "scheduler.mpesa."))
        or name in ("db.models", "db.engine", "db.activation", "db.catalog", "db.queue")
    }
    assert unwanted == set()


def test_the_choices_written_out_for_the_parser_are_the_databases() -> None:
    assert tuple(status.value for status in JOB_STATUSES) == jobs.STATUSES
    assert tuple(mode.value for mode in VoucherMode) == vouchers.MODES
    assert tuple(state.value for state in VoucherState) == vouchers.STATES
    assert vouchers.MODES[0] == VoucherMode.CODE
