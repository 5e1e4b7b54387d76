"""`wisp router add|edit|remove|list|check`: the routers WISP Console provisions.

Adding or editing a router tries its login first (`--no-check` skips that), so a wrong host or
password is said at once, in the router's own words, and nothing is stored. None of these import
Textual; the router client is imported only when a router is asked.
"""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING, Any

from console.cli import common
from console.cli.exits import UsageError

if TYPE_CHECKING:
    from db.models import Router


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    routers = common.family(commands, "router", "routers the console provisions")
    add = common.command(
        routers,
        "add",
        router_add,
        "register a router (its login is tried first)",
        ("name", None),
        description="Register a router. Its API login is tried first; a router that refuses it "
        "is not stored (--no-check stores it without asking the router).",
    )
    _reach_options(add, adding=True)

    edit = common.command(
        routers,
        "edit",
        router_edit,
        "change a router's host, port, login or TLS",
        ("name", None),
        description="Change how a router is reached. The new login is tried first (unless "
        "--no-check); its health starts again from unknown, and jobs it held are due at once.",
    )
    _reach_options(edit, adding=False)

    remove = common.command(
        routers,
        "remove",
        router_remove,
        "remove a router from the database (the router itself is not changed)",
        ("name", None),
        description="Remove a router from the database. Refused while router accounts or "
        "unfinished jobs depend on it, unless --forget-accounts, which deletes them with it; "
        "nothing on the router changes either way. Its packages stay, without a router.",
    )
    common.flag(
        remove, "--forget-accounts", "also delete its router accounts and jobs from the database"
    )
    common.command(routers, "list", router_list, "list routers and their health")
    common.command(
        routers, "check", router_check, "connect to a router and report it", ("name", None)
    )


def _reach_options(parser: argparse.ArgumentParser, *, adding: bool) -> None:
    """How a router is reached: options of `router add` (with defaults) and `router edit`."""
    parser.add_argument("--host", required=adding)
    parser.add_argument("--port", type=int, help="API port (default 8728, or 8729 with TLS)")
    parser.add_argument("--user", default="admin" if adding else None, help="API user (admin)")
    secret = parser.add_mutually_exclusive_group(required=adding)
    secret.add_argument(
        "--password-env", metavar="VAR", help="read the password from this environment variable"
    )
    common.flag(secret, "--password-stdin", "read the password from standard input")
    if adding:
        common.flag(parser, "--tls", "use api-ssl")
        common.flag(parser, "--no-verify", "with --tls: do not verify the certificate")
    else:
        tls = argparse.BooleanOptionalAction
        parser.add_argument("--tls", action=tls, help="use api-ssl (--no-tls: plain API)")
        parser.add_argument("--verify", action=tls, help="with TLS: verify the certificate")
    parser.add_argument("--fingerprint", help="with TLS: pin the certificate's SHA-256 fingerprint")
    common.flag(parser, "--no-check", "store it without trying the router's login")


def try_login(args: argparse.Namespace, router: Router) -> dict[str, str]:
    """Log in to the router as configured; a refusal is one sentence and nothing is stored."""
    from db import catalog
    from scheduler.engine.endpoints import client_for
    from scheduler.routeros.errors import RouterError

    try:
        with client_for(router, common.settings(args).routers) as client:
            return client.identity()
    except RouterError as error:
        raise catalog.Refused(
            f"{str(error).rstrip('.')}; nothing was stored (--no-check stores it without trying)."
        ) from None


