"""Import an existing router: what it holds becomes database rows, and the router is never changed.

`plan_import` reads the router (streamed, with progress and cancel, like a reconcile) and works out
what would be created; `scheduler.adopt_write.apply_import` writes it in one transaction. In between
the operator confirms (the CLI's --dry-run shows the plan and stops).

* Hotspot user profiles and PPP profiles become packages: the rate limit is parsed back into the
  typed fields, burst included, and the package keeps the router's profile name so the accounts on
  it stay as they are. A shape a package cannot hold exactly (unlimited, priority, minimum rates,
  unlimited shared users, rates that are not whole kbit/s) is reported and not imported.
* Users and secrets become clients and router account rows (status completed), with a subscription
  whose expiry is a date found in the comment (see `scheduler.comment_dates`) or the default
  validity from now. A disabled account is imported deactivated, without an active subscription.
* What is already in the database (packages by router and profile, accounts by router and name) is
  left alone, so running the import twice changes nothing the second time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from db.catalog import USERNAME, Refused, apply_shaping, get_router, package_shape
from db.config import Settings
from db.models import Package, RouterProvisioning
from db.shaping import Shape, ShapeError, add_validity, parse_rate_limit, parse_validity
from db.types import utcnow
from scheduler.comment_dates import expiry_from_comment
from scheduler.drift import SERVICES
from scheduler.drift_state import (
    ACCOUNT_PROPS,
    CancelCheck,
    ProgressSink,
    RouterReader,
    Row,
    is_disabled,
    same_shape,
)
from scheduler.routeros import RouterClient

PHONE = re.compile(r"(?<!\d)(?:\+?254|0)[17]\d{8}(?!\d)")
"""A Kenyan mobile number in a comment (07…, 01…, 2547…, +2541…)."""


@dataclass(frozen=True)
class ProfileImport:
    """A router profile that becomes a package."""

    service: str
    name: str
    rate_limit: str
    shape: Shape
    device_limit: int | None
    account_type: str


@dataclass(frozen=True)
class AccountImport:
    """A router account that becomes a client, an account row and (when enabled) a subscription."""

    service: str
    username: str
    profile: str
    disabled: bool
    phone: str | None
    expires_on: datetime | None
    expiry_source: str
    """"comment" when the date came from the comment, "default" for the default validity."""
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Skipped:
    """Something on the router that is not imported, and why."""

    kind: str
    service: str
    name: str
    reason: str


@dataclass
class ImportPlan:
    """What an import would create on one router (nothing is written yet)."""

    router: str
    router_id: int
    validity: tuple[int, str]
    packages: list[ProfileImport] = field(default_factory=list)
    accounts: list[AccountImport] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    known_packages: int = 0
    known_accounts: int = 0
    data_limits: int = 0
    """Hotspot users with their own data limit (packages hold data limits, users do not)."""

    @property
    def empty(self) -> bool:
        """True when there is nothing to create."""
        return not (self.packages or self.accounts)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view, without passwords."""
        return {
            "router": self.router,
            "packages": [
                {
                    "service": p.service,
                    "profile": p.name,
                    "rate_limit": p.rate_limit,
                    "devices": p.device_limit,
                }
                for p in self.packages
            ],
            "accounts": [
                {
                    "service": a.service,
                    "username": a.username,
                    "profile": a.profile,
                    "disabled": a.disabled,
                    "expires_on": a.expires_on.isoformat() if a.expires_on else None,
                    "expiry": a.expiry_source,
                }
                for a in self.accounts
            ],
            "skipped": [s.__dict__ for s in self.skipped],
            "already_imported": {"packages": self.known_packages, "accounts": self.known_accounts},
            "users_with_own_data_limit": self.data_limits,
        }


def plan_import(
    engine: Engine,
    settings: Settings,
    router_name: str,
    *,
    validity: str = "30d",
    now: datetime | None = None,
    progress: ProgressSink | None = None,
    cancel: CancelCheck = None,
) -> ImportPlan:
    """Read the router and work out what an import would create. Changes nothing anywhere."""
    try:
        length, unit = parse_validity(validity)
    except ShapeError as exc:
        raise Refused(str(exc)) from None
    with Session(engine) as session:
        router = get_router(session, router_name)
        packages = _packages(session, router.id or 0)
        accounts = {
            (service, name)
            for service, name in session.execute(
                select(
                    col(RouterProvisioning.service_type), col(RouterProvisioning.router_username)
                ).where(RouterProvisioning.router_id == router.id)  # type: ignore[arg-type]
            )
        }
    plan = ImportPlan(router.name, router.id or 0, (length, unit))
    planner = _Planner(plan, packages, accounts, settings, now or utcnow())
    with RouterClient.for_router(router, settings.routers) as client:
        reader = RouterReader(client, progress, cancel)
        for service in SERVICES:
            for row in reader.profiles(service):
                planner.profile(service, row)
        for service in SERVICES:
            props = (*ACCOUNT_PROPS, "limit-bytes-total") if service == "hotspot" else ACCOUNT_PROPS
            for row in reader.accounts(service, props):
                planner.account(service, row)
    return plan


