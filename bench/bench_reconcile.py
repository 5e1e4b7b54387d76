"""Time and peak memory of reconciling a router with 20,000 hotspot users over loopback.

The simulator runs in its own process (a router is its own machine) seeded with N users; the
database (SQLite in a temporary folder) is filled by importing that router, so every user is known
and every password is compared. The reconcile is then timed (best of --repeat) and run once more
under tracemalloc for the peak Python memory it allocates. Target: <= 5 s for 20,000 users.

    .venv/bin/python bench/bench_reconcile.py [--users 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.simprocess import start_wisp_sim  # noqa: E402
from db import secrets  # noqa: E402
from db.config import Settings  # noqa: E402
from db.engine import make_engine, session_scope, upgrade  # noqa: E402
from scheduler.reconcile.compare import reconcile  # noqa: E402
from scheduler.reconcile.import_plan import plan_import  # noqa: E402
from scheduler.reconcile.import_write import apply_import  # noqa: E402

TARGET_SECONDS = 5.0


def prepare_database(folder: str, port: int, settings: Settings):  # type: ignore[no-untyped-def]
    """A migrated SQLite database holding the router and everything imported from it."""
    from db import catalog

    engine = make_engine(f"sqlite:///{folder}/bench.db")
    upgrade(engine)
    with session_scope(engine) as session:
        catalog.add_router(session, name="bench", host="127.0.0.1", port=port, password="")
    started = time.perf_counter()
    plan = plan_import(engine, settings, "bench")
    result = apply_import(engine, plan)
    print(
        f"  imported {result.accounts:,} accounts and {result.packages} packages in "
        f"{time.perf_counter() - started:.1f} s (setup, not measured)"
    )
    return engine


def timed_reconcile(engine, settings: Settings, repeat: int) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    """Best wall time of `repeat` reconciles, and the accounts the last one read."""
    best, seen = float("inf"), 0
    for _ in range(repeat):
        started = time.perf_counter()
        report = reconcile(engine, settings, "bench")
        best = min(best, time.perf_counter() - started)
        seen = report.accounts_seen
        if not report.clean:
            raise SystemExit(f"expected a clean router, found {report.counts}")
    return best, seen


def peak_memory(engine, settings: Settings) -> int:  # type: ignore[no-untyped-def]
    """Peak bytes allocated by Python during one reconcile."""
    tracemalloc.start()
    reconcile(engine, settings, "bench")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("WISP_SECRET_KEY", secrets.new_key())
    settings = Settings()
    print(f"reconcile of a router with {args.users:,} hotspot users (simulator in its own process)")
    process, port = start_wisp_sim(args.users)
    try:
        with tempfile.TemporaryDirectory() as folder:
            engine = prepare_database(folder, port, settings)
            seconds, seen = timed_reconcile(engine, settings, args.repeat)
            peak = peak_memory(engine, settings)
            engine.dispose()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    verdict = "meets" if seconds <= TARGET_SECONDS else "MISSES"
    print(
        f"  reconcile: {seconds:.2f} s for {seen:,} accounts (best of {args.repeat}); "
        f"target <= {TARGET_SECONDS:.0f} s: {verdict}"
    )
    print(f"  peak Python memory during one reconcile: {peak / 2**20:.1f} MiB (tracemalloc)")
    print(f"  process max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
