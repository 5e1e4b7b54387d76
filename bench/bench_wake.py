"""Wake-up across processes on PostgreSQL: prints figures and ratios, asserts nothing.

    .venv/bin/python bench/bench_wake.py [--count 200] [--server postgresql://postgres@127.0.0.1:5432/postgres]

`wisp activate` in one process while `wisp run` serves in another: the time from the activation's
commit to the user being readable on the router, at 20 activations per second. With the job's
notice (a trigger NOTIFYs `wisp_jobs`, the runner LISTENs) against the baseline measured in the
same run on the same server: the same database without the trigger, where the runner finds the
job at its next drain tick (every second, the default). Each run has a database of its own,
dropped at the end. The routers run in a child process (`scheduler.sim`).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402

from bench.bench_drain import latency_across_processes, percentile  # noqa: E402
from db.engine import make_engine  # noqa: E402


class Database:
    """A database of its own on the server, dropped on close."""

    def __init__(self, server: str, name: str) -> None:
        self.admin = make_engine(server, pool=False)
        self.name = name
        with self.admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.url = self.admin.url.set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        with self.admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def without_notices(url: str) -> None:
    """The baseline: the same schema without the trigger that announces due jobs."""
    engine = make_engine(url, pool=False)
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER router_provisionings_due ON router_provisionings"))
    engine.dispose()


def measure(folder: Path, server: str, count: int, notices: bool) -> list[float]:
    label = "notices" if notices else "polling"
    database = Database(server, f"wisp_bench_wake_{label}_{os.getpid()}")
    try:
        if not notices:
            from db.engine import upgrade

            engine = make_engine(database.url, pool=False)
            upgrade(engine)
            engine.dispose()
            without_notices(database.url)
        return latency_across_processes(folder, count, database.url, name=label)
    finally:
        database.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    try:
        make_engine(args.server, pool=False).connect().close()
    except OperationalError:
        print(
            f"PostgreSQL at {args.server} cannot be reached: the wake-up bench needs it; skipped."
        )
        return
    with tempfile.TemporaryDirectory(prefix="wisp-bench-") as where:
        folder = Path(where)
        polling = measure(folder, args.server, args.count, notices=False)
        notified = measure(folder, args.server, args.count, notices=True)
    print("\nActivation in another process → readable on the router, PostgreSQL, 20 per second")
    for label, values in (("baseline: drain tick", polling), ("job notices", notified)):
        print(
            f"  {label:21} p50 {percentile(values, 0.5) * 1000:7.1f} ms   "
            f"p99 {percentile(values, 0.99) * 1000:7.1f} ms   ({len(values)} activations)"
        )
    ratio = percentile(polling, 0.99) / percentile(notified, 0.99)
    print(f"  p99 baseline / notices: {ratio:.1f}x   target p99 <= 250 ms")


if __name__ == "__main__":
    main()
