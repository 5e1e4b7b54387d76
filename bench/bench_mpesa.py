"""M-Pesa callback benchmark: prints figures and ratios, asserts nothing.

    .venv/bin/python bench/bench_mpesa.py [--payments 400] [--repeat 3] [--concurrency 16]
                                          [--latency-count 100] [--rate 10]

Throughput: `--payments` distinct C2B confirmations (each to its own client's account number),
each delivered `--repeat` times, shuffled, by `--concurrency` senders at once over real HTTP. The
senders run in a child process (Daraja is another machine); the receiver and the database work
run in this one. Figures: callbacks answered per second, callbacks stored and applied per second
(every callback over the time until the last payment was applied), distinct payments applied per
second, and the slowest answer; then the check that each receipt was paid exactly once.

Latency: C2B confirmations at `--rate` per second with the provisioning engine running in this
process against a simulated router in a child process (real TCP): the time from sending the
confirmation to the user being readable on the router.

Each is measured for the receiver (group commit, applier thread, engine woken) and for the
baseline: one HTTP request per callback processed synchronously (stored and applied inside the
request), the engine draining on its own timer. SQLite, a fresh file for each run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402

os.environ.setdefault("WISP_SECRET_KEY", Fernet.generate_key().decode())

TOKEN = "bench-callback-token-0123456789"
PASSWORD = "bench-pw"
PRICE = "50.00"
POLL = 0.1
"""Seconds between looks whether all is applied: each look takes CPU and SQLite's lock from the
process measured, so not more often; the time until all is applied is known to this much."""


def confirmation(n: int) -> dict[str, str]:
    return {
        "TransactionType": "Pay Bill",
        "TransID": f"BEN{n:07d}",
        "TransTime": "20261130101500",
        "TransAmount": PRICE,
        "BusinessShortCode": "174379",
        "BillRefNumber": f"b{n:05d}",
        "MSISDN": "254708374149",
        "FirstName": "Bench",
    }


# -- the senders (child process) -------------------------------------------------------------------


def send_all(url: str, bodies: list[dict[str, str]], concurrency: int) -> tuple[float, float, dict]:
    """POST every body, `concurrency` at a time; (seconds, slowest answer, status counts)."""
    return asyncio.run(_send_all(url, bodies, concurrency))


async def _send_all(
    url: str, bodies: list[dict[str, str]], concurrency: int
) -> tuple[float, float, dict]:
    """The senders speak HTTP/1.1 through h11 (the protocol engine httpx itself uses) over
    asyncio streams, one keep-alive connection each: an httpx client's own work per request
    capped one process at about 310 requests/s against a server that answers at once, below
    the receiver's pace, so the figure measured the senders. These send over 2,000/s."""
    import json
    from urllib.parse import urlsplit

    import h11

    where = urlsplit(url)
    host, port, target = where.hostname or "127.0.0.1", where.port or 80, where.path
    left = list(reversed(bodies))
    statuses: Counter[int] = Counter()
    slowest = 0.0

    async def sender() -> None:
        nonlocal slowest
        reader, writer = await asyncio.open_connection(host, port)
        peer = h11.Connection(h11.CLIENT)
        try:
            while left:
                body = json.dumps(left.pop()).encode()
                start = time.perf_counter()
                headers = [
                    ("Host", f"{host}:{port}"),
                    ("Content-Type", "application/json"),
                    ("Content-Length", str(len(body))),
                ]
                writer.write(
                    b"".join(
                        peer.send(event) or b""
                        for event in (
                            h11.Request(method="POST", target=target, headers=headers),
                            h11.Data(data=body),
                            h11.EndOfMessage(),
                        )
                    )
                )
                status = 0
                while True:
                    event = peer.next_event()
                    if event is h11.NEED_DATA:
                        peer.receive_data(await reader.read(65536))
                    elif isinstance(event, h11.Response):
                        status = event.status_code
                    elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                        break
                peer.start_next_cycle()
                slowest = max(slowest, time.perf_counter() - start)
                statuses[status] += 1
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return time.perf_counter() - began, slowest, dict(statuses)


# -- the shop --------------------------------------------------------------------------------------


@dataclass
class Shop:
    engine: Any
    settings: Any
    router_port: int