def router_add(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from db import catalog

    password = common.read_password() if args.password_stdin else None
    fields: dict[str, Any] = {
        "name": args.name,
        "host": args.host,
        "port": args.port,
        "username": args.user,
        "password": password,
        "password_env": args.password_env,
        "use_tls": args.tls,
        "tls_verify": not args.no_verify,
        "tls_fingerprint": args.fingerprint,
    }
    engine = common.engine(args)
    if not args.no_check:
        with Session(engine) as session:
            candidate = catalog.new_router(session, **fields)
        try_login(args, candidate)
    with common.session_for(args) as session:
        router = catalog.add_router(session, **fields)
        row = router_row(args, router)
    common.say(args, row, f"router {router.name} added: {_reached(args, router)}")
    return 0


def router_edit(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from db import catalog

    changes = catalog.RouterChanges(
        host=args.host,
        port=args.port,
        username=args.user,
        password=common.read_password() if args.password_stdin else None,
        password_env=args.password_env,
        use_tls=args.tls,
        tls_verify=args.verify,
        tls_fingerprint=args.fingerprint,
    )
    engine = common.engine(args)
    with Session(engine) as session:
        candidate = catalog.get_router(session, args.name)
        session.expunge(candidate)
    if not catalog.apply_router_changes(candidate, changes):
        raise UsageError(
            f"nothing to change on router {candidate.name}: give --host, --port, --user, "
            "--password-env, --password-stdin, --tls/--no-tls, --verify/--no-verify or "
            "--fingerprint with a new value."
        )
    if not args.no_check:
        try_login(args, candidate)
    with common.session_for(args) as session:
        router, changed = catalog.edit_router(session, args.name, changes)
        row = router_row(args, router)
    common.say(
        args,
        {**row, "changed": changed},
        f"router {router.name} changed ({', '.join(changed)}): now {_reached(args, router)}",
    )
    return 0


def _reached(args: argparse.Namespace, router: Router) -> str:
    """How the router is reached now, and whether it took the login."""
    return f"{router.username}@{router.host}:{router.port}{' (TLS)' if router.use_tls else ''}" + (
        "" if args.no_check else "; it accepted the login"
    )


def router_remove(args: argparse.Namespace) -> int:
    from db import catalog

    with common.session_for(args) as session:
        name = catalog.get_router(session, args.name).name
        found = catalog.remove_router(session, args.name, forget_accounts=args.forget_accounts)
    if args.json:
        common.print_json(
            {
                "name": name,
                "removed": True,
                "accounts_forgotten": found.accounts,
                "jobs_forgotten": found.pending,
                "packages_without_router": found.packages,
            }
        )
        return 0
    print(f"router {name} removed; nothing on the router was changed")
    if found.accounts:
        print(f"{found.accounts} router account(s) and their jobs were forgotten with it")
    if found.packages:
        print(
            f"package(s) left without a router: {', '.join(found.packages)} "
            "(they cannot be sold until they have one)"
        )
    return 0


def router_row(args: argparse.Namespace, router: Router) -> dict[str, Any]:
    return {
        "name": router.name,
        "host": router.host,
        "port": router.port,
        "tls": router.use_tls,
        "user": router.username,
        "status": router.status,
        "health": router.health,
        "since": common.local(args, router.health_since),
        "version": router.version,
        "last_seen": common.local(args, router.last_seen),
        "last_error": router.last_error,
    }


def router_list(args: argparse.Namespace) -> int:
    from sqlalchemy import select
    from sqlmodel import Session

    from db.models import Router

    with Session(common.engine(args)) as session:
        rows = [router_row(args, r) for r in session.scalars(select(Router).order_by(Router.name))]
    common.print_rows(
        rows,
        ["name", "host", "port", "tls", "health", "since", "version", "last_error"],
        as_json=args.json,
        empty="no routers yet (add one with `wisp router add`)",
    )
    return 0


def router_check(args: argparse.Namespace) -> int:
    """`wisp router check NAME`: identity, version, uptime, or the classified error."""
    from sqlmodel import Session

    from console.cli.users import router_seconds
    from db import catalog
    from scheduler.engine.endpoints import client_for
    from scheduler.engine.health import Observation, record_health
    from scheduler.routeros.client import RouterError

    if not args.verbose:
        # The health entry's log line would repeat the one-line error below.
        logging.getLogger("wisp.router").setLevel(logging.CRITICAL)
    engine = common.engine(args)
    with Session(engine) as session:
        router = catalog.get_router(session, args.name)
    try:
        with client_for(router, common.settings(args).routers) as client:
            info = client.identity()
    except RouterError as error:
        record_health(engine, Observation(router.id or 0, router.name, error=error))
        raise
    record_health(engine, Observation(router.id or 0, router.name, info=info))
    if args.json:
        common.print_json(
            {
                "name": router.name,
                "host": router.host,
                "port": router.port,
                "health": "up",
                "identity": info.get("identity"),
                "version": info.get("version"),
                "board": info.get("board-name"),
                "uptime": router_seconds(info.get("uptime") or ""),
            }
        )
        return 0
    print(
        f"{router.name} ({router.host}:{router.port}) is up: identity {info['identity']}, "
        f"RouterOS {info['version']}, board {info['board-name']}, uptime {info['uptime']}"
    )
    return 0
