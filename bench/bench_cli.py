"""`wisp` start-up: prints whole-process times and ratios, asserts nothing.

    .venv/bin/python bench/bench_cli.py [--runs 15]

Two commands, each run as its own process, as an operator or a script runs them: `wisp --help`,
and `wisp jobs --json` on an empty SQLite database made by `wisp init` for the run. Each is timed
from the start of the process to its exit (best and median of the runs, wall clock; the CPU time
of the process beside it, which a loaded machine disturbs less). The baseline is measured in the
same run, each of its runs alternating with one of the command's: the same command in a process
that first imports what the CLI used to import before it parsed a word (SQLAlchemy, SQLModel,
the data layer's modules, the reconciler, the console's panes, and for `jobs` Alembic, which its
schema check loaded), so the difference is what importing only what a command needs saves, and
for `jobs` also reading the SQLite file with sqlite3 rather than through SQLAlchemy.
Targets (an idle 2-core machine): `wisp --help` <= 0.15 s, `wisp jobs --json` <= 0.30 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

EAGER = (
    "sqlalchemy",
    "sqlmodel",
    "db.activation",
    "db.catalog",
    "db.config",
    "db.engine",
    "db.ledger",
    "db.models",
    "db.outage",
    "db.paths",
    "db.phones",
    "db.queue",
    "db.reports",
    "db.secrets",
    "db.shaping",
    "db.suspension",
    "db.types",
    "db.validation",
    "console.views.panes",
    "scheduler.reconcile.comment_dates",
    "scheduler.reconcile.compare",
    "scheduler.reconcile.fix",
    "scheduler.reconcile.import_plan",
    "scheduler.reconcile.import_write",
    "scheduler.reconcile.sides",
    "scheduler.sim.cli",
    "scheduler.mpesa_sim.cli",
)
"""What every module of console/cli imported at its top before the CLI imported on demand."""
SCHEMA_CHECK = ("alembic.runtime.migration", "alembic.script")
"""What the schema check of every database command imported (Alembic's revision reading)."""
TARGETS = {"wisp --help": 0.15, "wisp jobs --json": 0.30}


def wisp() -> list[str]:
    """The `wisp` console script beside this interpreter, else the package run as a module."""
    script = Path(sys.executable).parent / "wisp"
    return [str(script)] if script.exists() else [sys.executable, "-m", "console.cli"]


def eager(modules: tuple[str, ...]) -> list[str]:
    """`wisp` in a process that imports `modules` first (the baseline)."""
    code = f"import sys, {', '.join(modules)}\nfrom console.cli import main\nsys.exit(main())"
    return [sys.executable, "-c", code]


def environment() -> dict[str, str]:
    """The caller's environment without its WISP_ settings: the run's config file decides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WISP_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one process, from its start to its exit."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def compare(
    label: str, command: list[str], baseline: list[str], env: dict[str, str], runs: int
) -> None:
    found: dict[str, list[tuple[float, float]]] = {"baseline": [], "now": []}
    timed(command, env)  # warm the file cache once for both
    timed(baseline, env)
    for _ in range(runs):
        found["baseline"].append(timed(baseline, env))
        found["now"].append(timed(command, env))
    print(f"\n{label} ({runs} runs each, alternating; target <= {TARGETS[label]:.2f} s)")
    figures = {}
    for name, times in found.items():
        walls, cpus = [w for w, _ in times], [c for _, c in times]
        figures[name] = (min(walls), statistics.median(walls))
        print(
            f"  {'eager imports (before)' if name == 'baseline' else 'on-demand imports (now)':24}"
            f" wall best {min(walls):6.3f} s  median {statistics.median(walls):6.3f} s   "
            f"CPU best {min(cpus):6.3f} s  median {statistics.median(cpus):6.3f} s"
        )
    (before_best, before_median), (now_best, now_median) = figures["baseline"], figures["now"]
    print(
        f"  before / now: best {before_best / now_best:.1f}x, median "
        f"{before_median / now_median:.1f}x   target {TARGETS[label]:.2f} s: best "
        f"{'met' if now_best <= TARGETS[label] else 'not met'} on this machine now"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    env = environment()
    print(f"load average at start: {' '.join(f'{n:.2f}' for n in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="wisp-bench-cli-") as where:
        config = Path(where) / "config.toml"
        config.write_text('[database]\nurl = "sqlite:///wisp.db"\n')
        given = ["--config", str(config)]
        # `wisp init` writes the .env with a new WISP_SECRET_KEY beside the config file.
        timed([*wisp(), *given, "init"], env)
        compare("wisp --help", [*wisp(), "--help"], [*eager(EAGER), "--help"], env, args.runs)
        compare(
            "wisp jobs --json",
            [*wisp(), *given, "jobs", "--json"],
            [*eager(EAGER + SCHEMA_CHECK), *given, "jobs", "--json"],
            env,
            args.runs,
        )
    print(f"\nload average at end: {' '.join(f'{n:.2f}' for n in os.getloadavg())}")


if __name__ == "__main__":
    main()
