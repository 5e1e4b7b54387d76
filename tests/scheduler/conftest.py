"""Fixtures for the engine: a simulated router over real TCP and a client connected to it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from db.config import RouterSettings, Settings
from scheduler.routeros.client import Endpoint, RouterClient
from scheduler.sim import SimRouter

SIM_PASSWORD = "secret-pw"
HUNG_COMMAND_TIMEOUT = 600.0
"""The routers' command timeout in the shutdown tests: a stop that waited for commands to hung
routers would take this long, one that cuts them a few seconds (more on a loaded machine)."""


@pytest.fixture
def sim() -> Iterator[SimRouter]:
    """A started simulated router (RouterOS 7.18.2) whose admin password is SIM_PASSWORD."""
    with SimRouter(password=SIM_PASSWORD) as router:
        yield router


def endpoint(sim: SimRouter, **changes: object) -> Endpoint:
    """The endpoint of a simulated router, as the console would store it."""
    values: dict[str, object] = {
        "name": "r1",
        "host": "127.0.0.1",
        "port": sim.port,
        "username": "admin",
        "password": SIM_PASSWORD,
    }
    values.update(changes)
    return Endpoint(**values)  # type: ignore[arg-type]


@pytest.fixture
def client(sim: SimRouter) -> Iterator[RouterClient]:
    """A router client for `sim` (timeouts no loaded machine reaches: the tests that want a
    timeout set their own)."""
    settings = RouterSettings(connect_timeout=10.0, command_timeout=10.0)
    with RouterClient(endpoint(sim), settings) as router_client:
        yield router_client


def engine_settings(url: str, **queue: object) -> Settings:
    """Settings for a test engine: this database, quick retries, router timeouts no loaded machine
    reaches (a router taking longer than its timeout is taken as away; the tests about that set
    their own)."""
    settings = Settings()
    settings.database.url = url
    settings.queue.backoff_base = 0.2
    settings.queue.backoff_max = 1.0
    settings.routers.connect_timeout = 10.0
    settings.routers.command_timeout = 10.0
    for key, value in queue.items():
        setattr(settings.queue, key, value)
    return settings


PATIENT_ROUTERS = {"connect_timeout": 30.0, "command_timeout": 30.0}


def write_config(path: Path, url: str, **sections: dict[str, object]) -> Path:
    """A config.toml for a subprocess (wisp run) pointing at the test database.

    Router timeouts no loaded machine reaches unless the test sets its own (a router slower
    than its timeout is taken as away)."""
    lines = ["[database]", f"url = {json.dumps(url)}"]
    sections = {**sections, "routers": {**PATIENT_ROUTERS, **sections.get("routers", {})}}
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def not_due_again_within_this_drain(service: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """A job that fails once waits a minute. A drain already takes only the jobs due when it
    started; this keeps such a test apart from any timer of the service as well."""
    queue = service.drainer.settings.queue  # type: ignore[attr-defined]
    monkeypatch.setattr(queue, "backoff_base", 60.0)
    monkeypatch.setattr(queue, "backoff_max", 60.0)
