"""`wisp package add|edit|list`: the internet packages for sale."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from console.cli import common

if TYPE_CHECKING:
    from sqlmodel import Session

    from db import catalog
    from db.models import Package

VALIDITY_HELP = (
    "a length with a unit: minutes (45m, min), hours (12h, hr), days (30d), weeks (2w, wk) or "
    "calendar months (1mo, mon)"
)


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    packages = common.family(commands, "package", "internet packages for sale")
    add = common.command(
        packages,
        "add",
        package_add,
        "create a package",
        ("name", None),
        description=(
            "Rates are the client's view: --rate is download, --upload is upload (default: same as "
            "--rate). The RouterOS rate-limit string (rx = client upload) and the router profile "
            "are derived."
        ),
    )
    add.add_argument("--type", required=True, choices=["hotspot", "pppoe"])
    add.add_argument("--router", required=True, help="router name")
    add.add_argument("--price", required=True)
    add.add_argument("--validity", required=True, help=VALIDITY_HELP)
    add.add_argument("--rate", required=True, help="download rate, e.g. 10M or 512k")
    _shaping_options(add)
    add.add_argument("--account-type", default="personal", choices=["personal", "business"])
    add.add_argument("--devices", type=int, help="hotspot: devices per login (shared users)")
    add.add_argument("--data-limit", help="hotspot: data cap, e.g. 5G")

    edit = common.command(
        packages,
        "edit",
        package_edit,
        "change a package (a new shape re-queues its accounts)",
        ("package", "its name now"),
        description=(
            "--name, --price and --validity change the catalog only: what the next payment buys. "
            "A change of rate, burst, devices, data limit or account type changes what the "
            "package's clients get on the router: every active account on it is queued again, "
            "after a confirmation that says how many (--yes skips it)."
        ),
    )
    edit.add_argument("--name", help="new name")
    edit.add_argument("--price")
    edit.add_argument("--validity", help=VALIDITY_HELP)
    edit.add_argument("--rate", help="download rate, e.g. 10M or 512k")
    _shaping_options(edit)
    common.flag(edit, "--no-burst", "remove the burst (both directions)")
    edit.add_argument("--account-type", choices=["personal", "business"])
    edit.add_argument("--devices", type=int, help="hotspot: devices per login (shared users)")
    edit.add_argument("--data-limit", help="hotspot: data cap, e.g. 5G; none removes it")
    common.flag(edit, "--yes", "re-queue the accounts without asking")
    common.command(
        packages, "list", package_list, "list packages with their rate limit and router profile"
    )


def _shaping_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--upload", help="upload rate (default: --rate)")
    parser.add_argument("--burst", help="download burst rate")
    parser.add_argument("--burst-threshold", help="download burst threshold")
    parser.add_argument("--burst-time", help="download burst time, e.g. 10s")
    parser.add_argument("--upload-burst", help="upload burst rate (default: --burst)")
    parser.add_argument(
        "--upload-burst-threshold", help="upload burst threshold (default: --burst-threshold)"
    )
    parser.add_argument("--upload-burst-time", help="upload burst time (default: --burst-time)")


def spec_fields() -> tuple[str, ...]:
    """Options of `package add` and `package edit` that mean the same in both."""
    from db import catalog

    return (
        "price",
        "validity",
        "rate",
        "upload",
        *catalog.BURST_FIELDS,
        "account_type",
        "devices",
        "data_limit",
    )


def _given(args: argparse.Namespace, fields: tuple[str, ...]) -> dict[str, Any]:
    return {field: getattr(args, field) for field in fields}


def package_add(args: argparse.Namespace) -> int:
    from db import catalog

    spec = catalog.PackageSpec(
        name=args.name, type=args.type, router=args.router, **_given(args, spec_fields())
    )
    catalog.check_spec(spec)  # a mistyped value is refused before the router is asked
    on_router = _router_profiles(args, spec.router or "", spec.type)
    with common.session_for(args) as session:
        added = catalog.create_package(session, spec, on_router=on_router)
        row = package_row(added.package, _router_names(session))
    if args.json:
        common.print_json({**row, "profile_note": added.profile_note})
        return 0
    package = added.package
    print(
        f"package {package.name} added: rate-limit {package.rate_limit!r} "
        f"(rx/tx = client upload/download), profile {package.router_profile}"
    )
    if added.profile_note:
        print(f"chose {added.profile_note}")
    return 0


def package_edit(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from db import catalog
    from db.models import Router
    from db.types import utcnow

    changes = catalog.PackageChanges(
        name=args.name, no_burst=args.no_burst, **_given(args, spec_fields())
    )
    engine = common.engine(args)
    on_router = None
    if changes.shaping:
        with Session(engine) as session:
            package = catalog.get_package(session, args.package)
            router = session.get(Router, package.router_id) if package.router_id else None
            name, service, router_name = package.name, package.type, router.name if router else ""
            count = _would_requeue(session, args.package, changes)
        if count is not None:
            on_router = _router_profiles(args, router_name, service)
            if count:
                common.confirm(
                    f"{count} active account(s) on {name} will be re-provisioned with "
                    "the new shape. Go ahead?",
                    yes=args.yes,
                    nothing_done="the package was not changed.",
                )
    with common.session_for(args) as session:
        edited = catalog.edit_package(
            session, args.package, changes, on_router=on_router, now=utcnow()
        )
        row = package_row(edited.package, _router_names(session))
    if args.json:
        common.print_json(
            {
                **row,
                "changed": edited.changed,
                "requeued": edited.requeued,
                "profile_note": edited.profile_note,
            }
        )
        return 0
    if not edited.changed:
        print(f"package {edited.package.name} already is as asked; nothing changed")
        return 0
    print(f"package {edited.package.name} changed: {', '.join(edited.changed)}")
    if edited.profile_note:
        print(f"chose {edited.profile_note}")
    if {"rate_limit", "devices", "data_limit", "account_type"} & set(edited.changed):
        print(
            f"rate-limit {edited.package.rate_limit!r}, profile {edited.package.router_profile}; "
            f"{len(edited.requeued)} account(s) queued to be re-provisioned"
        )
    return 0


def _would_requeue(session: Session, name: str, changes: catalog.PackageChanges) -> int | None:
    """How many accounts the shaping changes would re-queue; None when they change no shape.

    Worked out by the edit itself in a transaction that is rolled back, before anyone is asked.
    """
    from db import catalog

    try:
        edited = catalog.edit_package(session, name, changes)
        reshaped = {"rate_limit", "devices", "data_limit", "account_type"} & set(edited.changed)
        return len(edited.requeued) if reshaped else None
    finally:
        session.rollback()


def _router_profiles(
    args: argparse.Namespace, router_name: str, service: str
) -> dict[str, dict[str, str]] | None:
    """The router's profiles of this service, so that a new profile name clashes with none.

    Read within the connect timeout; a router that does not answer is said in one line, and the
    name is then checked against the database only (the engine refuses to rewrite a profile that
    is not ours in any case).
    """
    from sqlmodel import Session

    from db import catalog
    from scheduler.engine.profiles import profiles_on_router
    from scheduler.routeros.client import RouterError

    with Session(common.engine(args)) as session:
        router = catalog.find_router(session, router_name)
    if router is None or service not in ("hotspot", "pppoe"):
        return None  # the add itself says what is wrong
    try:
        return profiles_on_router(router, common.settings(args).routers, service)
    except RouterError as error:
        print(
            f"wisp: note: {error}; the profile name was checked against the database only.",
            file=sys.stderr,
        )
        return None


def _router_names(session: Session) -> dict[int, str]:
    from sqlalchemy import select
    from sqlmodel import col

    from db.models import Router

    return dict(session.execute(select(col(Router.id), col(Router.name))).all())


def package_row(package: Package, router_names: dict[int, str]) -> dict[str, Any]:
    from db.shaping import format_validity

    months = package.duration_unit == "months"
    seconds = {"minutes": 60, "hours": 3600, "days": 86400}.get(package.duration_unit, 0)
    return {
        "name": package.name,
        "type": package.type,
        "price": package.price,
        "validity": {
            "length": package.duration_length,
            "unit": package.duration_unit,
            "seconds": None if months else package.duration_length * seconds,
            "text": format_validity(package.duration_length, package.duration_unit),
        },
        "rate_limit": package.rate_limit,
        "profile": package.router_profile,
        "router": router_names.get(package.router_id) if package.router_id else None,
        "account_type": package.account_type,
        "devices": package.hotspot_device_limit,
        "data_limit": package.hotspot_data_limit,
    }


def package_list(args: argparse.Namespace) -> int:
    from sqlalchemy import select
    from sqlmodel import Session

    from db.models import Package

    with Session(common.engine(args)) as session:
        names = _router_names(session)
        rows = [
            package_row(p, names) for p in session.scalars(select(Package).order_by(Package.name))
        ]
    common.print_rows(
        rows,
        ["name", "type", "price", "validity", "rate_limit", "profile", "router"],
        as_json=args.json,
        empty="no packages yet (add one with `wisp package add`)",
    )
    return 0
