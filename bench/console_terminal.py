"""`wisp console` as an operator starts it, timed from what it writes to a pseudo-terminal.

The command runs in a fresh interpreter on a 120x40 pseudo-terminal (so it pays for its own
imports, reads its config, opens the database and starts the embedded engine as it always does);
the bench reads the terminal and notes when the first frame arrives (the queue pane's title is
drawn) and when the panes show the database (the queue's title counts every job).
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

FIRST_FRAME = re.compile(rb"Provisioning queue \(")
"""The queue pane's title, in the first frame whatever it says (loading, or a count)."""


def data_title(jobs: int) -> re.Pattern[bytes]:
    """The queue pane's title once the database is read: '(200 of 100,000)'."""
    return re.compile(rb"Provisioning queue \((?:[\d,]+ of )?" + f"{jobs:,}".encode() + rb"\)")


def time_console(
    root: Path, config: Path, jobs: int, env: dict[str, str], limit: float = 60.0
) -> tuple[float, float]:
    """Seconds from starting `wisp console` to its first frame and to its panes' data."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    command = [sys.executable, "-m", "console", "--config", str(config), "console"]
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=root,
        env=env,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
    )
    os.close(slave)
    first: float | None = None
    data = data_title(jobs)
    written = b""
    try:
        while True:
            if time.perf_counter() - started > limit:
                raise TimeoutError(f"the console did not show the database in {limit} s")
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(master, 1 << 16)
            except OSError as closed:
                raise RuntimeError(f"the console ended early: {written[-400:]!r}") from closed
            moment = time.perf_counter() - started
            tail = written[-200:] + chunk
            written += chunk
            if first is None and FIRST_FRAME.search(tail):
                first = moment
            if data.search(tail):
                assert first is not None
                return first, moment
    finally:
        _close(process, master)


def _close(process: subprocess.Popen[bytes], master: int, limit: float = 15.0) -> None:
    """End the console as a dropped SSH session does (SIGTERM), reading what it still writes so
    that it never waits on a full terminal."""
    process.terminate()
    deadline = time.monotonic() + limit
    while process.poll() is None and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                os.read(master, 1 << 16)
            except OSError:
                break
    if process.poll() is None:
        process.kill()
    process.wait()
    os.close(master)
