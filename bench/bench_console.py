"""Console benchmark with 100,000 subscriptions and 100,000 queue rows: prints figures, asserts nothing.

    .venv/bin/python bench/bench_console.py [--rows 100000] [--users 10000]

Figures: time to first paint (app start until the panes show the database; the interpreter's
start and imports are measured apart and added), the UI-thread time of
one refresh tick (applying a poll by key diff; the query itself runs in a worker thread and is
reported apart), peak RSS of the console process, and the time until the first and the last of
10,000 router users appear on the router users screen. The data is built in a child process with
bulk inserts and the router is `wisp sim` in another process, so the RSS is the console's own.
Targets: first paint <= 1 s, tick <= 30 ms of UI time, peak RSS <= 200 MB, first users <= 0.5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import socket
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
        figures = asyncio.run(measure(f"sqlite:///{database}"))
        figures["imports"] = import_time()
    finally:
        router.terminate()
        router.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
    report(figures, args.users)


def import_time() -> float:
    """Seconds a fresh interpreter takes to import the console (paid before the first paint)."""
    begun = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import console.app"], cwd=ROOT, check=True)
    return time.perf_counter() - begun


def report(figures: dict[str, float], users: int) -> None:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = [
        ("time to first paint (app start)", figures["first_paint"] * 1000, "ms", 1000),
        ("  + interpreter and imports (cold)", figures["imports"] * 1000, "ms", None),
        (
            "  = from the command to first paint",
            (figures["imports"] + figures["first_paint"]) * 1000,
            "ms",
            1000,
        ),
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