def make_shop(folder: Path, clients: int, router_port: int) -> Shop:
    from db import catalog
    from db.config import Settings
    from db.engine import make_engine, session_scope, upgrade

    folder.mkdir(parents=True)
    url = f"sqlite:///{folder / 'wisp.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine) as session:
        catalog.add_router(
            session,
            name="r1",
            host="127.0.0.1",
            port=router_port,
            username="admin",
            password=PASSWORD,
        )
        spec = catalog.PackageSpec(
            name="Day 5M", type="hotspot", router="r1", price=PRICE, validity="1d", rate="5M"
        )  # type: ignore[call-arg]
        catalog.add_package(session, spec)
        for n in range(clients):
            catalog.add_client(session, username=f"b{n:05d}", full_name=f"Bench {n}")
    settings = Settings()
    settings.database.url = url
    return Shop(engine, settings, router_port)


def baseline_app(shop: Shop) -> Any:
    """One request, one callback: checked, stored and applied before it is answered."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from db.models import MpesaStatus
    from db.mpesa import apply, parse_c2b, store_c2b

    def store_and_apply(payload: dict[str, Any]) -> None:
        stored = store_c2b(shop.engine, parse_c2b(payload), payload)
        if stored.status == MpesaStatus.RECEIVED:
            apply(shop.engine, shop.settings, stored.id)

    async def confirm(request: Request) -> JSONResponse:
        await run_in_threadpool(store_and_apply, await request.json())
        return JSONResponse({"ResultCode": 0, "ResultDesc": "Accepted"})

    return Starlette(routes=[Route(f"/hooks/{TOKEN}/c2b/confirmation", confirm, methods=["POST"])])


@contextmanager
def receiving(shop: Shop, mode: str, wake: Callable[[], object] | None = None) -> Iterator[str]:
    """The confirmation URL of the receiver (`intake`) or of the baseline, served on a free port."""
    from scheduler.mpesa.intake import Intake
    from scheduler.mpesa.receiver import build_app
    from scheduler.mpesa.serving import serve_in_thread

    intake = None
    if mode == "intake":
        intake = Intake(shop.engine, shop.settings)
        intake.wakes(wake)
        intake.start()
        served = serve_in_thread(build_app(shop.settings, intake, TOKEN))
    else:
        served = serve_in_thread(baseline_app(shop))
    try:
        yield f"{served.url}/hooks/{TOKEN}/c2b/confirmation"
    finally:
        served.stop()
        if intake is not None:
            intake.stop()


def unapplied(engine: Any) -> int:
    from sqlalchemy import func, select
    from sqlmodel import Session, col

    from db.models import MpesaStatus, MpesaTransaction

    with Session(engine) as session:
        return int(
            session.scalar(
                select(func.count()).where(col(MpesaTransaction.status) == MpesaStatus.RECEIVED)
            )
            or 0
        )


def counts(engine: Any) -> tuple[int, int, int]:
    """(payments, transaction rows, deliveries counted)."""
    from sqlalchemy import func, select
    from sqlmodel import Session

    from db.models import MpesaTransaction, Payment

    with Session(engine) as session:
        return (
            int(session.scalar(select(func.count()).select_from(Payment)) or 0),
            int(session.scalar(select(func.count()).select_from(MpesaTransaction)) or 0),
            int(session.scalar(select(func.sum(MpesaTransaction.deliveries))) or 0),  # type: ignore[arg-type]
        )


# -- throughput ------------------------------------------------------------------------------------


def throughput(folder: Path, mode: str, args: argparse.Namespace, senders: Any) -> dict[str, Any]:
    shop = make_shop(folder / f"throughput-{mode}", args.payments, 8728)
    deliveries = [confirmation(n) for n in range(args.payments)] * args.repeat
    random.Random(1).shuffle(deliveries)
    with receiving(shop, mode) as url:
        began, cpu = time.perf_counter(), time.process_time()
        elapsed, slowest, statuses = senders.submit(
            send_all, url, deliveries, args.concurrency
        ).result()
        while unapplied(shop.engine):
            time.sleep(POLL)
        applied_after = time.perf_counter() - began
        cpu = time.process_time() - cpu
    payments, rows, counted = counts(shop.engine)
    shop.engine.dispose()
    return {
        "answered": len(deliveries) / elapsed,
        "stored_applied": len(deliveries) / applied_after,
        "payments_applied": args.payments / applied_after,
        "slowest": slowest,
        "cpu_ms": cpu / len(deliveries) * 1000,
        "statuses": statuses,
        "check": (payments, rows, counted),
        "callbacks": len(deliveries),
    }


# -- latency ---------------------------------------------------------------------------------------


def latencies(folder: Path, mode: str, args: argparse.Namespace) -> list[float]:
    """Seconds from a confirmation sent to its user readable on the router, engine running."""
    import httpx

    from bench.simprocess import SimProcess
    from scheduler.engine.service import ProvisioningService
    from scheduler.routeros.client import Endpoint, RouterClient

    sim = SimProcess(1, PASSWORD)
    shop = make_shop(folder / f"latency-{mode}", args.latency_count, sim.ports[0])
    service = ProvisioningService(shop.settings, shop.engine, worker=f"bench-{mode}")
    service.start()
    pending: dict[str, float] = {}
    seen: list[float] = []
    lock, done = threading.Lock(), threading.Event()
    router = RouterClient(Endpoint("r1", "127.0.0.1", sim.ports[0], "admin", PASSWORD))

    def poll() -> None:
        while not done.is_set() or pending:
            with lock:
                waiting = list(pending.items())
            for name, since in waiting:
                if router.print("/ip/hotspot/user", where={"name": name}, proplist=(".id",)):
                    with lock:
                        pending.pop(name, None)
                    seen.append(time.perf_counter() - since)
            time.sleep(0.002)

    poller = threading.Thread(target=poll, daemon=True)
    wake = service.wake if mode == "intake" else None
    try:
        with receiving(shop, mode, wake) as url, httpx.Client(timeout=30) as client:
            time.sleep(0.5)  # the engine's first round (health probe, empty drain) is over
            poller.start()
            for n in range(args.latency_count):
                due = time.perf_counter() + 1 / args.rate
                with lock:
                    pending[f"b{n:05d}"] = time.perf_counter()
                client.post(url, json=confirmation(n)).raise_for_status()
                time.sleep(max(0.0, due - time.perf_counter()))
            done.set()
            poller.join(timeout=120)
    finally:
        router.close()
        service.shutdown()
        sim.stop()
        shop.engine.dispose()
    return seen


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values) or [float("nan")]
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


# -- report ----------------------------------------------------------------------------------------


def report(args: argparse.Namespace, runs: dict[str, dict[str, Any]], waits: dict) -> None:
    base, new = runs["baseline"], runs["intake"]
    print(
        f"\nload average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs"
    )
    print(
        f"\nCallbacks on one process, SQLite: {new['callbacks']} callbacks ({args.payments} "
        f"payments x {args.repeat}), {args.concurrency} senders in another process"
    )
    print(f"  {'':34}{'receiver':>12}{'baseline':>12}{'ratio':>9}")
    for key, label in (
        ("answered", "answered /s"),
        ("stored_applied", "stored and applied /s (target 500)"),
        ("payments_applied", "distinct payments applied /s"),
    ):
        print(f"  {label:34}{new[key]:12.0f}{base[key]:12.0f}{new[key] / base[key]:8.1f}x")
    print(
        f"  {'slowest answer (ms)':34}{new['slowest'] * 1000:12.0f}{base['slowest'] * 1000:12.0f}"
    )
    print(
        f"  {'CPU of this process per callback':34}{new['cpu_ms']:10.2f}ms{base['cpu_ms']:10.2f}ms"
        f"{base['cpu_ms'] / new['cpu_ms']:8.1f}x"
    )
    print(
        f"  {'  = callbacks /s on one free CPU':34}{1000 / new['cpu_ms']:12.0f}"
        f"{1000 / base['cpu_ms']:12.0f}   (estimate where this process's CPU is the limit)"
    )
    for mode, run in runs.items():
        payments, rows, counted = run["check"]
        exact = payments == rows == args.payments and counted == run["callbacks"]
        print(
            f"  {mode}: answers {run['statuses']}; payments {payments}, rows {rows}, "
            f"deliveries counted {counted}: {'each paid exactly once' if exact else 'WRONG'}"
        )
    print(
        f"\nC2B confirmation -> user readable on the router, {args.rate:g}/s, engine running "
        "(drain every 1 s)"
    )
    for mode, label in (("intake", "receiver (engine woken)"), ("baseline", "baseline")):
        values = waits[mode]
        print(
            f"  {label:25} p50 {percentile(values, 0.5) * 1000:7.0f} ms   p99 "
            f"{percentile(values, 0.99) * 1000:7.0f} ms   ({len(values)} payments; target p99 "
            "<= 1 s)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency-count", type=int, default=100)
    parser.add_argument("--rate", type=float, default=10.0, help="confirmations per second")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="wisp-bench-mpesa-") as where,
        ProcessPoolExecutor(1, mp_context=get_context("spawn")) as senders,
    ):
        folder = Path(where)
        senders.submit(time.sleep, 0).result()  # the child is up before anything is timed
        runs = {mode: throughput(folder, mode, args, senders) for mode in ("intake", "baseline")}
        waits = {mode: latencies(folder, mode, args) for mode in ("intake", "baseline")}
    report(args, runs, waits)


if __name__ == "__main__":
    main()
