"""Import an existing router: what it holds becomes database rows, and the router is never changed.

`plan_import` reads the router (streamed, with progress and cancel, like a reconcile) and works out
what would be created; `scheduler.reconcile.import_write.apply_import` writes it in one transaction. In between
the operator confirms (the CLI's --dry-run shows the plan and stops).

* Hotspot user profiles and PPP profiles become packages: the rate limit is parsed back into the
  typed fields, burst included, and the package keeps the router's profile name so the accounts on
  it stay as they are. A shape a package cannot hold exactly (unlimited, priority, minimum rates,
  unlimited shared users, rates that are not whole kbit/s) is reported and not imported.
* Users and secrets become clients and router account rows (status completed), with a subscription
  whose expiry is a date found in the comment (see `scheduler.reconcile.comment_dates`) or the default
  validity from now. A disabled account is imported deactivated, without an active subscription.
* What is already in the database (packages by router and profile, accounts by router and name) is
  left alone, so running the import twice changes nothing the second time.
* Ours only: an imported account row may take over its router account (adopt), keeping the
  comment's own text and every field no package models (limit-uptime, a MAC binding, its own data
  limit, a PPPoE caller-id or addresses) to be kept and written back. An account row of ours whose
  router account does not carry our tag (an activation refused as someone else's) is adopted the
  same way. Profiles stay read-only, never written by the engine, unless the operator adopts them
  (`adopt_profiles`, `wisp import ROUTER --adopt-profiles`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from db.catalog import USERNAME, Refused, apply_shaping, get_router, package_shape
from db.config import Settings
from db.models import Package, RouterProvisioning
from db.profiles import owned_profiles
from db.shaping import Shape, ShapeError, add_validity, parse_rate_limit, parse_validity
from db.types import utcnow
from scheduler.engine.endpoints import client_for
from scheduler.reconcile.comment_dates import expiry_from_comment
from scheduler.reconcile.compare import SERVICES
from scheduler.reconcile.mikhmon import MikhmonVoucher, ProfileTerms, parse_on_login, read_voucher
from scheduler.reconcile.sides import (
    ACCOUNT_PROPS,
    CancelCheck,
    ProgressSink,
    RouterReader,
    Row,
    is_disabled,
    same_shape,
)
from scheduler.routeros.actions import UNMODELLED, comment_text, is_owned, unmodelled

VOUCHER_PROPS = {"hotspot": ("uptime",), "pppoe": ()}
"""What a Mikhmon voucher's state is read from besides the account's own fields."""
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
    terms: ProfileTerms | None = None
    """Price and validity a Mikhmon on-login script states for the profile's vouchers."""


@dataclass(frozen=True)
class VoucherFound:
    """A hotspot user Mikhmon made (its batch comment or first-login expiry says so): it becomes
    a voucher in its true state, not a client."""

    voucher: MikhmonVoucher
    comment: str
    extra: dict[str, str]


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
    comment: str = ""
    """The comment's own text (our tag left out), kept beside our tag when the account is written."""
    extra: dict[str, str] = field(default_factory=dict)
    """Router fields no package models, as read: kept on the router, written back if re-created."""


