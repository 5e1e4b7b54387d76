"""Rate limits on STK Push requests, per phone number and per device (MAC).

Counted in this process's memory over a sliding window: enough for the one process that serves
the portal; several portal processes would each count on their own.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class SlidingLimit:
    """At most `limit` events per key within `window` seconds."""

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Count one event for key; False (and not counted) when the limit is reached."""
        now = self._clock()
        with self._lock:
            self._forget_before(now - self.window)
            times = self._seen.setdefault(key, deque())
            if len(times) >= self.limit:
                return False
            times.append(now)
            return True

    def full(self, key: str) -> bool:
        """True when key has used up its events of the window (nothing is counted)."""
        with self._lock:
            self._forget_before(self._clock() - self.window)
            return len(self._seen.get(key, ())) >= self.limit

    def _forget_before(self, oldest: float) -> None:
        for key in list(self._seen):
            times = self._seen[key]
            while times and times[0] < oldest:
                times.popleft()
            if not times:
                del self._seen[key]


class StkLimits:
    """The portal's limits: STK Push requests per phone and per device (a request must pass
    both), and wrong voucher or receipt codes per device (so codes cannot be tried in bulk)."""

    def __init__(self, per_phone: int, per_mac: int, window: float, wrong_codes: int) -> None:
        self.phone = SlidingLimit(per_phone, window)
        self.mac = SlidingLimit(per_mac, window)
        self.wrong_codes = SlidingLimit(wrong_codes, window)

    def allow(self, phone: str, mac: str | None) -> bool:
        if mac is not None and not self.mac.allow(mac):
            return False
        return self.phone.allow(phone)
