"""`wisp run [--once]` and `wisp users ROUTER`: the engine and live routers.

None of these import Textual; the engine modules are imported only when a command runs.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from console.cli import common
from console.cli.exits import Exit
from db import catalog
from db.models import Health, JobStatus, Router, RouterProvisioning


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add run and users."""
    run = commands.add_parser("run", help="run the provisioning engine headless (until SIGTERM)")
    run.add_argument(
        "--once",
        action="store_true",
        help="drain what is due and exit (5 if jobs are held on a router that is down or refuses "
        "the login, or a job failed)",
    )
    run.add_argument("--worker", help="name to claim jobs under (default: config, else host:pid)")
    run.set_defaults(handler=run_engine)

    users = commands.add_parser("users", help="list a live router's users (read-only)")
    users.add_argument("router")
    which = users.add_mutually_exclusive_group()
    which.add_argument("--hotspot", action="store_true", help="hotspot users only")
    which.add_argument("--pppoe", action="store_true", help="PPPoE secrets only")
    users.add_argument(
        "--active", action="store_true", help="logged-in sessions instead of accounts"
    )
    common.add_json_flag(users)
    users.set_defaults(handler=list_users)


def held_jobs(engine: Engine) -> int:
    """Jobs waiting on a router that is down or refuses the login (they spend no attempts)."""
    with Session(engine) as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(RouterProvisioning)
                .join(Router, col(Router.id) == col(RouterProvisioning.router_id))
                .where(
                    col(RouterProvisioning.status) == JobStatus.PENDING,
                    col(Router.health).in_([Health.DOWN, Health.AUTH_FAILED]),
                )
            )
            or 0
        )


def run_engine(args: argparse.Namespace) -> int:
    """`wisp run`."""
    from scheduler.engine import runner

    settings, engine = common.settings(args), common.engine(args)
    if args.once:
        failed = runner.run_once(settings, engine, worker=args.worker)
        return Exit.HELD_OR_FAILED if failed or held_jobs(engine) else Exit.DONE
    from scheduler.mpesa.service import mpesa_running

    with mpesa_running(settings, engine):
        return runner.run_forever(settings, engine, worker=args.worker)


COLUMNS = {
    "hotspot": ["name", "profile", "disabled", "uptime", "bytes", "comment"],
    "pppoe": ["name", "profile", "disabled", "last-logged-out", "comment"],
    "hotspot-active": ["user", "address", "mac-address", "uptime", "bytes"],
    "ppp-active": ["name", "service", "caller-id", "address", "uptime"],
}


def _kinds(args: argparse.Namespace) -> list[str]:
    services = ["hotspot"] if args.hotspot else ["pppoe"] if args.pppoe else ["hotspot", "pppoe"]
    if args.active:
        return ["hotspot-active" if s == "hotspot" else "ppp-active" for s in services]
    return services


def list_users(args: argparse.Namespace) -> int:
    """`wisp users ROUTER`: stream the live router's users as a table or JSON."""
    from scheduler.engine.endpoints import client_for
    from scheduler.routeros.users import fetch_users

    with common.session_for(args) as session:
        router = catalog.get_router(session, args.router)
    with client_for(router, common.settings(args).routers) as client:
        printer = JsonPrinter() if args.json else TablePrinter()
        for kind in _kinds(args):
            for batch in fetch_users(client, kind):
                printer.rows(kind, [_shown(kind, row) for row in batch])
        printer.end()
    return 0


def _shown(kind: str, row: dict[str, str]) -> dict[str, str]:
    shown = dict(row)
    shown.pop(".id", None)
    if "bytes-in" in row or "bytes-out" in row:
        shown["bytes"] = f"{row.get('bytes-in', '0')}/{row.get('bytes-out', '0')}"
    shown["type"] = kind
    return shown


class TablePrinter:
    """Rows as aligned text, each listing under its own header; widths from its first batch."""

    def __init__(self) -> None:
        self._widths: dict[str, list[int]] = {}
        self._counts: dict[str, int] = {}

    def rows(self, kind: str, rows: Sequence[dict[str, str]]) -> None:
        columns = COLUMNS[kind]
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
            print("no users on the router")
            return
        print(", ".join(f"{n} {kind}" for kind, n in self._counts.items()))


class JsonPrinter:
    """A JSON array written row by row, so 10,000 users start printing at once."""

    def __init__(self) -> None:
        self._first = True

    def rows(self, kind: str, rows: Sequence[dict[str, str]]) -> None:
        for row in rows:
            print("[" if self._first else ",", json.dumps(row, ensure_ascii=False), flush=False)
            self._first = False

    def end(self) -> None:
        print("[]" if self._first else "]", flush=True)
