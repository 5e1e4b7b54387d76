"""Waiting in tests: for a condition, never for a fixed time or a fixed number of rounds."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from textual.worker import WorkerCancelled, WorkerFailed, WorkerState

BUSY = (WorkerState.PENDING, WorkerState.RUNNING)


def wait_for(
    condition: Callable[[], bool],
    timeout: float = 60.0,
    poll: float = 0.02,
    describe: Callable[[], str] | None = None,
) -> None:
    """Return once `condition()` holds; fail after `timeout` seconds, saying what was seen."""
    deadline = time.monotonic() + timeout
    while not condition():
        seen = f": {describe()}" if describe else ""
        assert time.monotonic() < deadline, f"condition not met in {timeout} s{seen}"
        time.sleep(poll)


async def settle(pilot: Any, timeout: float = 60.0) -> None:
    """Wait until the app is quiet: no worker pending or running across two pauses in a row.

    An answer may start new work (a worker's message starting another), so one empty moment is not
    enough; a worker that failed or was replaced by a newer one is the test's business, not this.
    """
    app = pilot.app
    deadline = time.monotonic() + timeout
    quiet = 0
    while quiet < 2:
        assert time.monotonic() < deadline, f"the app was still busy after {timeout} s"
        with contextlib.suppress(WorkerCancelled, WorkerFailed):
            await app.workers.wait_for_complete()
        await pilot.pause()
        busy = any(worker.state in BUSY for worker in app.workers)
        quiet = 0 if busy else quiet + 1
