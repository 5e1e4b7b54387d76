"""Voucher batch benchmark: prints figures and ratios, asserts nothing.

    .venv/bin/python bench/bench_vouchers.py [--count 5000] [--baseline-sample 500]

Figures: the time for a batch of `--count` vouchers from `generate` (codes drawn, rows written,
queued at bulk priority) to every voucher readable on the router, over loopback and with 50 ms
added to every router command (a tower on a radio link). The baseline is Mikhmon's way: one API
`add` per voucher, one after another over one connection, with the same client library. Over the
slow link the baseline is timed on `--baseline-sample` vouchers and its batch time projected
(said so where printed). The router runs in a child process (`scheduler.sim`); SQLite.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402

os.environ.setdefault("WISP_SECRET_KEY", Fernet.generate_key().decode())

from bench.bench_drain import LATENCY, PASSWORD, Lab  # noqa: E402
from db import vouchers  # noqa: E402
from db.voucher_codes import new_codes  # noqa: E402
from scheduler.engine.service import ProvisioningService  # noqa: E402
from scheduler.routeros.client import Endpoint, RouterClient  # noqa: E402

USERS = "/ip/hotspot/user"


def engine_batch(lab: Lab, count: int) -> float:
    """Seconds from `generate` to every voucher of the batch on the router."""
    service = ProvisioningService(lab.settings(), lab.engine, worker="bench")
    before = lab.sim.count(USERS)
    started = time.perf_counter()
    made = vouchers.generate(lab.engine, package="p1", count=count, created_by="bench")
    report = service.drain_once()
    elapsed = time.perf_counter() - started
    service.shutdown()
    assert report.completed == count, f"only {report} of {count}"
    assert lab.sim.count(USERS) - before == count and len(made.codes) == count
    return elapsed


def mikhmon_batch(lab: Lab, count: int) -> float:
    """Seconds to add `count` vouchers Mikhmon's way: one `add` after another, one connection."""
    codes = new_codes(count, 8, "MK")
    endpoint = Endpoint("r1", "127.0.0.1", lab.sim.ports[0], "admin", PASSWORD)
    started = time.perf_counter()
    with RouterClient(endpoint) as client:
        for code in codes:
            client.add(
                USERS,
                {
                    "server": "all",
                    "name": code,
                    "password": code,
                    "profile": "default",
                    "comment": "vc-001-11.30.26-bench",
                },
            )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--baseline-sample", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wisp-bench-") as folder:
        for label, latency in (("loopback", 0.0), (f"{LATENCY * 1000:.0f} ms link", LATENCY)):
            lab = Lab(Path(folder) / label.replace(" ", "-"), routers=1)
            try:
                lab.sim.set_latency(latency)
                ours = engine_batch(lab, args.count)
                sample = args.count if latency == 0 else min(args.count, args.baseline_sample)
                theirs = mikhmon_batch(lab, sample) * args.count / sample
            finally:
                lab.close()
            projected = "" if sample == args.count else f" (projected from {sample})"
            print(
                f"{label}: {args.count:,} vouchers generate → all on the router in {ours:.1f} s "
                f"({args.count / ours:,.0f}/s); one add after another: {theirs:.1f} s"
                f"{projected}; {theirs / ours:.1f}× faster",
                flush=True,
            )


if __name__ == "__main__":
    main()
