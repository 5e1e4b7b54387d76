"""A RouterOS API simulator: lab routers that real API clients cannot tell from MikroTik ones.

from scheduler.sim import SimRouter, SimFleet
with SimRouter(seed_users=100) as router:
    librouteros.connect("127.0.0.1", "admin", "", port=router.port)

The names load on first use, so that `wisp` commands which only describe `wisp sim` stay quick.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scheduler.sim.behaviour import Behaviour, LoginMode
    from scheduler.sim.fleet import SimFleet
    from scheduler.sim.router import SimRouter
    from scheduler.sim.sessions import SessionRefused

_HOMES = {
    "Behaviour": "scheduler.sim.behaviour",
    "LoginMode": "scheduler.sim.behaviour",
    "SimFleet": "scheduler.sim.fleet",
    "SimRouter": "scheduler.sim.router",
    "SessionRefused": "scheduler.sim.sessions",
}

__all__ = ["Behaviour", "LoginMode", "SessionRefused", "SimFleet", "SimRouter"]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'scheduler.sim' has no attribute {name!r}")
