"""`wisp client add|edit|list|show|suspend|resume`: the customers."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from console.cli import common, ledger
from console.cli.exits import UsageError

if TYPE_CHECKING:
    from db.models import Client
    from db.suspension import Suspension


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    clients = common.family(commands, "client", "customers")
    add = common.command(
        clients, "add", client_add, "register a client", ("username", "their login on the router")
    )
    add.add_argument("--name", required=True, help="full name")
    _contact_options(add)
    add.add_argument("--account-type", default="personal", choices=["personal", "business"])

    edit = common.command(
        clients,
        "edit",
        client_edit,
        "change a client's name, phone or email",
        ("username", None),
        description="Change a client's name, phone or email; an empty value clears phone or email.",
    )
    edit.add_argument("--name", help="full name")
    _contact_options(edit)

    listing = common.command(clients, "list", client_list, "list clients")
    listing.add_argument(
        "--search",
        help="part of a username or name (any case), or of a phone number in any form (0722…)",
    )
    listing.add_argument("--limit", type=int, default=1000)

    common.command(
        clients,
        "suspend",
        client_suspend,
        "disable a client's router accounts and stop their subscription's clock",
        ("username", None),
        description="Disable the client's router accounts and stop the clock of their running "
        "subscriptions: the time they have left is kept for `wisp client resume`.",
    )
    common.command(
        clients,
        "resume",
        client_resume,
        "enable a suspended client again with the time they had left",
        ("username", None),
        description="Enable a suspended client's router accounts again; each stopped expiry moves "
        "forward by the time it stood, so the client gets the time they had left.",
    )
    ledger.register(clients)


def _contact_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--phone", help="in any form: 0722000111, 722000111, +254722000111")
    parser.add_argument("--email")


def client_row(args: argparse.Namespace, client: Client) -> dict[str, Any]:
    from db.ledger import client_fields

    return {
        **client_fields(client),
        "credit": client.credit,
        "created_at": common.local(args, client.created_at),
    }


def client_add(args: argparse.Namespace) -> int:
    from db import catalog

    with common.session_for(args) as session:
        client = catalog.add_client(
            session,
            username=args.username,
            full_name=args.name,
            phone=args.phone,
            email=args.email,
            account_type=args.account_type,
        )
        row = client_row(args, client)
    common.say(args, row, f"client {client.username} added")
    return 0


def client_edit(args: argparse.Namespace) -> int:
    from db import catalog

    if args.name is None and args.phone is None and args.email is None:
        raise UsageError("nothing to change: give --name, --phone or --email.")
    with common.session_for(args) as session:
        client, changed = catalog.edit_client(
            session, args.username, full_name=args.name, phone=args.phone, email=args.email
        )
        row = client_row(args, client)
    if args.json:
        common.print_json({**row, "changed": changed})
    elif changed:
        print(f"client {client.username} changed: {', '.join(changed)}")
    else:
        print(f"client {client.username} already is as asked; nothing changed")
    return 0


def client_list(args: argparse.Namespace) -> int:
    from sqlalchemy import func, select
    from sqlmodel import Session, col

    from db.models import Client
    from db.phones import phone_fragment

    query = select(Client).order_by(Client.username).limit(args.limit)
    if args.search:
        text = args.search.strip().lower()
        phone = phone_fragment(text)
        query = query.where(
            func.lower(col(Client.username)).contains(text, autoescape=True)
            | func.lower(col(Client.full_name)).contains(text, autoescape=True)
            | col(Client.phone).contains(phone or text, autoescape=True)
        )
    with Session(common.engine(args)) as session:
        rows = [client_row(args, c) for c in session.scalars(query)]
    common.print_rows(
        rows,
        ["username", "full_name", "phone", "account_type", "status"],
        as_json=args.json,
        empty="no clients found",
    )
    return 0


def _suspension(args: argparse.Namespace, operation: Any) -> Suspension | None:
    """Suspend or resume; the JSON is printed here (None returned), the words by the caller."""
    from db.types import utcnow

    with common.session_for(args) as session:
        done: Suspension = operation(session, args.username, now=utcnow())
        row = {
            **client_row(args, done.client),
            "subscriptions": done.subscriptions,
            "jobs": done.accounts,
            "stood_seconds": int(done.stood.total_seconds()),
        }
    if args.json:
        common.print_json(row)
        return None
    return done


def _jobs(done: Suspension) -> str:
    return f" (job {', '.join(map(str, done.accounts))})" if done.accounts else ""


def client_suspend(args: argparse.Namespace) -> int:
    from db.suspension import suspend_client

    done = _suspension(args, suspend_client)
    if done is not None:
        print(
            f"{done.client.username} suspended: {len(done.subscriptions)} subscription clock(s) "
            f"stopped with their time kept; {len(done.accounts)} router account(s) queued to be "
            f"disabled{_jobs(done)}"
        )
    return 0


def client_resume(args: argparse.Namespace) -> int:
    from db.activation import describe
    from db.suspension import resume_client

    done = _suspension(args, resume_client)
    if done is not None:
        print(
            f"{done.client.username} resumed: {len(done.subscriptions)} subscription(s) run "
            f"again, their expiry moved forward by {describe(done.stood)}; "
            f"{len(done.accounts)} router account(s) queued to be enabled{_jobs(done)}"
        )
    return 0
