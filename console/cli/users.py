"""`wisp users ROUTER [--hotspot|--pppoe] [--active]`: what a live router holds, read-only.

Rows stream from the router as they come, so 10,000 users start printing at once. JSON is typed:
the router's "true"/"false" as booleans, byte and packet counters as integers, times such as
uptime as whole seconds; names are the console's, in snake_case (`bytes-in` is `bytes_in`).
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from console.cli import common


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    users = common.command(
        commands,
        "users",
        list_users,
        "list a live router's users (read-only)",
        ("router", "router name"),
    )
    which = users.add_mutually_exclusive_group()
    common.flag(which, "--hotspot", "hotspot users only")
    common.flag(which, "--pppoe", "PPPoE secrets only")
    common.flag(users, "--active", "logged-in sessions instead of accounts")


COLUMNS = {
    "hotspot": ["name", "profile", "disabled", "uptime", "bytes", "comment"],
    "pppoe": ["name", "profile", "disabled", "last-logged-out", "comment"],
    "hotspot-active": ["user", "address", "mac-address", "uptime", "bytes"],
    "ppp-active": ["name", "service", "caller-id", "address", "uptime"],
}
WHAT = {
    "hotspot": "hotspot users",
    "pppoe": "PPPoE secrets",
    "hotspot-active": "active hotspot sessions",
    "ppp-active": "active PPP sessions",
}
TIMES = {"uptime", "limit-uptime", "session-time-left", "idle-time", "idle-timeout"}
"""Fields that hold a length of time (RouterOS `1w2d3h4m5s` or `2d03:04:05`)."""
COUNTERS = ("bytes-", "packets-", "limit-bytes-")
"""Prefixes of fields that hold a count."""


def _kinds(args: argparse.Namespace) -> list[str]:
    services = ["hotspot"] if args.hotspot else ["pppoe"] if args.pppoe else ["hotspot", "pppoe"]
    if args.active:
        return ["hotspot-active" if s == "hotspot" else "ppp-active" for s in services]
    return services


def list_users(args: argparse.Namespace) -> int:
    """`wisp users ROUTER`: stream the live router's users as a table or JSON."""
    from sqlmodel import Session

    from db import catalog
    from scheduler.engine.endpoints import client_for
    from scheduler.routeros.users import fetch_users

    with Session(common.engine(args)) as session:
        router = catalog.get_router(session, args.router)
    kinds = _kinds(args)
    with client_for(router, common.settings(args).routers) as client:
        printer = JsonPrinter() if args.json else TablePrinter(router.name, kinds)
        for kind in kinds:
            for batch in fetch_users(client, kind):
                printer.rows(kind, batch)
        printer.end()
    return 0


_DURATION = re.compile(r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?")
_CLOCK = re.compile(r"(?:(\d+)w)?(?:(\d+)d)?(\d+):(\d\d):(\d\d)(?:\.\d+)?")


def router_seconds(text: str) -> int | None:
    """Whole seconds of a RouterOS length of time (`1w2d3h4m5s`, `2d03:04:05`); None if not one."""
    text = text.strip()
    clock = _CLOCK.fullmatch(text)
    if clock:
        weeks, days, hours, minutes, seconds = (int(g or 0) for g in clock.groups())
        return (((weeks * 7 + days) * 24 + hours) * 60 + minutes) * 60 + seconds
    parts = _DURATION.fullmatch(text)
    if not text or parts is None:
        return None
    weeks, days, hours, minutes, seconds, _ = (int(g or 0) for g in parts.groups())
    return (((weeks * 7 + days) * 24 + hours) * 60 + minutes) * 60 + seconds


def typed(kind: str, row: dict[str, str]) -> dict[str, Any]:
    """A router row as JSON has it: typed values under snake_case names, no router ids."""
    shown: dict[str, Any] = {}
    for key, value in row.items():
        if key.startswith("."):
            continue
        name = key.replace("-", "_")
        if value in ("true", "false"):
            shown[name] = value == "true"
        elif key in TIMES and router_seconds(value) is not None:
            shown[name] = router_seconds(value)
        elif key.startswith(COUNTERS) and value.isdigit():
            shown[name] = int(value)
        else:
            shown[name] = value
    shown["type"] = kind
    shown["service"] = shown.get("service") or (
        "hotspot" if kind.startswith("hotspot") else "pppoe"
    )
    return shown


def _cells(row: dict[str, str]) -> dict[str, str]:
    if "bytes-in" in row or "bytes-out" in row:
        return {**row, "bytes": f"{row.get('bytes-in', '0')}/{row.get('bytes-out', '0')}"}
    return row


class TablePrinter:
    """Rows as aligned text, each listing under its own header; widths from its first batch."""

    def __init__(self, router: str, kinds: Sequence[str]) -> None:
        self.router = router
        self.kinds = kinds
        self._widths: dict[str, list[int]] = {}
        self._counts: dict[str, int] = {}

    def rows(self, kind: str, rows: Sequence[dict[str, str]]) -> None:
        columns = COLUMNS[kind]
        rows = [_cells(row) for row in rows]
        if kind not in self._widths:
            self._widths[kind] = [
                max([len(c), *(len(r.get(c, "")) for r in rows)]) for c in columns
            ]
            print(f"{kind}:")
            self._line([c.upper() for c in columns], self._widths[kind])
        for row in rows:
            self._line([row.get(c, "") or "-" for c in columns], self._widths[kind])
        self._counts[kind] = self._counts.get(kind, 0) + len(rows)

    @staticmethod
    def _line(cells: Iterable[str], widths: list[int]) -> None:
        print(
            "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip(), flush=True
        )

    def end(self) -> None:
        if not self._counts:
            print(f"no {' or '.join(WHAT[kind] for kind in self.kinds)} on router {self.router}")
            return
        print(", ".join(f"{n} {kind}" for kind, n in self._counts.items()))


class JsonPrinter:
    """A JSON array written row by row, so 10,000 users start printing at once."""

    def __init__(self) -> None:
        self._first = True

    def rows(self, kind: str, rows: Sequence[dict[str, str]]) -> None:
        for row in rows:
            line = json.dumps(typed(kind, row), ensure_ascii=False)
            print("[" if self._first else ",", line, flush=False)
            self._first = False

    def end(self) -> None:
        print("[]" if self._first else "]", flush=True)
