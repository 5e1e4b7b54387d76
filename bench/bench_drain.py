"""Drain benchmark against simulated routers over TCP: prints figures and ratios, asserts nothing.

    .venv/bin/python bench/bench_drain.py [--quick]

Figures: jobs/s for a 2,000-job backlog on one router and 20,000 jobs over 20 routers; the same
backlog drained the way today's PHP tools do it (claim one job, a new connection and login, find,
add or set, mark it completed: one account at
a time) as the baseline; both again with 50 ms added to every router command; and the latency from
`activate` returning to the user being readable on the router at 20 activations per second, with
the engine in the same process (idle, and while another router drains a backlog of 2,000 bulk
jobs, topped up as it goes) and in another process (`wisp run`). The routers run in a child
process (`scheduler.sim`), as a real router is another machine, and are watched for the new
users from another child process, as a customer would see them. The database is SQLite.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402

os.environ.setdefault("WISP_SECRET_KEY", Fernet.generate_key().decode())

from sqlalchemy import func, insert, select  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bench.simprocess import SimProcess  # noqa: E402
from db import catalog, logs, queue, secrets  # noqa: E402
from db.activation import ActivationService  # noqa: E402
from db.config import Settings  # noqa: E402
from db.engine import make_engine, session_scope, upgrade  # noqa: E402
from db.models import Package, RouterProvisioning  # noqa: E402
from db.types import utcnow  # noqa: E402
from scheduler.engine.service import ProvisioningService  # noqa: E402
from scheduler.routeros import actions  # noqa: E402
from scheduler.routeros.client import Endpoint, RouterClient  # noqa: E402

PASSWORD = "bench-pw"
LATENCY = 0.050
REFILL = 200
"""Bulk jobs added at a time to keep another router's backlog full."""


