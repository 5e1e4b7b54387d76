"""`wisp` in a child process on a test's config file, and the queue it works on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from db import queue

ROOT = Path(__file__).resolve().parents[2]


WISP = [sys.executable, "-m", "console.cli"]


def _environment(config: Path) -> dict[str, str]:
    return {**os.environ, "WISP_CONFIG": str(config)}


def start_runner(config: Path, *args: str, **output: Any) -> subprocess.Popen[Any]:
    """`wisp run *args` started on `config`; its output goes where `output` says (stdout, stderr,
    text, as for Popen), by default nowhere."""
    streams = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, **output}
    return subprocess.Popen([*WISP, "run", *args], cwd=ROOT, env=_environment(config), **streams)


def stop_runners(runners: list[subprocess.Popen[Any]]) -> list[int]:
    """Ask every runner to stop (SIGTERM, as systemd does), then wait for each; their exit codes."""
    for runner in runners:
        runner.send_signal(signal.SIGTERM)
    return [runner.wait(timeout=60) for runner in runners]


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
