"""Realistic subscribers for a demo or a benchmark: profiles, users, some online."""

from __future__ import annotations

import random

from scheduler.sim.engine import MenuEngine
from scheduler.sim.sessions import SessionRefused, Sessions

FIRST_NAMES = (
    "wanjiku",
    "otieno",
    "achieng",
    "kamau",
    "njeri",
    "mwangi",
    "akinyi",
    "kiprono",
    "chebet",
    "omondi",
    "wambui",
    "mutua",
    "nafula",
    "barasa",
    "halima",
    "juma",
    "amina",
    "baraka",
    "zawadi",
    "kipchoge",
    "atieno",
    "muthoni",
    "odhiambo",
    "wairimu",
    "nekesa",
    "said",
)
PROFILES = (
    # Made by hand on the router (not ours): a package of the same shape may use them as they are.
    ("HOTSPOT_5M_PERSONAL", "5M/5M", "1"),
    ("HOTSPOT_10M_PERSONAL", "10M/10M", "1"),
    ("HOTSPOT_20M_BUSINESS", "10M/20M 20M/40M 8M/16M 10s/10s", "3"),
)
DATA_PLANS = ("1073741824", "5368709120", "10737418240")


def seed_users(engine: MenuEngine, sessions: Sessions, count: int, seed: int = 254) -> None:
    """Add `count` hotspot users across three profiles; a few are disabled, a few online."""
    rand = random.Random(seed)
    _ensure_profiles(engine)
    users = engine.table("/ip/hotspot/user")
    for number in range(count):
        values = _user(rand, number)
        if users.find(values["name"]) is None:
            engine.editor.add(users, values)
    _log_some_in(engine, sessions, rand, count)


def _ensure_profiles(engine: MenuEngine) -> None:
    profiles = engine.table("/ip/hotspot/user/profile")
    for name, rate, shared in PROFILES:
        if profiles.find(name) is None:
            engine.editor.add(profiles, {"name": name, "rate-limit": rate, "shared-users": shared})


def _user(rand: random.Random, number: int) -> dict[str, str]:
    name = f"{FIRST_NAMES[number % len(FIRST_NAMES)]}{number + 100:03d}"
    values = {
        "name": name,
        "password": f"{rand.randrange(100000, 999999)}",
        "profile": PROFILES[rand.randrange(len(PROFILES))][0],
        "comment": f"M-Pesa Q{rand.choice('ABCDEFGHJKLMNP')}{rand.randrange(10**8):08d} 07{rand.randrange(10**8):08d}",
    }
    if rand.random() < 0.25:
        values["limit-bytes-total"] = rand.choice(DATA_PLANS)
    if rand.random() < 0.08:
        values["disabled"] = "yes"
    return values


def _log_some_in(engine: MenuEngine, sessions: Sessions, rand: random.Random, count: int) -> None:
    users = [
        row["name"] for row in engine.table("/ip/hotspot/user") if row.get("disabled") != "true"
    ]
    for name in rand.sample(users, min(len(users), max(1, min(25, count // 20)))):
        try:
            sessions.login_hotspot(name)
        except SessionRefused:
            continue
