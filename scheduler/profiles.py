"""Profiles ensured per router, remembered for a while so a batch does not re-read them per account."""

from __future__ import annotations

import threading
import time
from collections import defaultdict

from scheduler import actions
from scheduler.actions import ProfileSpec
from scheduler.routeros import RouterClient

TTL_SECONDS = 60.0
"""How long an ensured profile is trusted before it is checked on the router again."""


class ProfileCache:
    """Ensures each (router, profile) at most once per TTL; lanes of one router wait for each other."""

    def __init__(self, ttl: float = TTL_SECONDS) -> None:
        self._ttl = ttl
        self._ensured: dict[tuple[int, ProfileSpec], float] = {}
        self._locks: defaultdict[tuple[int, str], threading.Lock] = defaultdict(threading.Lock)
        self._guard = threading.Lock()

    def ensure(self, router_id: int, client: RouterClient, spec: ProfileSpec) -> None:
        """Make sure the router has the profile as `spec` describes it."""
        key = (router_id, spec)
        if self._fresh(key):
            return
        with self._lock_for(router_id, spec.name):
            if self._fresh(key):
                return
            actions.ensure_profile(client, spec)
            self._ensured[key] = time.monotonic() + self._ttl

    def forget(self, router_id: int, spec: ProfileSpec | None = None) -> None:
        """Check again next time: one profile, or every profile of the router."""
        with self._guard:
            for key in [k for k in self._ensured if k[0] == router_id and spec in (None, k[1])]:
                del self._ensured[key]

    def _fresh(self, key: tuple[int, ProfileSpec]) -> bool:
        return self._ensured.get(key, 0.0) > time.monotonic()

    def _lock_for(self, router_id: int, name: str) -> threading.Lock:
        with self._guard:
            return self._locks[(router_id, name)]
