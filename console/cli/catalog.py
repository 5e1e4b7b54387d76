"""`wisp router|package|client add|list`."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from console.cli import common, ledger
from db import catalog
from db.models import Client, Package, Router
from db.shaping import format_bytes, format_validity


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    _register_router(commands)
    _register_package(commands)
    _register_client(commands)


def _family(
    commands: argparse._SubParsersAction, name: str, help: str
) -> argparse._SubParsersAction:  # type: ignore[type-arg]
    parser = commands.add_parser(name, help=help)
    return parser.add_subparsers(dest=f"{name}_command", metavar="ACTION", required=True)


# ---------------------------------------------------------------------------------------- routers


def _register_router(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    routers = _family(commands, "router", "routers the console provisions")
    add = routers.add_parser("add", help="register a router")
    add.add_argument("name")
    add.add_argument("--host", required=True)
    add.add_argument("--port", type=int, help="API port (default 8728, or 8729 with --tls)")
    add.add_argument("--user", default="admin", help="API user (default admin)")
    secret = add.add_mutually_exclusive_group(required=True)
    secret.add_argument(
        "--password-env", metavar="VAR", help="read the password from this environment variable"
    )
    secret.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add.add_argument("--tls", action="store_true", help="use api-ssl")
    add.add_argument(
        "--no-verify", action="store_true", help="with --tls: do not verify the certificate"
    )
    add.add_argument("--fingerprint", help="with --tls: pin the certificate's SHA-256 fingerprint")
    add.set_defaults(handler=router_add)
    listing = routers.add_parser("list", help="list routers and their health")
    common.add_json_flag(listing)
    listing.set_defaults(handler=router_list)


def _read_password() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("router API password: ")
    return sys.stdin.readline().rstrip("\r\n")


def router_add(args: argparse.Namespace) -> int:
    password = _read_password() if args.password_stdin else None
    with common.session_for(args) as session:
        router = catalog.add_router(
            session,
            name=args.name,
            host=args.host,
            port=args.port,
            username=args.user,
            password=password,
            password_env=args.password_env,
            use_tls=args.tls,
            tls_verify=not args.no_verify,
            tls_fingerprint=args.fingerprint,
        )
        print(
            f"router {router.name} added: {router.username}@{router.host}:{router.port}"
            f"{' (TLS)' if router.use_tls else ''}"
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
    with common.session_for(args) as session:
        rows = [router_row(args, r) for r in session.scalars(select(Router).order_by(Router.name))]
    common.print_rows(
        rows,
        ["name", "host", "port", "tls", "health", "since", "version", "last_error"],
        as_json=args.json,
        empty="no routers yet (add one with `wisp router add`)",
    )
    return 0


# --------------------------------------------------------------------------------------- packages


def _register_package(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    packages = _family(commands, "package", "internet packages for sale")
    add = packages.add_parser(
        "add",
        help="create a package",
        description=(
            "Rates are the client's view: --rate is download, --upload is upload (default: same as --rate). "
            "The RouterOS rate-limit string (rx = client upload) and the router profile are derived."
        ),
    )
    add.add_argument("name")
    add.add_argument("--type", required=True, choices=["hotspot", "pppoe"])
    add.add_argument("--router", required=True, help="router name")
    add.add_argument("--price", required=True)
    add.add_argument("--validity", required=True, help="30d, 12h, 45m or 1mo")
    add.add_argument("--rate", required=True, help="download rate, e.g. 10M or 512k")
    add.add_argument("--upload", help="upload rate (default: --rate)")
    add.add_argument("--burst", help="download burst rate")
    add.add_argument("--burst-threshold", help="download burst threshold")
    add.add_argument("--burst-time", help="download burst time, e.g. 10s")
    add.add_argument("--upload-burst", help="upload burst rate (default: --burst)")
    add.add_argument(
        "--upload-burst-threshold", help="upload burst threshold (default: --burst-threshold)"
    )
    add.add_argument("--upload-burst-time", help="upload burst time (default: --burst-time)")
    add.add_argument("--account-type", default="personal", choices=["personal", "business"])
    add.add_argument("--devices", type=int, help="hotspot: devices per login (shared users)")
    add.add_argument("--data-limit", help="hotspot: data cap, e.g. 5G")
    add.set_defaults(handler=package_add)
    listing = packages.add_parser(
        "list", help="list packages with their rate limit and router profile"
    )
    common.add_json_flag(listing)
    listing.set_defaults(handler=package_list)


def package_add(args: argparse.Namespace) -> int:
    spec = catalog.PackageSpec(
        name=args.name,
        type=args.type,
        router=args.router,
        price=args.price,
        validity=args.validity,
        rate=args.rate,
        upload=args.upload,
        burst=args.burst,
        burst_threshold=args.burst_threshold,
        burst_time=args.burst_time,
        upload_burst=args.upload_burst,
        upload_burst_threshold=args.upload_burst_threshold,
        upload_burst_time=args.upload_burst_time,
        account_type=args.account_type,
        devices=args.devices,
        data_limit=args.data_limit,
    )
    on_router = _router_profiles(args, spec)
    with common.session_for(args) as session:
        added = catalog.create_package(session, spec, on_router=on_router)
        package = added.package
        print(
            f"package {package.name} added: rate-limit {package.rate_limit!r} "
            f"(rx/tx = client upload/download), profile {package.router_profile}"
        )
        if added.profile_note:
            print(f"chose {added.profile_note}")
    return 0


def _router_profiles(
    args: argparse.Namespace, spec: catalog.PackageSpec
) -> dict[str, dict[str, str]] | None:
    """The router's profiles of the package's type, so the new profile name clashes with none.

    Read within the connect timeout; a router that does not answer is said in one line, and the
    name is then checked against the database only (the engine refuses to rewrite a profile that
    is not ours in any case).
    """
    from scheduler.engine.profiles import profiles_on_router
    from scheduler.routeros.client import RouterError

    catalog.spec_shape(spec)  # a mistyped rate is refused before the router is asked
    with common.session_for(args) as session:
        router = catalog.find_router(session, spec.router or "")
    if router is None or spec.type not in ("hotspot", "pppoe"):
        return None  # the add itself says what is wrong
    try:
        return profiles_on_router(router, common.settings(args).routers, spec.type)
    except RouterError as error:
        print(
            f"wisp: note: {error}; the profile name was checked against the database only.",
            file=sys.stderr,
        )
        return None


def package_row(package: Package, router_names: dict[int, str]) -> dict[str, Any]:
    return {
        "name": package.name,
        "type": package.type,
        "account_type": package.account_type,
        "price": package.price,
        "validity": format_validity(package.duration_length, package.duration_unit),
        "rate_limit": package.rate_limit,
        "router_profile": package.router_profile,
        "router": router_names.get(package.router_id) if package.router_id else None,
        "devices": package.hotspot_device_limit,
        "data_limit": format_bytes(package.hotspot_data_limit)
        if package.hotspot_data_limit
        else None,
    }


def package_list(args: argparse.Namespace) -> int:
    with common.session_for(args) as session:
        names = dict(session.execute(select(col(Router.id), col(Router.name))).all())
        rows = [
            package_row(p, names) for p in session.scalars(select(Package).order_by(Package.name))
        ]
    common.print_rows(
        rows,
        ["name", "type", "price", "validity", "rate_limit", "router_profile", "router"],
        as_json=args.json,
        empty="no packages yet (add one with `wisp package add`)",
    )
    return 0


# ---------------------------------------------------------------------------------------- clients


def _register_client(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    clients = _family(commands, "client", "customers")
    add = clients.add_parser("add", help="register a client")
    add.add_argument("username", help="their login on the router")
    add.add_argument("--name", required=True, help="full name")
    add.add_argument("--phone")
    add.add_argument("--email")
    add.add_argument("--account-type", default="personal", choices=["personal", "business"])
    add.set_defaults(handler=client_add)
    listing = clients.add_parser("list", help="list clients")
    listing.add_argument("--search", help="match username, name or phone")
    listing.add_argument("--limit", type=int, default=1000)
    common.add_json_flag(listing)
    listing.set_defaults(handler=client_list)
    ledger.register(clients)


def client_add(args: argparse.Namespace) -> int:
    with common.session_for(args) as session:
        client = catalog.add_client(
            session,
            username=args.username,
            full_name=args.name,
            phone=args.phone,
            email=args.email,
            account_type=args.account_type,
        )
        print(f"client {client.username} added")
    return 0


def client_list(args: argparse.Namespace) -> int:
    query = select(Client).order_by(Client.username).limit(args.limit)
    if args.search:
        like = f"%{args.search}%"
        query = query.where(
            col(Client.username).like(like)
            | col(Client.full_name).like(like)
            | col(Client.phone).like(like)
        )
    with common.session_for(args) as session:
        rows = [
            {
                "username": c.username,
                "full_name": c.full_name,
                "phone": c.phone,
                "email": c.email,
                "account_type": c.account_type,
                "status": c.status,
                "created_at": common.local(args, c.created_at),
            }
            for c in session.scalars(query)
        ]
    common.print_rows(
        rows,
        ["username", "full_name", "phone", "account_type", "status"],
        as_json=args.json,
        empty="no clients found",
    )
    return 0
