"""Wake-up across processes: prints figures and ratios, asserts nothing.

    .venv/bin/python bench/bench_wake.py [--count 200] [--postgresql URL] [--mariadb URL]

`wisp activate` in one process while `wisp run` serves in another: the time from the activation's
commit to the user being readable on the router, at 20 activations per second, on SQLite,
PostgreSQL and MariaDB. With word of the job (PostgreSQL: a trigger NOTIFYs `wisp_jobs` and the
runner LISTENs; SQLite and MariaDB: a datagram to the port the runner announced) against the baseline measured in the same run on the same database: word of the job
taken away (the trigger dropped, the announcement deleted), so the runner finds the job at its
next drain tick (every second, the default). Server databases are made for the run and dropped at the end; a server
that cannot be reached is skipped with a line saying so. The routers run in a child process.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402

from bench.bench_drain import Lab, latency_across_processes, percentile  # noqa: E402
from db.engine import make_engine  # noqa: E402


@contextmanager
def database(server: str, name: str) -> Iterator[str]:
    """A database of its own on `server`, dropped after."""
    admin = make_engine(server, pool=False)
    quote = "`" if admin.dialect.name != "postgresql" else '"'
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {quote}{name}{quote}"))
        conn.execute(text(f"CREATE DATABASE {quote}{name}{quote}"))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        force = " WITH (FORCE)" if admin.dialect.name == "postgresql" else ""
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {quote}{name}{quote}{force}"))
        admin.dispose()


def without_word(lab: Lab) -> None:
    """The baseline: nothing tells the runner of a job, so its drain tick finds it."""
    if lab.engine.dialect.name == "postgresql":
        with lab.engine.begin() as conn:
            conn.execute(text("DROP TRIGGER router_provisionings_due ON router_provisionings"))
        return
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the runner's announcement, once it is made
        with lab.engine.begin() as conn:
            if conn.execute(text("DELETE FROM wake_listeners")).rowcount:
                return
        time.sleep(0.1)
    raise SystemExit("the runner never announced where to hear of jobs")


def measure(folder: Path, backend: str, server: str, count: int) -> dict[str, list[float]]:
    found = {}
    for label, started in (("polling", without_word), ("word", None)):
        name = f"wisp_bench_wake_{label}_{os.getpid()}"
        if backend == "sqlite":
            url = f"sqlite:///{folder / (name + '.db')}"
            found[label] = latency_across_processes(
                folder, count, url, name=f"{backend}-{label}", started=started
            )
            continue
        with database(server, name) as url:
            found[label] = latency_across_processes(
                folder, count, url, name=f"{backend}-{label}", started=started
            )
    return found


def reachable(server: str) -> bool:
    try:
        make_engine(server, pool=False).connect().close()
    except OperationalError:
        print(f"{server} cannot be reached: skipped.")
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--postgresql", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--mariadb", default="mariadb://root@127.0.0.1:3306/mysql")
    args = parser.parse_args()
    servers = {"sqlite": "", "postgresql": args.postgresql, "mariadb": args.mariadb}
    results = {}
    with tempfile.TemporaryDirectory(prefix="wisp-bench-") as where:
        for backend, server in servers.items():
            if backend == "sqlite" or reachable(server):
                results[backend] = measure(Path(where), backend, server, args.count)
    print("\nActivation in another process → readable on the router, 20 per second")
    for backend, found in results.items():
        polling, word = found["polling"], found["word"]
        for label, values in (("baseline: drain tick", polling), ("word of the job", word)):
            print(
                f"  {backend:10} {label:21} p50 {percentile(values, 0.5) * 1000:7.1f} ms   "
                f"p99 {percentile(values, 0.99) * 1000:7.1f} ms   ({len(values)} activations)"
            )
        ratio = percentile(polling, 0.99) / percentile(word, 0.99)
        target = "250 ms" if backend == "postgresql" else "500 ms"
        print(f"  {backend:10} p99 baseline / word: {ratio:.1f}x   target p99 <= {target}")


if __name__ == "__main__":
    main()
