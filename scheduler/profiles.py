"""Profiles ensured on a router during one batch, so a batch does not re-read them per account.

The memory lasts one batch only: a profile edited on the router (by hand, or re-queued by a
reconcile in another process) is checked again by the very next batch, never trusted for a while.
"""

from __future__ import annotations

import threading
from collections import defaultdict

from scheduler import actions
from scheduler.actions import ProfileSpec
from scheduler.routeros import RouterClient


class ProfileCache:
    """Ensures each profile of one router at most once; the lanes of the batch wait for each other."""

    def __init__(self) -> None:
        self._ensured: set[ProfileSpec] = set()
        self._locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
        self._guard = threading.Lock()

    def ensure(self, client: RouterClient, spec: ProfileSpec) -> None:
        """Make sure the router has the profile as `spec` describes it."""
        if spec in self._ensured:
            return
        with self._lock_for(spec.name):
            if spec in self._ensured:
                return
            actions.ensure_profile(client, spec)
            self._ensured.add(spec)

    def forget(self, spec: ProfileSpec) -> None:
        """Check the profile on the router again next time."""
        self._ensured.discard(spec)

    def _lock_for(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks[name]
