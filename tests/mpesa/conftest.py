"""Fixtures of the M-Pesa tests: the Daraja simulator and a callback collector, over real HTTP."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from scheduler.mpesa.daraja import Credentials, DarajaClient
from scheduler.mpesa.serving import Served, serve_in_thread
from scheduler.mpesa_sim.app import SANDBOX_PASSKEY, SANDBOX_SHORTCODE, Daraja, build_app

KEY, SECRET = "test-consumer-key", "test-consumer-secret"


@pytest.fixture
def sim() -> Iterator[tuple[Daraja, Served]]:
    """A Daraja simulator on a free port, answering pushes after 0.2 s."""
    state = Daraja(consumer_key=KEY, consumer_secret=SECRET, callback_delay=0.2, seed=7)
    served = serve_in_thread(build_app(state))
    yield state, served
    served.stop()


@pytest.fixture
def daraja(sim: tuple[Daraja, Served]) -> Iterator[DarajaClient]:
    client = DarajaClient(
        sim[1].url, SANDBOX_SHORTCODE, Credentials(KEY, SECRET, SANDBOX_PASSKEY), timeout=5
    )
    yield client
    client.close()


class Collector:
    """A stand-in receiver that keeps what it is sent and answers as told."""

    def __init__(self) -> None:
        self.received: list[tuple[str, Any]] = []
        self.lock = threading.Lock()
        self.validation_answer: dict[str, Any] = {"ResultCode": 0, "ResultDesc": "Accepted"}

    def paths(self, path: str) -> list[Any]:
        with self.lock:
            return [body for p, body in self.received if p == path]


@pytest.fixture
def collector() -> Iterator[tuple[Collector, Served]]:
    seen = Collector()

    async def keep(request: Request) -> JSONResponse:
        body = await request.json()
        with seen.lock:
            seen.received.append((request.url.path, body))
        if request.url.path.endswith("validation"):
            return JSONResponse(seen.validation_answer)
        return JSONResponse({"ResultCode": 0, "ResultDesc": "Accepted"})

    app = Starlette(routes=[Route("/{rest:path}", keep, methods=["POST"])])
    served = serve_in_thread(app)
    yield seen, served
    served.stop()


TOKEN = "cb-token-0123456789abcdef"


@contextlib.contextmanager
def receiving(engine, settings) -> Iterator[str]:
    """The callback receiver and its intake on `engine`, served on a free port; yields the
    base URL with the token."""
    from scheduler.mpesa.intake import Intake
    from scheduler.mpesa.receiver import build_app

    intake = Intake(engine, settings)
    intake.start()
    served = serve_in_thread(build_app(settings, intake, TOKEN))
    try:
        yield f"{served.url}/hooks/{TOKEN}"
    finally:
        served.stop()
        intake.stop()


@pytest.fixture
def receiver(engine) -> Iterator[str]:
    """The callback receiver on `engine`, served on a free port; yields its base URL + token."""
    from db.config import Settings

    settings = Settings()
    settings.mpesa.max_body = 4096
    with receiving(engine, settings) as url:
        yield url