class Lab:
    """A fresh database (SQLite unless `url` names an empty one) and `routers` simulated routers,
    each with a hotspot package."""

    def __init__(self, folder: Path, routers: int, url: str | None = None) -> None:
        folder.mkdir(parents=True)
        self.url = url or f"sqlite:///{folder / 'wisp.db'}"
        self.engine = make_engine(self.url)
        upgrade(self.engine)
        self.sim = SimProcess(routers, PASSWORD)
        with session_scope(self.engine) as session:
            for n, port in enumerate(self.sim.ports, 1):
                catalog.add_router(
                    session,
                    name=f"r{n}",
                    host="127.0.0.1",
                    port=port,
                    username="admin",
                    password=PASSWORD,
                )
                spec = catalog.PackageSpec(
                    name=f"p{n}",
                    type="hotspot",
                    router=f"r{n}",
                    price="100",
                    validity="30d",
                    rate="10M",
                )
                catalog.add_package(session, spec)

    def settings(self) -> Settings:
        settings = Settings()
        settings.database.url = self.url
        return settings

    def queue(
        self, per_router: int, prefix: str = "u", only: str | None = None, priority: int = 0
    ) -> int:
        """Queue `per_router` activations on every router, or on router `only` (bulk insert);
        returns the total."""
        with Session(self.engine) as session:
            packages = [
                p
                for p in session.scalars(select(Package))
                if only is None or p.name == f"p{only[1:]}"
            ]
        password, now = secrets.encrypt("client-pw"), utcnow()
        rows = [
            {
                "router_id": p.router_id,
                "package_id": p.id,
                "service_type": "hotspot",
                "action": "activate",
                "router_username": f"{p.name}{prefix}{n:05}",
                "router_password": password,
                "router_profile": p.router_profile,
                "status": "pending",
                "priority": priority,
                "attempts": 0,
                "revision": 1,
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for p in packages
            for n in range(per_router)
        ]
        with self.engine.begin() as connection:
            for start in range(0, len(rows), 5000):
                connection.execute(insert(RouterProvisioning.__table__), rows[start : start + 5000])  # type: ignore[attr-defined]
        return len(rows)

    def close(self) -> None:
        self.sim.stop()
        self.engine.dispose()


def engine_rate(lab: Lab, jobs: int, *, sessions: int | None = None, in_flight: int = 0) -> float:
    """Jobs per second of the engine draining a backlog of `jobs` (with that many sessions per
    router and commands in flight per session, if given)."""
    settings = lab.settings()
    if sessions is not None:
        settings.routers.sessions = sessions
    if in_flight:
        settings.routers.commands_in_flight = in_flight
    service = ProvisioningService(settings, lab.engine, worker="bench")
    started = time.perf_counter()
    report = service.drain_once()
    elapsed = time.perf_counter() - started
    service.shutdown()
    assert report.completed == jobs, f"only {report} of {jobs}"
    return jobs / elapsed


def baseline_rate(lab: Lab, sample: int) -> float:
    """Jobs per second the PHP way, one job at a time: claim it, connect and log in, find the
    user, add or set it, disconnect, mark the job completed with its log entry."""
    lab.queue(sample, prefix="legacy")
    port = lab.sim.ports[0]
    started = time.perf_counter()
    for _ in range(sample):
        [job] = queue.claim(lab.engine, worker="php", limit=1)
        with RouterClient(Endpoint("r1", "127.0.0.1", port, "admin", PASSWORD)) as client:
            found = actions.find(client, "/ip/hotspot/user", job.router_username, ())
            values = {"password": secrets.decrypt(job.router_password or ""), "profile": "default"}
            if found is None:
                client.add("/ip/hotspot/user", {"name": job.router_username, **values})
            else:
                client.set("/ip/hotspot/user", found[".id"], values)
        with session_scope(lab.engine) as session:
            queue.complete(session, job, worker="php")
            logs.info(
                session,
                "Router",
                f"{job.router_username} activated (job {job.id}).",
                provisioning_id=job.id,
            )
    return sample / (time.perf_counter() - started)


def drain_figures(folder: Path, label: str, latency: float, quick: bool) -> dict[str, float]:
    """One router × 2,000, baseline, 20 routers × 1,000: jobs/s at the given latency."""
    backlog, fleet = (500, 5) if quick else (2000, 20)
    figures: dict[str, float] = {}
    lab = Lab(folder / f"{label}-one", 1)
    lab.sim.set_latency(latency)
    sample = backlog if latency == 0 else (20 if quick else 60)
    figures["baseline"] = baseline_rate(lab, sample)
    # The engine with one session and no tags: one command at a time, as before pipelining.
    figures["untagged"] = engine_rate(
        lab, lab.queue(sample, prefix="untagged"), sessions=1, in_flight=1
    )
    figures["one"] = engine_rate(lab, lab.queue(backlog))
    figures["baseline_sample"] = sample
    lab.close()
    lab = Lab(folder / f"{label}-fleet", fleet)
    lab.sim.set_latency(latency)
    figures["fleet"] = engine_rate(lab, lab.queue(backlog // 2 if quick else 1000))
    lab.close()
    return figures


def readable_latencies(
    lab: Lab, activate: Callable[[str], object], count: int, rate: float
) -> list[float]:
    """Seconds from `activate` returning to the user being readable on the router.

    The router is watched from a child process, as a customer's device or a monitor would see
    it: a thread of this process polling it every millisecond would itself compete for the
    interpreter lock with the engine it times (and wait for it before it saw the user).
    """
    context = mp.get_context("spawn")
    pipe, child = context.Pipe()
    watcher = context.Process(target=watch_router, args=(child, lab.sim.ports[0]), daemon=True)
    watcher.start()
    pipe.recv()  # watching
    for n in range(count):
        due = time.perf_counter() + 1 / rate
        name = f"c{n:04}"
        activate(name)
        pipe.send((name, clock()))
        time.sleep(max(0.0, due - time.perf_counter()))
    pipe.send(None)
    seen: list[tuple[str, float]] = pipe.recv() if pipe.poll(60) else []
    watcher.join(timeout=10)
    return [seconds for _, seconds in seen]


def clock() -> float:
    """Seconds by the system's monotonic clock, the same in every process of this machine."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def watch_router(pipe: Connection, port: int) -> None:
    """In a child process: poll router r1 every millisecond for each (name, since) sent until
    None comes and every name was seen; send back each name with the seconds from its `since`
    to its user being readable."""
    client = RouterClient(Endpoint("r1", "127.0.0.1", port, "admin", PASSWORD))
    client.connect()
    pending: dict[str, float] = {}
    seen: list[tuple[str, float]] = []
    done = False
    pipe.send("watching")
    while not done or pending:
        while pipe.poll(0 if pending or done else 0.001):
            message = pipe.recv()
            if message is None:
                done = True
            else:
                pending[message[0]] = message[1]
        for name, since in list(pending.items()):
            if client.print("/ip/hotspot/user", where={"name": name}, proplist=(".id",)):
                seen.append((name, clock() - since))
                del pending[name]
        if pending:
            time.sleep(0.001)
    client.close()
    pipe.send(seen)


def add_clients(lab: Lab, count: int) -> None:
    with session_scope(lab.engine) as session:
        for n in range(count):
            catalog.add_client(session, username=f"c{n:04}", full_name=f"Client {n}")


def latency_in_process(folder: Path, count: int) -> list[float]:
    """The console's case: the engine embedded, woken by each activation."""
    lab = Lab(folder / "latency-embedded", 1)
    add_clients(lab, count)
    service = ProvisioningService(lab.settings(), lab.engine, worker="bench")
    service.start()
    activations = ActivationService(lab.engine)
    time.sleep(0.5)

    def activate(name: str) -> None:
        activations.activate(name, "p1")
        service.wake()

    try:
        return readable_latencies(lab, activate, count, 20.0)
    finally:
        service.shutdown()
        lab.close()


def latency_beside_backlog(folder: Path, count: int, backlog: int) -> tuple[list[float], int]:
    """The console's case while another router drains a backlog (a voucher batch, a midnight
    expiry): activations on r1, woken in the same process, while r2 works through `backlog`
    bulk jobs, topped up as it goes. Returns the latencies and the bulk
    jobs completed meanwhile."""
    lab = Lab(folder / "latency-beside", 2)
    add_clients(lab, count)
    service = ProvisioningService(lab.settings(), lab.engine, worker="bench")
    activations = ActivationService(lab.engine)
    stop = threading.Event()
    rounds = [0]

    def pending_bulk() -> int:
        # Counted by the database: loading the ids of thousands of rows every 50 ms took a
        # sixth of this process's interpreter lock from the engine being timed.
        with Session(lab.engine) as session:
            return session.execute(
                select(func.count()).where(
                    RouterProvisioning.status == "pending",  # type: ignore[arg-type]
                    RouterProvisioning.priority == 1,  # type: ignore[arg-type]
                )
            ).scalar_one()

    def refill() -> None:
        # Topped up a part at a time, as a small insert: one of thousands of rows would hold
        # the database as no drain does.
        while not stop.is_set():
            if pending_bulk() < backlog:
                rounds[0] += 1
                lab.queue(REFILL, prefix=f"bulk{rounds[0]}-", only="r2", priority=1)
                service.wake()
            stop.wait(0.05)

    def activate(name: str) -> None:
        activations.activate(name, "p1")
        service.wake()

    lab.queue(backlog, prefix="bulk0-", only="r2", priority=1)
    service.start()
    filler = threading.Thread(target=refill, daemon=True)
    filler.start()
    time.sleep(0.5)  # the backlog is under way
    try:
        seen = readable_latencies(lab, activate, count, 20.0)
    finally:
        stop.set()
        filler.join()
        service.shutdown()
        done = backlog + rounds[0] * REFILL - pending_bulk()
        lab.close()
    return seen, done


def latency_across_processes(
    folder: Path,
    count: int,
    url: str | None = None,
    name: str = "latency-processes",
    started: Callable[[Lab], None] | None = None,
) -> list[float]:
    """An activation in one process, `wisp run` (drain every second) in another; `started` is
    called once the runner is up."""
    lab = Lab(folder / name, 1, url)
    add_clients(lab, count)
    config = folder / name / "config.toml"
    config.write_text(f'[database]\nurl = "{lab.url}"\n')
    runner = subprocess.Popen(
        [sys.executable, "-m", "console.cli", "run"],
        cwd=ROOT,
        env={**os.environ, "WISP_CONFIG": str(config)},
        stderr=subprocess.DEVNULL,
    )
    time.sleep(2.0)
    if started is not None:
        started(lab)
    activations = ActivationService(lab.engine)
    try:
        return readable_latencies(lab, lambda name: activations.activate(name, "p1"), count, 20.0)
    finally:
        runner.terminate()
        runner.wait(timeout=30)
        lab.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def report(
    loopback: dict[str, float],
    far: dict[str, float],
    embedded: list[float],
    beside: list[float],
    remote: list[float],
    quick: bool,
) -> None:
    backlog, routers = ("500", "5") if quick else ("2,000", "20")
    print("\nDrain throughput (jobs/s; routers in a child process over TCP, SQLite)")
    print(
        f"  loopback     one router, {backlog} backlog:   {loopback['one']:8.0f}   target >= 2,000"
    )
    print(
        f"  loopback     {routers} routers:                 {loopback['fleet']:8.0f}   target >= 2,500"
    )
    print(
        f"  loopback     baseline (PHP way, {loopback['baseline_sample']:.0f} jobs):    {loopback['baseline']:8.0f}"
    )
    print(
        f"  loopback     ratio engine / baseline:       {loopback['one'] / loopback['baseline']:8.1f}x  target >= 3x"
    )
    print(
        f"  50 ms/cmd    one router, {backlog} backlog:   {far['one']:8.1f}   target >= 400 "
        f"({Settings().routers.sessions} sessions)"
    )
    print(f"  50 ms/cmd    {routers} routers:                 {far['fleet']:8.1f}")
    print(
        f"  50 ms/cmd    baseline:                      {far['baseline']:8.2f}   "
        f"(measured on {far['baseline_sample']:.0f} jobs, extrapolated to the backlog)"
    )
    print(
        f"  50 ms/cmd    ratio engine / baseline:       {far['one'] / far['baseline']:8.1f}x  target >= 10x"
    )
    for label, figures in (("loopback  ", loopback), ("50 ms/cmd ", far)):
        print(
            f"  {label}   one session, no tags ({figures['baseline_sample']:.0f} jobs): "
            f"{figures['untagged']:8.1f}   pipelined {figures['one'] / figures['untagged']:.1f}x that"
        )
    print("\nActivation → readable on the router, 20 activations/s")
    for label, values, target in (
        ("in-process", embedded, "100 ms"),
        ("beside a backlog", beside, "50 ms"),
        ("across processes", remote, "1.5 s"),
    ):
        print(
            f"  {label:17} p50 {percentile(values, 0.5) * 1000:7.1f} ms   p99 {percentile(values, 0.99) * 1000:7.1f} ms"
            f"   ({len(values)} activations; target p99 <= {target})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller backlogs, for a fast look")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wisp-bench-") as where:
        folder = Path(where)
        loopback = drain_figures(folder, "loopback", 0.0, args.quick)
        far = drain_figures(folder, "far", LATENCY, args.quick)
        count = 60 if args.quick else 200
        embedded = latency_in_process(folder, count)
        beside, bulk = latency_beside_backlog(folder, count, 500 if args.quick else 2000)
        remote = latency_across_processes(folder, count)
    report(loopback, far, embedded, beside, remote, args.quick)
    print(f"  (beside a backlog: r2 completed {bulk} bulk jobs meanwhile, its backlog refilled)")


if __name__ == "__main__":
    main()
