"""`wisp subscriptions` and `wisp payments`: what runs and what came in, for scripts and people."""

from __future__ import annotations

import argparse
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from console.cli import common
from console.cli.exits import UsageError

WINDOW_HELP = "a length such as 30m, 24h, 7d or 2w (units: s, m, h, d, w)"


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    subs = common.command(
        commands,
        "subscriptions",
        list_subscriptions,
        "list subscriptions: what each client has, until when, and on which router",
        description="Current subscriptions (active and scheduled), soonest end first.",
    )
    subs.add_argument(
        "--expiring", metavar="WINDOW", help=f"only running clocks that end within {WINDOW_HELP}"
    )
    subs.add_argument("--client", metavar="NAME", help="only this client's")
    common.flag(subs, "--all", "expired and cancelled ones too (with --client: history)")

    pays = common.command(
        commands,
        "payments",
        list_payments,
        "list payments, newest first",
        description="Payments received, newest first, with what each one bought.",
    )
    pays.add_argument(
        "--since",
        metavar="WHEN",
        help="a date (2025-01-31, midnight in the configured time zone), a time "
        f"(2025-01-31T14:00), or {WINDOW_HELP} back from now",
    )


def window_seconds(text: str, option: str) -> int:
    """Seconds of a window such as 24h or 2w; one sentence when it is not one."""
    from db.shaping import ShapeError, parse_duration_seconds

    try:
        seconds = parse_duration_seconds(text)
    except ShapeError:
        seconds = -1
    if seconds <= 0:
        raise UsageError(f"{option} {text!r} is not {WINDOW_HELP}.")
    return seconds


def moment(text: str, zone: tzinfo, now: datetime, option: str) -> datetime:
    """A date, a time (in `zone` unless it carries an offset) or a window back from `now`."""
    from db.shaping import ShapeError, parse_duration_seconds

    try:
        return now - timedelta(seconds=parse_duration_seconds(text))
    except ShapeError:
        pass
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"{option} {text!r} is neither a date such as 2025-01-31, a time such as "
            f"2025-01-31T14:00, nor {WINDOW_HELP}."
        ) from None
    if len(text.strip()) == 10:
        parsed = datetime.combine(parsed.date(), time(0, 0))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def list_subscriptions(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from db import reports
    from db.types import utcnow

    now = utcnow()
    within = window_seconds(args.expiring, "--expiring") if args.expiring else None
    with Session(common.engine(args)) as session:
        rows = reports.subscriptions(
            session, now, client=args.client, expiring_within=within, every=args.all
        )
    shown = [_subscription(args, row) for row in rows]
    common.print_rows(
        shown,
        ["id", "client", "package", "router_account", "expires", "status", "router"],
        as_json=args.json,
        empty=_none_expiring(args) if args.expiring else "no subscriptions",
        hidden=("expires",),
    )
    return 0


def _none_expiring(args: argparse.Namespace) -> str:
    return f"no subscription ends within {args.expiring}"


def _subscription(args: argparse.Namespace, row: dict[str, Any]) -> dict[str, Any]:
    from console.views.panes import account_state

    shown = {
        key: common.local(args, value) if isinstance(value, datetime) else value
        for key, value in row.items()
        if key not in ("job_status", "job_action")
    }
    shown["router_account"] = account_state(row["status"], row["job_status"], row["job_action"])
    shown["expires"] = _expires(row)
    order = ["id", "client", "package", "router_account", "expires_in", "status", "router"]
    return {**{key: shown[key] for key in order}, **shown}


def _expires(row: dict[str, Any]) -> str:
    """The console's "Expires in": a running clock's time left; a stopped one's in brackets."""
    from db.activation import describe

    if row["status"] == "scheduled":
        return "after current"
    if row["expires_in"] is not None:
        return f"in {describe(timedelta(seconds=row['expires_in']))}"
    if row["left"] is not None:
        return f"({describe(timedelta(seconds=row['left']))} {row['clock']})"
    return "-"


def list_payments(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from db import reports
    from db.types import utcnow

    zone = common.settings(args).zone
    since = moment(args.since, zone, utcnow(), "--since") if args.since else None
    with Session(common.engine(args)) as session:
        rows = reports.payments(session, since=since)
    shown = [
        {
            **{k: common.local(args, v) if isinstance(v, datetime) else v for k, v in row.items()},
            "time_bought": common.Seconds(row["time_bought"]) if row["time_bought"] else None,
        }
        for row in rows
    ]
    common.print_rows(
        shown,
        ["id", "date", "client", "amount", "method", "reference", "package", "time_bought"],
        as_json=args.json,
        empty="no payments" + (f" since {common.shown_time(args, since)}" if since else ""),
    )
    return 0
