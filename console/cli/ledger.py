"""`wisp client show`: one client's payments, subscriptions, credit and router accounts."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from console.cli import common


def register(clients: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    show = common.command(
        clients,
        "show",
        client_show,
        "a client's payments, subscriptions, credit and router accounts",
        ("username", None),
    )
    common.flag(
        show,
        "--show-password",
        "print the router login passwords (to tell a new customer their login)",
    )


def client_show(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from db.ledger import client_ledger

    with Session(common.engine(args)) as session:
        ledger = client_ledger(session, args.username.strip(), show_password=args.show_password)
    data = _shown(args, ledger.as_dict())
    if args.json:
        common.print_json(data)
        return 0
    client = data["client"]
    print(
        f"{client['username']}  {client['full_name']}  {client['phone'] or ''}  "
        f"{client['status']}  credit {data['credit']}"
    )
    for title, rows, columns in (
        (
            "Subscriptions",
            data["subscriptions"],
            ["id", "package", "router", "status", "start", "expires", "clock", "time_bought"],
        ),
        (
            "Payments",
            data["payments"],
            ["id", "date", "amount", "method", "reference", "package", "status", "time_bought"],
        ),
        (
            "Router accounts",
            data["accounts"],
            ["job", "router", "service", "username", "profile", "wanted", "status"]
            + (["password"] if args.show_password else []),
        ),
    ):
        print(f"\n{title}")
        if rows:
            common.print_table(rows, columns)
        else:
            print("  none")
    return 0


SECONDS = ("time_bought", "paused_seconds")


def _shown(args: argparse.Namespace, value: Any, key: str = "") -> Any:
    """Every stored UTC time in the operator's zone; lengths of time as `Seconds`."""
    if isinstance(value, datetime):
        return common.local(args, value)
    if isinstance(value, int) and key in SECONDS:
        return common.Seconds(value)
    if isinstance(value, dict):
        return {k: _shown(args, item, k) for k, item in value.items()}
    if isinstance(value, list):
        return [_shown(args, item) for item in value]
    return value
