"""`wisp` in a child process on a test's config file, and the queue it works on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from db import queue

ROOT = Path(__file__).resolve().parents[2]


WISP = [sys.executable, "-m", "console.cli"]
STOP_WAIT = 60.0
"""Seconds a runner may take to stop on SIGTERM before a test fails on it."""


def _environment(config: Path) -> dict[str, str]:
    return {**os.environ, "WISP_CONFIG": str(config)}


def start_runner(config: Path, *args: str, **output: Any) -> subprocess.Popen[Any]:
    """`wisp run *args` started on `config`; its output goes where `output` says (stdout, stderr,
    text, as for Popen), by default nowhere."""
    streams = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, **output}
    return subprocess.Popen([*WISP, "run", *args], cwd=ROOT, env=_environment(config), **streams)


def stop_runners(runners: list[subprocess.Popen[Any]], logs: list[Path] | None = None) -> list[int]:
    """Ask every runner to stop (SIGTERM, as systemd does), then wait for each; their exit codes.

    A runner still there after STOP_WAIT seconds is asked where its threads are (SIGUSR1), then
    killed, and the test fails with the end of its log (`logs`: the file of each runner's stderr).
    """
    for runner in runners:
        runner.send_signal(signal.SIGTERM)
    codes = []
    for n, runner in enumerate(runners):
        try:
            codes.append(runner.wait(timeout=STOP_WAIT))
        except subprocess.TimeoutExpired:
            runner.send_signal(signal.SIGUSR1)
            time.sleep(2)
            for other in runners:
                other.kill()
            said = logs[n].read_text(errors="replace")[-20_000:] if logs else "(no log kept)"
            raise AssertionError(
                f"runner {n} did not stop in {STOP_WAIT} s; it said:\n{said}"
            ) from None
    return codes


def run_wisp(config: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`wisp *args` on `config`, run to its end; its output captured as text."""
    return subprocess.run(
        [*WISP, *args],
        cwd=ROOT,
        env=_environment(config),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def statuses(engine: Engine) -> Counter[str]:
    """How many jobs are in each status (a status with none counts 0)."""
    with Session(engine) as session:
        return Counter({str(status): count for status, count in queue.counts(session).items()})
