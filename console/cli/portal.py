"""`wisp portal login-page ROUTER`: the hotspot's login.html sending customers to the captive
portal, and the walled-garden entries the router needs for it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from console.cli import common
from db.errors import UserError


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    portal = commands.add_parser("portal", help="the captive portal for walk-in customers")
    actions = portal.add_subparsers(dest="portal_command", metavar="ACTION", required=True)
    page = common.command(
        actions,
        "login-page",
        login_page,
        "print the login.html to upload to a router's hotspot, and its walled garden",
        ("router", "router name"),
        description="Prints login.html on stdout (or writes it to --output) and the walled-garden "
        "commands to paste on the router on stderr (on stdout with --output).",
        json=False,
    )
    page.add_argument("--output", metavar="FILE", help="write login.html to FILE")


def login_page(args: argparse.Namespace) -> int:
    """`wisp portal login-page ROUTER`."""
    from sqlmodel import Session

    from db import catalog
    from scheduler.portal.login_page import login_html, walled_garden

    settings = common.settings(args)
    public_url = settings.portal.public_url
    if not public_url:
        raise UserError(
            "set portal.public_url to the address phones reach the portal at (see [portal] in "
            "config.example.toml)."
        )
    with Session(common.engine(args)) as session:
        router = catalog.get_router(session, args.router)
    page = login_html(public_url, router.name)
    garden = "\n".join(walled_garden(public_url))
    if args.output:
        common.write_file(Path(args.output), page.encode("utf-8"))
        print(f"login.html for {router.name} written to {args.output}; upload it to the hotspot's")
        print("directory (Files, hotspot/), then add the walled garden on the router:")
        print(garden)
    else:
        sys.stdout.write(page)
        print(f"# Walled garden for {router.name} (paste on the router):", file=sys.stderr)
        print(garden, file=sys.stderr)
    return 0
