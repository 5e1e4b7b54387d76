"""Bulk work gives way to a customer's own account, across the routers of one process.

The queue already claims a router's urgent jobs (a payment, an operator's activation) before its
bulk work (a voucher batch, the accounts of a midnight's expiries). Between routers it does not:
a drain of thousands on one router keeps this process's threads and the database busy, and an
activation on another router waited behind it (seen: p99 0.7 s against 19 ms when idle). So a
router task marks the time it works on urgent jobs, from before its claim until the batch is
recorded, and a bulk batch pauses at its next step (before a window of commands is sent, before
its outcomes are written, before the next claim) while any such work is under way. A pause is
short (GIVE_WAY_SECONDS at a time), so a stream of payments slows bulk work and never stops it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

GIVE_WAY_SECONDS = 0.25
"""Longest one pause of bulk work for urgent work."""


class Way:
    """How much urgent work is under way in this process, for bulk work to give way to."""

    def __init__(self) -> None:
        self._urgent = 0
        self._changed = threading.Condition()

    @property
    def urgent(self) -> int:
        """Urgent router tasks under way now."""
        return self._urgent

    def enter(self) -> None:
        """Urgent work starts (a claim that may find a customer's account, its batch)."""
        with self._changed:
            self._urgent += 1

    def leave(self) -> None:
        """Urgent work entered earlier is over."""
        with self._changed:
            self._urgent -= 1
            if not self._urgent:
                self._changed.notify_all()

    @contextmanager
    def held(self) -> Iterator[None]:
        """Urgent work under way for the length of the block."""
        self.enter()
        try:
            yield
        finally:
            self.leave()

    def give_way(self) -> None:
        """Wait while urgent work is under way (GIVE_WAY_SECONDS at most)."""
        if not self._urgent:  # read without the lock: a miss costs one step of bulk work
            return
        with self._changed:
            self._changed.wait_for(lambda: not self._urgent, GIVE_WAY_SECONDS)
