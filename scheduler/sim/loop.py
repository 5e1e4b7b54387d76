"""An asyncio event loop running in a daemon thread, shared by the routers of a fleet."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    """Runs an event loop in the background; other threads hand it work and wait."""

    def __init__(self, name: str = "routeros-sim") -> None:
        self._name = name
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (no-op when already running)."""
        if self._thread is not None:
            return
        ready = threading.Event()
        self.loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.call_soon(ready.set)  # type: ignore[union-attr]
            self.loop.run_forever()  # type: ignore[union-attr]

        self._thread = threading.Thread(target=run, name=self._name, daemon=True)
        self._thread.start()
        ready.wait()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = 30) -> T:
        """Run a coroutine on the loop and return its result."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, func: Callable[[], T], timeout: float | None = 30) -> T:
        """Run a plain function on the loop thread (so it never races the server)."""
        if self.loop is None or self.in_loop():
            return func()

        async def wrapper() -> T:
            return func()

        return self.run(wrapper(), timeout)

    def in_loop(self) -> bool:
        """True when called from the loop thread itself."""
        return self._thread is threading.current_thread()

    def stop(self) -> None:
        """Stop the loop and join the thread."""
        if self.loop is None or self._thread is None:
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()
        self.loop, self._thread = None, None
