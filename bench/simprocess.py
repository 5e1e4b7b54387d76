"""Simulated routers in a child process, as a real router is another machine (no shared GIL)."""

from __future__ import annotations

import multiprocessing as mp
import os
import re
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def start_wisp_sim(users: int) -> tuple[subprocess.Popen[str], int]:
    """`wisp sim` in its own process with `users` seeded hotspot users; returns it and its port."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scheduler.sim",
            "--port",
            "0",
            "--password",
            "",
            "--seed-users",
            str(users),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
    )
    banner = process.stdout.readline() if process.stdout else ""
    match = re.search(r"api://127\.0\.0\.1:(\d+)", banner)
    if match is None:
        process.kill()
        raise SystemExit(f"simulator did not start: {banner!r}")
    return process, int(match.group(1))


def _serve(pipe: Connection, count: int, password: str) -> None:
    from scheduler.sim import SimFleet

    fleet = SimFleet()
    routers = [fleet.add(f"r{n + 1}", password=password) for n in range(count)]
    fleet.start()
    pipe.send([router.port for router in routers])
    while True:
        command, argument = pipe.recv()
        if command == "latency":
            for router in routers:
                router.faults.latency = argument
            pipe.send(None)
        elif command == "writes":
            pipe.send(sum(r.stats[argument] for r in routers))
        elif command == "count":
            pipe.send(sum(len(r.rows(argument)) for r in routers))
        elif command == "stop":
            fleet.stop()
            pipe.send(None)
            return


class SimProcess:
    """`count` simulated routers served by a child process; ports in `.ports`."""

    def __init__(self, count: int, password: str) -> None:
        context = mp.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, count, password), daemon=True)
        self._process.start()
        self.ports: list[int] = self._pipe.recv()

    def _ask(self, command: str, argument: Any = None) -> Any:
        self._pipe.send((command, argument))
        return self._pipe.recv()

    def set_latency(self, seconds: float) -> None:
        """Delay every command on every router by `seconds`."""
        self._ask("latency", seconds)

    def writes(self, command: str) -> int:
        """How many times `command` (e.g. /ip/hotspot/user/add) ran on all routers."""
        return int(self._ask("writes", command))

    def count(self, path: str) -> int:
        """Items of a menu over all routers."""
        return int(self._ask("count", path))

    def stop(self) -> None:
        """Stop the routers and the child process."""
        self._ask("stop")
        self._process.join(timeout=10)
