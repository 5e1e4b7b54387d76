"""Realistic subscribers for a demo or a benchmark: profiles, users, some online; or a router as
Mikhmon leaves it (its profiles, voucher batches, used and expired vouchers)."""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable

from scheduler.sim.behaviour import Behaviour
from scheduler.sim.engine import MenuEngine
from scheduler.sim.sessions import SessionRefused, Sessions
from scheduler.sim.values import format_duration

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


# A router that Mikhmon has run: profiles whose on-login scripts carry the price and validity,
# batches of vouchers commented vc-NNN-mm.dd.yy-note / up-..., the ones used so far carrying the
# expiry their first login wrote over that comment.

MIKHMON_PROFILES = (
    # name, rate-limit, shared users, expiry mode, price, validity (s, RouterOS), selling price, lock
    ("KES20-12h", "1M/2M", "1", "ntf", "20", "12h", "25", "Enable"),
    ("KES50-1day", "2M/4M", "1", "rem", "50", "1d", "50", "Disable"),
    ("KES250-1week", "3M/6M", "2", "ntfc", "250", "1w", "300", "Disable"),
)
MIKHMON_NOTES = ("kiosk-stage", "", "mama pima shop", "agent 3 - kibera")
_VALIDITY = {"12h": 43200, "1d": 86400, "1w": 604800}
_LOWER = "abcdefghijkmnpqrstuvwxyz"


def mikhmon_on_login(mode: str, price: str, validity: str, selling: str, lock: str) -> str:
    """An on-login script of the shape Mikhmon writes for a user profile."""
    put = f':put (",{mode},{price},{validity},{selling},,{lock},"); '
    body = (
        '{:local comment [ /ip hotspot user get [/ip hotspot user find where name="$user"] '
        'comment]; :local ucode [:pic $comment 0 2]; :if ($ucode = "vc" or $ucode = "up" or '
        '$comment = "") do={ :local date [ /system clock get date ];:local year [ :pick $date 7 '
        '11 ];:local month [ :pick $date 0 3 ]; /sys sch add name="$user" disable=no '
        f'start-date=$date interval="{validity}"; :delay 5s; :local exp [ /sys sch get '
        '[ /sys sch find where name="$user" ] next-run]; :local getxp [len $exp]; :if ($getxp = '
        '15) do={ :local d [:pic $exp 0 6]; :local t [:pic $exp 7 16]; :local s ("/"); :local '
        'exp ("$d$s$year $t"); /ip hotspot user set comment="$exp" [find where name="$user"];}; '
        ':if ($getxp = 8) do={ /ip hotspot user set comment="$date $exp" [find where '
        'name="$user"];}; :if ($getxp > 15) do={ /ip hotspot user set comment="$exp" [find '
        'where name="$user"];};:delay 5s; /sys sch remove [find where name="$user"]'
    )
    if lock == "Enable":
        body += '; [:local mac $"mac-address"; /ip hotspot user set mac-address=$mac [find where name=$user]]'
    return put + body + "}}"


def seed_mikhmon(
    engine: MenuEngine, sessions: Sessions, behaviour: Behaviour, count: int, seed: int = 1997
) -> None:
    """Leave the router as Mikhmon would: its profiles and `count` vouchers in a few batches,
    about half unused, a third in use (some online now), the rest expired."""
    rand = random.Random(seed)
    now = time.time()
    profiles = engine.table("/ip/hotspot/user/profile")
    for name, rate, shared, mode, price, validity, selling, lock in MIKHMON_PROFILES:
        if profiles.find(name) is None:
            script = mikhmon_on_login(mode, price, validity, selling, lock)
            engine.editor.add(
                profiles,
                {"name": name, "rate-limit": rate, "shared-users": shared, "on-login": script},
            )
    batches = max(1, min(4, count // 10))
    online: list[str] = []
    for number in range(batches):
        size = count // batches + (1 if number < count % batches else 0)
        online += _mikhmon_batch(engine, behaviour, rand, now, number, size)
    for name in online:
        with contextlib.suppress(SessionRefused):
            sessions.login_hotspot(name)


def _mikhmon_batch(
    engine: MenuEngine,
    behaviour: Behaviour,
    rand: random.Random,
    now: float,
    number: int,
    size: int,
) -> list[str]:
    """Add one batch; returns the users to log in now."""
    profile = MIKHMON_PROFILES[number % len(MIKHMON_PROFILES)]
    mode = "vc" if number % 2 == 0 else "up"
    generated = time.localtime(now - (number * 3 + 2) * 86400)
    note = MIKHMON_NOTES[number % len(MIKHMON_NOTES)]
    comment = f"{mode}-{rand.randrange(100, 1000)}-{time.strftime('%m.%d.%y', generated)}-{note}"
    users = engine.table("/ip/hotspot/user")
    online = []
    for _ in range(size):
        name, password = _mikhmon_login(rand, mode, users.find)
        values = {"name": name, "password": password, "profile": profile[0], "comment": comment}
        row_id = engine.editor.add(users, values)
        fate = rand.random()
        if fate < 0.45:
            continue  # unused: uptime 0, the batch comment
        validity = _VALIDITY[profile[5]]
        if fate < 0.8:
            first_login = now - rand.uniform(0.05, 0.9) * validity  # still running
        else:
            first_login = now - validity - rand.uniform(3600, 3 * 86400)  # time is up
        _mikhmon_used(engine, behaviour, rand, row_id, profile, first_login, now)
        if fate < 0.8 and rand.random() < 0.5:
            online.append(name)
    return online


def _mikhmon_used(
    engine: MenuEngine,
    behaviour: Behaviour,
    rand: random.Random,
    row_id: str,
    profile: tuple[str, ...],
    first_login: float,
    now: float,
) -> None:
    """What a first login and Mikhmon's scripts leave on a user."""
    validity = _VALIDITY[profile[5]]
    used = min(now, first_login + validity) - first_login
    changes: dict[str, str | None] = {
        "comment": behaviour.format_date(first_login + validity),
        "uptime": format_duration(int(used * rand.uniform(0.1, 0.6))),
        "bytes-in": str(int(used * rand.randrange(500, 4000))),
        "bytes-out": str(int(used * rand.randrange(5000, 40000))),
    }
    if profile[7] == "Enable":
        changes["mac-address"] = "02:4D:" + ":".join(f"{rand.randrange(256):02X}" for _ in range(4))
    if first_login + validity <= now:
        # Notice mode stops a voucher with limit-uptime=1s; remove mode's user is disabled here,
        # as an operator does when Mikhmon's monitor does not run (RouterOS 7.10 and later).
        if profile[3].startswith("ntf"):
            changes["limit-uptime"] = "1s"
        else:
            changes["disabled"] = "true"
    engine.table("/ip/hotspot/user").update(row_id, changes)


def _mikhmon_login(
    rand: random.Random, mode: str, exists: Callable[[str], str | None]
) -> tuple[str, str]:
    """A user name and password as Mikhmon draws them: code mode lower-case letters ending in
    digits, its own password; user-pass mode letters and a numeric password."""
    while True:
        letters = "".join(rand.choice(_LOWER) for _ in range(4 if mode == "vc" else 5))
        if mode == "vc":
            name = password = letters + f"{rand.randrange(100):02d}"
        else:
            name, password = letters, f"{rand.randrange(10000, 100000)}"
        if exists(name) is None:
            return name, password
