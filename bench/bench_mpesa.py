"""M-Pesa callback benchmark: prints figures, asserts nothing.

    .venv/bin/python bench/bench_mpesa.py [--url sqlite:///...] [--payments 200] [--repeat 3]
                                          [--concurrency 8]

The callback receiver is served over real HTTP on a free port; `--payments` distinct C2B
confirmations (each to its own client's account number) are each delivered `--repeat` times by
`--concurrency` senders at once, shuffled. Figures: callbacks answered per second, the slowest
answer, and then how many payments and activations the database holds (it must be exactly
`--payments`: every repeat is found as a delivery of its receipt).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402

os.environ.setdefault("WISP_SECRET_KEY", Fernet.generate_key().decode())

TOKEN = "bench-callback-token-0123456789"


def main() -> None:
    import httpx
    from sqlalchemy import func, select
    from sqlmodel import Session

    from db import catalog
    from db.config import Settings
    from db.engine import make_engine, session_scope, upgrade
    from db.models import MpesaStatus, MpesaTransaction, Payment
    from scheduler.mpesa.receiver import build_app
    from scheduler.mpesa.serving import serve_in_thread

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", help="database URL (default: a new SQLite file)")
    parser.add_argument("--payments", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="wisp-bench-mpesa-")
    url = args.url or f"sqlite:///{Path(folder) / 'wisp.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine) as session:
        catalog.add_router(
            session, name="r1", host="127.0.0.1", port=8728, username="admin", password="pw"
        )
        spec = catalog.PackageSpec(
            name="Day 5M", type="hotspot", router="r1", price="50", validity="1d", rate="5M"
        )  # type: ignore[call-arg]
        catalog.add_package(session, spec)
        for n in range(args.payments):
            catalog.add_client(session, username=f"b{n:05d}", full_name=f"Bench {n}")
    served = serve_in_thread(build_app(engine, Settings(), TOKEN))
    target = f"{served.url}/hooks/{TOKEN}/c2b/confirmation"
    bodies = [
        {
            "TransactionType": "Pay Bill",
            "TransID": f"BEN{n:07d}",
            "TransTime": "20261130101500",
            "TransAmount": "50.00",
            "BusinessShortCode": "174379",
            "BillRefNumber": f"b{n:05d}",
            "MSISDN": "254708374149",
            "FirstName": "Bench",
        }
        for n in range(args.payments)
    ]
    deliveries = bodies * args.repeat
    random.Random(1).shuffle(deliveries)
    slowest = 0.0
    lock = threading.Lock()
    local = threading.local()

    def send(body: dict[str, str]) -> int:
        nonlocal slowest
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(timeout=60)
        start = time.perf_counter()
        status = client.post(target, json=body).status_code
        with lock:
            slowest = max(slowest, time.perf_counter() - start)
        return status

    began = time.perf_counter()
    with ThreadPoolExecutor(args.concurrency) as pool:
        statuses = list(pool.map(send, deliveries))
    elapsed = time.perf_counter() - began
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with Session(engine) as session:
            waiting = session.scalar(
                select(func.count()).where(
                    MpesaTransaction.status == MpesaStatus.RECEIVED  # type: ignore[arg-type]
                )
            )
        if not waiting:
            break
        time.sleep(0.2)
    applied_after = time.perf_counter() - began
    served.stop()
    with Session(engine) as session:
        payments = session.scalar(select(func.count()).select_from(Payment))
        rows = session.scalar(select(func.count()).select_from(MpesaTransaction))
        counted = session.scalar(select(func.sum(MpesaTransaction.deliveries)))
    print(f"database: {engine.url.get_backend_name()}")
    print(
        f"{len(deliveries)} callbacks ({args.payments} payments x {args.repeat}) by "
        f"{args.concurrency} senders: {len(deliveries) / elapsed:.0f} answered/s, "
        f"slowest answer {slowest * 1000:.0f} ms, all 200: {set(statuses) == {200}}"
    )
    print(f"all applied {applied_after:.1f} s after the first callback")
    print(
        f"rows {rows}, deliveries counted {counted}, payments {payments} (expected {args.payments})"
    )


if __name__ == "__main__":
    main()
