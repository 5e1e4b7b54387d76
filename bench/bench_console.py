"""Console benchmark with 100,000 subscriptions and 100,000 queue rows: prints figures, asserts nothing.

    .venv/bin/python bench/bench_console.py [--rows 100000] [--users 10000] [--starts 5]

Figures: from the command to the first paint and to the panes' data (`wisp console`, embedded
engine and all, started `--starts` times in a fresh interpreter on a pseudo-terminal, each time on
the database as built; median and range), the UI-thread time of one refresh tick (applying a poll
by key diff; the query itself runs in a worker thread and is reported apart), peak RSS of the
console process, and the time until the first and the last of 10,000 router users appear on the
router users screen. The data is built in a child process with bulk inserts and the router is
`wisp sim` in another process, so the RSS is the console's own (the tick, RSS and users figures
come from a console run in this process).
Targets: first paint <= 0.6 s, panes' data <= 1 s, tick <= 30 ms of UI time, peak RSS <= 200 MB,
first users <= 0.5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402

os.environ.setdefault("WISP_SECRET_KEY", Fernet.generate_key().decode())

SIM_PASSWORD = "bench-sim-pw"
TICKS = 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_router(port: int, users: int) -> subprocess.Popen[bytes]:
    """`wisp sim` with `users` hotspot users, in its own process; returns once it listens."""
    command = [
        sys.executable,
        "-m",
        "console",
        "sim",
        "--port",
        str(port),
        "--password",
        SIM_PASSWORD,
        "--seed-users",
        str(users),
    ]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the simulated router did not start")


def build(path: str, rows: int, port: int) -> None:
    """Run in a child process: the database with `rows` subscriptions and queue rows."""
    from bench.console_data import build_database

    started = time.perf_counter()
    build_database(path, rows, port, SIM_PASSWORD)
    print(
        f"built {rows:,} subscriptions and {rows:,} queue rows in "
        f"{time.perf_counter() - started:.1f} s"
    )


async def measure(url: str) -> dict[str, float]:
    """Open the console on the database and take every figure."""
    from bench.console_measure import run_console_figures

    return await run_console_figures(url, ticks=TICKS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--starts", type=int, default=5, help="times `wisp console` is started")
    parser.add_argument("--build", metavar="PATH", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        build(args.build, args.rows, args.port)
        return
    folder = Path(tempfile.mkdtemp(prefix="wisp-bench-console-"))
    port = free_port()
    router = start_router(port, args.users)
    try:
        database = folder / "bench.db"
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--build",
                str(database),
                "--rows",
                str(args.rows),
                "--port",
                str(port),
            ],
            check=True,
            env={**os.environ},
        )
        starts = start_console(folder, database, args.rows, args.starts)
        figures = asyncio.run(measure(f"sqlite:///{database}"))
    finally:
        router.terminate()
        router.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
    report(figures, starts, args.users)


def start_console(folder: Path, database: Path, rows: int, times: int) -> list[tuple[float, float]]:
    """Start `wisp console` on the database `times` times, each on the database as built (the
    embedded engine drains it meanwhile); the moments of its first frame and of its data."""
    from bench.console_terminal import time_console

    config = folder / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{database}"\n')
    built = folder / "built.db"
    shutil.copyfile(database, built)
    env = {**os.environ, "XDG_STATE_HOME": str(folder / "state")}  # the console's log file
    moments = []
    for _ in range(times):
        _restore(built, database)
        moments.append(time_console(ROOT, config, rows, env))
    _restore(built, database)
    return moments


def _restore(built: Path, database: Path) -> None:
    for journal in ("-wal", "-shm"):
        Path(f"{database}{journal}").unlink(missing_ok=True)
    shutil.copyfile(built, database)


def report(figures: dict[str, float], starts: list[tuple[float, float]], users: int) -> None:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for index, label in enumerate(("first paint", "panes' data")):
        moments = sorted(start[index] * 1000 for start in starts)
        print(
            f"from the command to {label}: {' '.join(f'{m:.0f}' for m in moments)} ms "
            f"(median {statistics.median(moments):.0f})"
        )
    rows = [
        (
            "from the command to first paint (median)",
            statistics.median(start[0] for start in starts) * 1000,
            "ms",
            600,
        ),
        (
            "from the command to panes' data (median)",
            statistics.median(start[1] for start in starts) * 1000,
            "ms",
            1000,
        ),
        ("app start to panes' data, in process", figures["first_paint"] * 1000, "ms", None),
        ("refresh tick, UI thread (median)", figures["tick_median"] * 1000, "ms", 30),
        ("refresh tick, UI thread (worst)", figures["tick_max"] * 1000, "ms", 30),
        ("refresh tick, query in worker (median)", figures["query_median"] * 1000, "ms", None),
        ("peak RSS of the console", rss, "MB", 200),
        (f"first of {users:,} router users", figures["users_first"] * 1000, "ms", 500),
        (f"last of {users:,} router users", figures["users_last"] * 1000, "ms", None),
    ]
    print(f"{'figure':<42}{'value':>10}  {'target':>8}  ratio")
    for name, value, unit, target in rows:
        goal = f"{target} {unit}" if target else "-"
        ratio = f"{value / target:.2f}" if target else "-"
        print(f"{name:<42}{value:>8.1f} {unit:<2} {goal:>8}  {ratio}")


if __name__ == "__main__":
    main()