@dataclass(frozen=True)
class AccountAdoption:
    """An account row of ours whose router account lacks our tag: the import lets it take over."""

    service: str
    username: str
    comment: str
    extra: dict[str, str]


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
    """Hotspot users with their own data limit (kept on the router: their packages set none)."""
    adopt_profiles: bool = False
    """Record the profiles the packages use as ours (origin "adopted"), so the engine may write them."""
    profiles: list[tuple[str, str]] = field(default_factory=list)
    """(service, name) of the router profiles the packages use that are not ours: adopted when
    `adopt_profiles`, read-only otherwise."""
    adoptions: list[AccountAdoption] = field(default_factory=list)
    vouchers: list[VoucherFound] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when there is nothing to write."""
        adopting = self.adopt_profiles and self.profiles
        return not (self.packages or self.accounts or self.adoptions or self.vouchers or adopting)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view (times as they are, in UTC), without passwords."""
        return {
            "router": self.router,
            "packages": [
                {
                    "service": p.service,
                    "profile": p.name,
                    "rate_limit": p.rate_limit,
                    "devices": p.device_limit,
                    "price": p.terms.price if p.terms else None,
                    "validity_seconds": p.terms.validity if p.terms else None,
                }
                for p in self.packages
            ],
            "vouchers": [
                {
                    "code": v.voucher.name,
                    "profile": v.voucher.profile,
                    "batch": v.voucher.batch.name if v.voucher.batch else None,
                    "state": v.voucher.state.value.replace("_", " "),
                    "expires_on": v.voucher.expires,
                }
                for v in self.vouchers
            ],
            "accounts": [
                {
                    "service": a.service,
                    "username": a.username,
                    "profile": a.profile,
                    "disabled": a.disabled,
                    "expires_on": a.expires_on,
                    "expiry": a.expiry_source,
                    "kept": sorted(a.extra),
                }
                for a in self.accounts
            ],
            "profiles": {
                "adopted" if self.adopt_profiles else "read_only": [
                    {"service": service, "profile": name} for service, name in self.profiles
                ]
            },
            "adopted_accounts": [
                {"service": a.service, "username": a.username, "kept": sorted(a.extra)}
                for a in self.adoptions
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
    adopt_profiles: bool = False,
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
            (service, name): bool(adopt)
            for service, name, adopt in session.execute(
                select(
                    col(RouterProvisioning.service_type),
                    col(RouterProvisioning.router_username),
                    col(RouterProvisioning.adopt),
                ).where(RouterProvisioning.router_id == router.id)  # type: ignore[arg-type]
            )
        }
        owned = owned_profiles(session, router.id or 0)
    plan = ImportPlan(router.name, router.id or 0, (length, unit), adopt_profiles=adopt_profiles)
    planner = _Planner(plan, packages, accounts, owned, settings, now or utcnow())
    with client_for(router, settings.routers) as client:
        reader = RouterReader(client, progress, cancel)
        for service in SERVICES:
            for row in reader.profiles(service):
                planner.profile(service, row)
        for service in SERVICES:
            props = (*ACCOUNT_PROPS, *UNMODELLED[service], *VOUCHER_PROPS[service])
            for row in reader.accounts(service, props):
                planner.account(service, row)
    return plan


def _packages(session: Session, router_id: int) -> dict[tuple[str, str], bool]:
    """(service, profile) of the router's packages -> whether one of them sets a data limit."""
    rows = session.execute(
        select(
            col(Package.type), col(Package.router_profile), col(Package.hotspot_plan_type)
        ).where(col(Package.router_id) == router_id)
    )
    found: dict[tuple[str, str], bool] = {}
    for service, profile, plan_type in rows:
        found[(service, profile)] = found.get((service, profile), False) or plan_type == "data"
    return found


class _Planner:
    """Decides, row by row, what becomes what."""

    def __init__(
        self,
        plan: ImportPlan,
        packages: dict[tuple[str, str], bool],
        accounts: dict[tuple[str, str], bool],
        owned: set[tuple[str, str]],
        settings: Settings,
        now: datetime,
    ) -> None:
        self.plan = plan
        self.packages = packages
        self.accounts = accounts
        self.owned = owned
        self.names = {name for _, name in accounts}
        self.importable = set(packages)
        self.mikhmon: set[tuple[str, str]] = set()
        """Profiles whose on-login script is Mikhmon's: their users may be its vouchers."""
        self.refused: dict[tuple[str, str], str] = {}
        self.zone = settings.zone
        self.now = now

    def profile(self, service: str, row: Row) -> None:
        name = row.get("name", "")
        if service == "hotspot" and parse_on_login(row.get("on-login")) is not None:
            self.mikhmon.add((service, name))
        if (service, name) in self.packages:
            self.plan.known_packages += 1
            self._not_ours(service, name)
            return
        try:
            found = profile_import(service, row)
            if service == "hotspot":
                found = replace(found, terms=parse_on_login(row.get("on-login")))
        except ShapeError as exc:
            self.refused[(service, name)] = str(exc)
            self.plan.skipped.append(Skipped("profile", service, name, str(exc)))
            return
        self.importable.add((service, name))
        self.plan.packages.append(found)
        self._not_ours(service, name)

    def _not_ours(self, service: str, name: str) -> None:
        """A profile a package uses and the engine may not write until it is adopted."""
        if (service, name) not in self.owned:
            self.plan.profiles.append((service, name))

    def account(self, service: str, row: Row) -> None:
        name, profile = row.get("name", ""), row.get("profile", "default")
        if (service, name) in self.accounts:
            self.plan.known_accounts += 1
            if not self.accounts[(service, name)] and not is_owned(row.get("comment")):
                # Ours in the database, someone else's on the router: the import adopts it.
                self.plan.adoptions.append(
                    AccountAdoption(
                        service,
                        name,
                        comment_text(row.get("comment")),
                        self._extra(service, profile, row),
                    )
                )
            return
        reason = self._refusal(service, name, profile)
        if reason:
            self.plan.skipped.append(Skipped("account", service, name, reason))
            return
        self.names.add(name)
        voucher = read_voucher(row, self.zone, self.now) if service == "hotspot" else None
        if voucher is not None and (service, profile) in self.mikhmon:
            self.plan.vouchers.append(
                VoucherFound(voucher, row.get("comment", ""), self._extra(service, profile, row))
            )
            return
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
        profile = row.get("profile", "default")
        return AccountImport(
            service=service,
            username=row.get("name", ""),
            profile=profile,
            disabled=disabled,
            phone=phone.group(0) if phone else None,
            expires_on=expires,
            expiry_source=source,
            password=row.get("password") or None,
            comment=comment_text(comment),
            extra=self._extra(service, profile, row),
        )

    def _extra(self, service: str, profile: str, row: Row) -> dict[str, str]:
        """The fields of `row` no package models; a data limit is modelled by a data package."""
        extra = unmodelled(service, row)
        if self.packages.get((service, profile)):
            extra.pop("limit-bytes-total", None)
        return extra


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
