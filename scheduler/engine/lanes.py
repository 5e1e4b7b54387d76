"""Several sessions per router, so independent accounts overlap their round trips.

A router far away (a radio or 3G link) costs a round trip per command; one session does one command
at a time. Each claimed batch holds distinct accounts (one row per account), so they are dealt out
over a few sessions ("lanes") and each account's commands still run in order on one of them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from db.config import RouterSettings
from db.models import Router
from scheduler.engine.endpoints import endpoint_of
from scheduler.routeros.client import RouterClient
from scheduler.routeros.errors import Endpoint

LANES = 16
"""Sessions opened per router at most (RouterOS 7 allows 20 API sessions by default)."""
NEAR_LANES = 4
"""Sessions used for a router that answers at once: more would only contend for this process."""
NEAR_SECONDS = 0.005
"""A router answering within this is near (LAN); farther ones get every lane."""

T = TypeVar("T")
R = TypeVar("R")


class RouterLanes:
    """The sessions of one router and the threads that drive them."""

    def __init__(self, endpoint: Endpoint, settings: RouterSettings, size: int) -> None:
        self.endpoint = endpoint
        self.clients = [RouterClient(endpoint, settings) for _ in range(size)]
        self._pool = ThreadPoolExecutor(
            max(1, size - 1), thread_name_prefix=f"lane-{endpoint.name}"
        )

    @property
    def first(self) -> RouterClient:
        """The session used for checks before a batch is dealt out."""
        return self.clients[0]

    @property
    def width(self) -> int:
        """Lanes worth using: all for a far router (round trips dominate), a few for a near one."""
        near = self.first.round_trip < NEAR_SECONDS
        return min(len(self.clients), NEAR_LANES) if near else len(self.clients)

    def run(self, items: Sequence[T], work: Callable[[RouterClient, list[T]], R]) -> list[R]:
        """Deal `items` over the lanes (round robin), run `work` on each; each lane's result, in order."""
        count = max(1, min(self.width, len(items)))
        chunks = [list(items[i::count]) for i in range(count)]
        futures = [self._pool.submit(work, self.clients[i], chunks[i]) for i in range(1, count)]
        first = work(self.clients[0], chunks[0])
        return [first, *(future.result() for future in futures)]

    def busy_for(self) -> float:
        """Seconds the longest command (or login) now in flight on this router has waited."""
        return max(client.busy_for() for client in self.clients)

    def interrupt(self, reason: str) -> None:
        """Cut every command in flight on this router and refuse new ones until `resume`."""
        for client in self.clients:
            client.interrupt(reason)

    def resume(self) -> None:
        """Accept commands again (a new batch), unless the lanes were aborted."""
        for client in self.clients:
            client.resume()

    def abort(self, reason: str) -> None:
        """Cut every command in flight for good (safe from a signal handler)."""
        for client in self.clients:
            client.abort(reason)

    def close(self) -> None:
        """Close every session and stop the lane threads."""
        self._pool.shutdown(wait=True)
        for client in self.clients:
            client.close()


class Connections:
    """The lanes of every router this process talks to, rebuilt when a router's record changes."""

    def __init__(self, settings: RouterSettings, lanes: int = LANES) -> None:
        self._settings = settings
        self._size = lanes
        self._by_router: dict[int, RouterLanes] = {}
        self._lock = threading.Lock()
        self._aborted: str | None = None

    def lanes(self, router: Router) -> RouterLanes:
        """The lanes of a stored router (new sessions if its address or credentials changed)."""
        endpoint = endpoint_of(router)
        with self._lock:
            current = self._by_router.get(router.id or 0)
            if current is not None and current.endpoint == endpoint:
                return current
            fresh = self._by_router[router.id or 0] = RouterLanes(
                endpoint, self._settings, self._size
            )
            if self._aborted is not None:
                fresh.abort(self._aborted)
        if current is not None:
            current.close()
        return self._by_router[router.id or 0]

    def busy_for(self, router_id: int) -> float:
        """Seconds the longest command now in flight on a router has waited (0: none)."""
        lanes = self._by_router.get(router_id)
        return lanes.busy_for() if lanes is not None else 0.0

    def abort(self, reason: str) -> None:
        """Cut every command in flight on every router, for good (safe from a signal handler:
        it takes no lock, so it never waits for the thread it interrupted)."""
        self._aborted = reason
        for router_lanes in list(self._by_router.values()):
            router_lanes.abort(reason)

    def close(self) -> None:
        """Close the sessions of every router."""
        with self._lock:
            lanes, self._by_router = list(self._by_router.values()), {}
        for router_lanes in lanes:
            router_lanes.close()
