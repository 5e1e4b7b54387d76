"""Simulated subscribers logging in: hotspot active entries, cookies and PPP sessions.

Sessions move like real ones: uptime and byte counters grow with time. As on a router,
disabling a user does not end its session; removing the active entry does, and the time
and traffic of the session are then added to the user's own counters.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from scheduler.sim import traps
from scheduler.sim.behaviour import Behaviour
from scheduler.sim.engine import MenuEngine
from scheduler.sim.table import Row
from scheduler.sim.traps import Trap
from scheduler.sim.values import format_duration, parse_duration

HOTSPOT_ACTIVE = "/ip/hotspot/active"
HOTSPOT_COOKIE = "/ip/hotspot/cookie"
HOTSPOT_USER = "/ip/hotspot/user"
PPP_ACTIVE = "/ppp/active"
PPP_SECRET = "/ppp/secret"


class SessionRefused(Exception):
    """The router would not let this subscriber in (same words as the hotspot login page)."""


@dataclass
class _Traffic:
    started: float
    upload: int  # bytes per second from the client (RouterOS bytes-in)
    download: int  # bytes per second to the client (bytes-out)

    def counters(self, now: float) -> dict[str, str]:
        elapsed = max(0.0, now - self.started)
        bytes_in, bytes_out = int(elapsed * self.upload), int(elapsed * self.download)
        return {
            "uptime": format_duration(int(elapsed)),
            "bytes-in": str(bytes_in),
            "bytes-out": str(bytes_out),
            "packets-in": str(bytes_in // 600),
            "packets-out": str(bytes_out // 1200),
        }


class Sessions:
    """Logs simulated users in and keeps their sessions moving."""

    def __init__(
        self, engine: MenuEngine, behaviour: Behaviour, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._engine = engine
        self._behaviour = behaviour
        self._clock = clock
        self._random = random.Random(8728)
        self._traffic: dict[tuple[str, str], _Traffic] = {}
        self._hosts = itertools.count(254, -1)
        self._macs = itertools.count(0x10)
        engine.table(HOTSPOT_ACTIVE).live = self._hotspot_live
        engine.table(HOTSPOT_COOKIE).live = self._cookie_live
        engine.table(PPP_ACTIVE).live = self._ppp_live
        engine.table(HOTSPOT_ACTIVE).listeners.append(self._hotspot_changed)
        engine.table(PPP_ACTIVE).listeners.append(self._ppp_changed)
        engine.table(HOTSPOT_USER).listeners.append(self._user_changed)
        engine.actions[f"{HOTSPOT_ACTIVE}/login"] = self._login_command

    def login_hotspot(
        self, user: str, mac_address: str | None = None, address: str | None = None
    ) -> str:
        """Log a hotspot user in; returns the /ip/hotspot/active id."""
        account = self._account(HOTSPOT_USER, user)
        self._check_shared_users(account)
        mac = mac_address or self._next_mac()
        values = {
            "server": "hotspot1",
            "user": user,
            "address": address or self._next_address("10.5.50"),
            "mac-address": mac.upper(),
            "login-by": "http-chap",
            "idle-time": "0s",
            "idle-timeout": "none",
            "keepalive-timeout": "2m",
            "radius": "false",
        }
        values |= {
            k: account[k]
            for k in ("limit-bytes-in", "limit-bytes-out", "limit-bytes-total")
            if k in account
        }
        if "limit-uptime" in account:
            values["session-time-left"] = account["limit-uptime"]
        row_id = self._start(HOTSPOT_ACTIVE, values)
        self._start(
            HOTSPOT_COOKIE, {"user": user, "mac-address": mac.upper(), "mac-cookie": "true"}
        )
        return row_id

    def _login_command(self, args: dict[str, str]) -> None:
        """`/ip/hotspot/active/login user= password= [mac-address=] [ip=]`, as on a router."""
        user, password = args.pop("user", ""), args.pop("password", "")
        mac, address = args.pop("mac-address", None), args.pop("ip", None)
        if args:
            raise Trap(traps.UNKNOWN_PARAMETER)
        try:
            if self._account(HOTSPOT_USER, user).get("password", "") != password:
                raise SessionRefused("invalid username or password")
            self.login_hotspot(user, mac_address=mac, address=address)
        except SessionRefused as refused:
            raise Trap(str(refused)) from None

    def login_ppp(self, name: str, address: str | None = None) -> str:
        """Connect a PPP secret; returns the /ppp/active id."""
        secret = self._account(PPP_SECRET, name)
        service = secret.get("service", "any")
        values = {
            "name": name,
            "service": "pppoe" if service == "any" else service,
            "caller-id": secret.get("caller-id") or self._next_mac(),
            "encoding": "",
            "address": address or secret.get("remote-address") or self._next_address("10.10.10"),
            "session-id": f"0x{0x81000000 + self._random.randrange(1 << 20):08X}",
            "limit-bytes-in": secret.get("limit-bytes-in", "0"),
            "limit-bytes-out": secret.get("limit-bytes-out", "0"),
            "radius": "false",
        }
        return self._start(PPP_ACTIVE, values)

    def _account(self, path: str, name: str) -> Row:
        table = self._engine.table(path)
        row_id = table.find(name)
        row = table.rows.get(row_id) if row_id else None
        # A disabled account is refused just like an unknown one.
        if row is None or row.get("disabled") == "true":
            raise SessionRefused("invalid username or password")
        return row

    def _check_shared_users(self, account: Row) -> None:
        profiles = self._engine.table("/ip/hotspot/user/profile")
        profile_id = profiles.find(account.get("profile", "default"))
        shared = profiles.rows[profile_id].get("shared-users", "1") if profile_id else "1"
        active = sum(
            1 for row in self._engine.table(HOTSPOT_ACTIVE) if row["user"] == account["name"]
        )
        if shared.isdigit() and active >= int(shared):
            raise SessionRefused("no more sessions are allowed for user")

    def _start(self, path: str, values: Row) -> str:
        row_id = self._engine.table(path).insert(values)
        rate = self._random.randrange(2_000, 120_000)
        self._traffic[(path, row_id)] = _Traffic(self._clock(), rate // 8, rate)
        return row_id

    def _hotspot_live(self, row_id: str, row: Row) -> dict[str, str]:
        traffic = self._traffic.get((HOTSPOT_ACTIVE, row_id))
        return traffic.counters(self._clock()) if traffic else {}

    def _ppp_live(self, row_id: str, row: Row) -> dict[str, str]:
        traffic = self._traffic.get((PPP_ACTIVE, row_id))
        return {"uptime": traffic.counters(self._clock())["uptime"]} if traffic else {}

    def _cookie_live(self, row_id: str, row: Row) -> dict[str, str]:
        traffic = self._traffic.get((HOTSPOT_COOKIE, row_id))
        if traffic is None:
            return {}
        left = max(0, 3 * 86400 - int(self._clock() - traffic.started))
        return {"expires-in": format_duration(left)}

    def _hotspot_changed(self, row_id: str, row: Row, removed: bool) -> None:
        traffic = self._traffic.pop((HOTSPOT_ACTIVE, row_id), None) if removed else None
        if traffic is not None:
            # The ended session's time and traffic add up on the user, as a router shows.
            self._add_to_user(row.get("user"), traffic.counters(self._clock()))

    def _ppp_changed(self, row_id: str, row: Row, removed: bool) -> None:
        if removed and self._traffic.pop((PPP_ACTIVE, row_id), None) is not None:
            self._record_logout(row)

    def _record_logout(self, session: Row) -> None:
        secrets = self._engine.table(PPP_SECRET)
        secret_id = secrets.find(session.get("name", ""))
        if secret_id is not None:
            secrets.update(
                secret_id,
                {
                    "last-logged-out": self._behaviour.format_date(time.time()),
                    "last-caller-id": session.get("caller-id", ""),
                    "last-disconnect-reason": "hung-up",
                },
            )

    def _user_changed(self, row_id: str, row: Row, removed: bool) -> None:
        if not removed or not self._behaviour.remove_user_kicks_session:
            return
        active = self._engine.table(HOTSPOT_ACTIVE)
        for active_id, entry in list(active.rows.items()):
            if entry["user"] == row.get("name"):
                active.delete(active_id)

    def _add_to_user(self, user: str | None, counters: dict[str, str]) -> None:
        users = self._engine.table(HOTSPOT_USER)
        row_id = users.find(user) if user else None
        if row_id is None:
            return
        row = users.rows[row_id]
        changes: dict[str, str | None] = {
            "uptime": format_duration(
                parse_duration(row.get("uptime", "0s")) + parse_duration(counters["uptime"])
            )
        }
        for key in ("bytes-in", "bytes-out", "packets-in", "packets-out"):
            changes[key] = str(int(row.get(key, "0")) + int(counters[key]))
        users.update(row_id, changes)

    def _next_address(self, network: str) -> str:
        return f"{network}.{next(self._hosts)}"

    def _next_mac(self) -> str:
        number = next(self._macs)
        return "02:5E:" + ":".join(f"{(number >> shift) & 0xFF:02X}" for shift in (24, 16, 8, 0))
