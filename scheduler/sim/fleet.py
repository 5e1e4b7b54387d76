"""Many simulated routers served from one event-loop thread."""

from __future__ import annotations

from typing import Any

from scheduler.sim.loop import LoopThread
from scheduler.sim.router import SimRouter


class SimFleet:
    """A set of SimRouters sharing one background loop (the demo and benchmarks use several)."""

    def __init__(self) -> None:
        self._loop = LoopThread("routeros-sim-fleet")
        self.routers: dict[str, SimRouter] = {}
        self._started = False

    def add(self, name: str, **options: Any) -> SimRouter:
        """Declare a router (SimRouter keyword arguments); started now if the fleet runs."""
        options.setdefault("identity", name)
        router = SimRouter(loop_thread=self._loop, **options)
        self.routers[name] = router
        if self._started:
            router.start()
        return router

    def __getitem__(self, name: str) -> SimRouter:
        return self.routers[name]

    def start(self) -> SimFleet:
        """Start the loop and every router."""
        self._loop.start()
        self._started = True
        for router in self.routers.values():
            router.start()
        return self

    def stop(self) -> None:
        """Stop every router, then the loop."""
        for router in self.routers.values():
            router.stop()
        self._started = False
        self._loop.stop()

    def __enter__(self) -> SimFleet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
