"""A RouterOS API simulator: lab routers that real API clients cannot tell from MikroTik ones.

from scheduler.sim import SimRouter, SimFleet
with SimRouter(seed_users=100) as router:
    librouteros.connect("127.0.0.1", "admin", "", port=router.port)
"""

from scheduler.sim.behaviour import Behaviour, LoginMode
from scheduler.sim.fleet import SimFleet
from scheduler.sim.router import SimRouter
from scheduler.sim.sessions import SessionRefused

__all__ = ["Behaviour", "LoginMode", "SessionRefused", "SimFleet", "SimRouter"]