def _packages(session: Session, router_id: int) -> set[tuple[str, str]]:
    rows = session.execute(
        select(col(Package.type), col(Package.router_profile)).where(
            col(Package.router_id) == router_id
        )
    )
    return {(service, profile) for service, profile in rows}


class _Planner:
    """Decides, row by row, what becomes what."""

    def __init__(
        self,
        plan: ImportPlan,
        packages: set[tuple[str, str]],
        accounts: set[tuple[str, str]],
        settings: Settings,
        now: datetime,
    ) -> None:
        self.plan = plan
        self.packages = packages
        self.accounts = accounts
        self.names = {name for _, name in accounts}
        self.importable = set(packages)
        self.refused: dict[tuple[str, str], str] = {}
        self.zone = settings.zone
        self.now = now

    def profile(self, service: str, row: Row) -> None:
        name = row.get("name", "")
        if (service, name) in self.packages:
            self.plan.known_packages += 1
            return
        try:
            found = profile_import(service, row)
        except ShapeError as exc:
            self.refused[(service, name)] = str(exc)
            self.plan.skipped.append(Skipped("profile", service, name, str(exc)))
            return
        self.importable.add((service, name))
        self.plan.packages.append(found)

    def account(self, service: str, row: Row) -> None:
        name, profile = row.get("name", ""), row.get("profile", "default")
        if (service, name) in self.accounts:
            self.plan.known_accounts += 1
            return
        reason = self._refusal(service, name, profile)
        if reason:
            self.plan.skipped.append(Skipped("account", service, name, reason))
            return
        self.names.add(name)
        if row.get("limit-bytes-total", "0") not in ("", "0"):
            self.plan.data_limits += 1
        self.plan.accounts.append(self._account(service, row))

    def _refusal(self, service: str, name: str, profile: str) -> str | None:
        if not USERNAME.match(name):
            return "its name cannot be a client username (1-64 letters, digits or . _ @ + -)"
        if name in self.names:
            return "an account of this name is already imported from the other service"
        if (service, profile) not in self.importable:
            why = self.refused.get((service, profile), "it is a built-in profile")
            return f"its profile {profile} is not imported: {why}"
        return None

    def _account(self, service: str, row: Row) -> AccountImport:
        disabled = is_disabled(row)
        comment = row.get("comment", "")
        stated = expiry_from_comment(comment, self.zone)
        if disabled:
            expires, source = None, ""
        elif stated is not None:
            expires, source = stated, "comment"
        else:
            expires, source = add_validity(self.now, *self.plan.validity), "default"
        phone = PHONE.search(comment)
        return AccountImport(
            service=service,
            username=row.get("name", ""),
            profile=row.get("profile", "default"),
            disabled=disabled,
            phone=phone.group(0) if phone else None,
            expires_on=expires,
            expiry_source=source,
            password=row.get("password") or None,
        )


def profile_import(service: str, row: Row) -> ProfileImport:
    """A router profile as a package would hold it; ShapeError says why it cannot be held exactly."""
    name, text = row.get("name", ""), row.get("rate-limit", "")
    shape = parse_rate_limit(text)
    devices = None
    if service == "hotspot":
        shared = row.get("shared-users", "1")
        if not shared.isdigit() or int(shared) < 1:
            raise ShapeError(
                f"shared users {shared!r} cannot be held by a package (a number of devices)"
            )
        devices = int(shared)
    account_type = "business" if "BUSINESS" in name.upper() else "personal"
    package = Package(
        type=service,
        account_type=account_type,
        name=name,
        duration_length=1,
        duration_unit="days",
        router_profile="",
        rate_limit="",
        bandwidth_value=0,
        hotspot_device_limit=devices,
    )
    try:
        apply_shaping(package, shape)
    except Refused as exc:
        raise ShapeError(str(exc).rstrip(".")) from None
    if not same_shape(package_shape(package), text):
        raise ShapeError(
            f"rate limit {text!r} sets a priority or minimum rates, which a package cannot hold"
        )
    return ProfileImport(service, name, text, shape, devices, account_type)
