"""Routers, packages and clients: creating them with their rules, and finding them by name.

Plain keyword-only functions on an explicit session. Every refusal is a `Refused` sentence that
names the value and what is wrong with it; nothing is written when one is raised.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlmodel import Session, col

from db import logs, lookup, secrets
from db.errors import UserError
from db.models import (
    ACCOUNT_TYPES,
    SERVICE_TYPES,
    Action,
    Client,
    Health,
    JobStatus,
    P,
    Package,
    Router,
    RouterProfile,
    RouterProvisioning,
    Subscription,
    VoucherBatch,
)
from db.phones import normalise_phone
from db.profiles import owned_profiles
from db.queue import requeue_accounts
from db.shaping import (
    Shape,
    ShapeError,
    build_rate_limit,
    format_rate,
    parse_bytes,
    parse_duration_seconds,
    parse_rate,
    parse_validity,
    router_profile_name,
)
from db.types import utcnow
from db.validation import check_row, check_value

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Refused(UserError):
    """An operator request that the rules refuse, told in one sentence."""


ROUTERS = lookup.Kind(
    Router, col(Router.name), "there is no router named {name}", "wisp router list", Refused
)
PACKAGES = lookup.Kind(
    Package, col(Package.name), "there is no package named {name}", "wisp package list", Refused
)
CLIENTS = lookup.Kind(
    Client,
    col(Client.username),
    "there is no client with username {name}",
    "wisp client list",
    Refused,
)
"""How each is found by the name an operator types (see db.lookup)."""


# ---------------------------------------------------------------------------------------- routers


def new_router(
    session: Session,
    *,
    name: str,
    host: str,
    port: int | None = None,
    username: str = "admin",
    password: str | None = None,
    password_env: str | None = None,
    use_tls: bool = False,
    tls_verify: bool = True,
    tls_fingerprint: str | None = None,
) -> Router:
    """A router checked against the rules, not yet stored (so its login can be tried first)."""
    name, host = name.strip(), host.strip()
    if not name or not host:
        raise Refused("a router needs a name and a host.")
    if (clash := lookup.taken(session, ROUTERS, name)) is not None:
        raise Refused(f"a router named {clash.name!r} already exists.")
    if (password is None) == (password_env is None):
        raise Refused(
            "give the router password either through --password-env VAR or --password-stdin."
        )
    _checked_password(password)
    if password_env is not None and not ENV_NAME.match(password_env):
        raise Refused(f"{password_env!r} is not a valid environment variable name.")
    port = _checked_port(8729 if use_tls else 8728 if port is None else port)
    router = Router(
        name=name,
        host=_checked_host(host),
        port=port,
        username=username,
        password_encrypted=secrets.encrypt(password) if password is not None else None,
        password_env=password_env,
        use_tls=use_tls,
        tls_verify=tls_verify,
        tls_fingerprint=_checked_fingerprint(tls_fingerprint),
    )
    check_row(router)  # before its login is tried: the name and user are in what is said then
    return router


HOST_NAME = re.compile(
    r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
FINGERPRINT = re.compile(r"[0-9a-f]{64}")


def _checked_host(host: str) -> str:
    """A host name or an IP address, as a router is reached by; nothing a shell would act on."""
    host = host.strip()
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        pass
    if len(host) > 253 or not HOST_NAME.fullmatch(host):
        raise Refused(f"host {host!r} is not a host name or an IP address.")
    return host


def _checked_port(port: int) -> int:
    if not 0 < port < 65536:
        raise Refused(f"port {port} is not a TCP port (1-65535).")
    return port


def _checked_password(password: str | None) -> str | None:
    if password is not None and not password:
        raise Refused("the router password is empty; nothing was stored.")
    return password


def _checked_fingerprint(fingerprint: str | None) -> str | None:
    """A SHA-256 certificate fingerprint: 64 hex digits, colons and spaces allowed."""
    if fingerprint is None:
        return None
    digits = fingerprint.replace(":", "").replace(" ", "").strip().lower()
    if not FINGERPRINT.fullmatch(digits):
        raise Refused(
            f"TLS fingerprint {fingerprint!r} is not a SHA-256 fingerprint (64 hex digits, "
            "colons allowed)."
        )
    return fingerprint.strip()


def add_router(session: Session, **fields: Any) -> Router:
    """Register a router (see `new_router`); its password is encrypted, or referenced by an
    environment variable."""
    router = new_router(session, **fields)
    session.add(router)
    session.flush()
    logs.info(
        session,
        "Router",
        f"Router {router.name} added ({router.host}:{router.port}).",
        {"router_id": router.id, "tls": router.use_tls},
    )
    return router


@dataclass(frozen=True)
class RouterChanges:
    """What `wisp router edit` changes; None leaves a field as it is."""

    host: str | None = None
    port: int | None = None
    username: str | None = None
    password: str | None = None
    password_env: str | None = None
    use_tls: bool | None = None
    tls_verify: bool | None = None
    tls_fingerprint: str | None = None


ROUTER_FIELD_WORDS = {
    "username": "user",
    "use_tls": "tls",
    "tls_verify": "verify",
    "tls_fingerprint": "fingerprint",
}
"""A router's stored field as the listing and the options name it."""


def apply_router_changes(router: Router, changes: RouterChanges) -> list[str]:
    """Lay the changes over a router object (stored or not); what changed, in the words of
    `wisp router list` (user, tls, verify, fingerprint, host, port, password)."""
    changed: list[str] = []

    def put(field: str, value: object) -> None:
        if value is not None and getattr(router, field) != value:
            setattr(router, field, value)
            changed.append(ROUTER_FIELD_WORDS.get(field, field))

    if changes.host is not None and not changes.host.strip():
        raise Refused("a router's host cannot be empty.")
    put("host", _checked_host(changes.host) if changes.host else None)
    put("username", changes.username.strip() if changes.username else None)
    put("use_tls", changes.use_tls)
    put("tls_verify", changes.tls_verify)
    put("tls_fingerprint", _checked_fingerprint(changes.tls_fingerprint))
    port = changes.port
    if port is None and changes.use_tls is not None and router.port in (8728, 8729):
        port = 8729 if changes.use_tls else 8728  # the default port follows the TLS switch
    put("port", None if port is None else _checked_port(port))
    if changes.password is not None and changes.password_env is not None:
        raise Refused("give the router password either through --password-env or --password-stdin.")
    if changes.password_env is not None:
        if not ENV_NAME.match(changes.password_env):
            raise Refused(f"{changes.password_env!r} is not a valid environment variable name.")
        router.password_env, router.password_encrypted = changes.password_env, None
        changed.append("password")
    if changes.password is not None:
        password = _checked_password(changes.password) or ""
        router.password_encrypted, router.password_env = secrets.encrypt(password), None
        changed.append("password")
    return changed


def edit_router(session: Session, name: str, changes: RouterChanges) -> tuple[Router, list[str]]:
    """Change how a router is reached (host, port, login, TLS); returns it and the fields changed.

    A new password replaces the stored one (or the environment variable that held it). The router's
    health is reset to unknown: the next check or drain finds out whether the new settings work.
    """
    router = get_router(session, name)
    changed = apply_router_changes(router, changes)
    if changed:
        router.health, router.health_since, router.last_error = Health.UNKNOWN, None, None
        session.add(router)
        session.flush()
        # Jobs held while it was unreachable or refused the login are due again at once.
        session.execute(
            update(RouterProvisioning)
            .where(
                col(RouterProvisioning.router_id) == router.id,
                col(RouterProvisioning.status) == JobStatus.PENDING,
            )
            .values(next_attempt_at=utcnow())
        )
        logs.info(
            session,
            "Router",
            f"Router {router.name} changed: {', '.join(changed)} "
            f"(now {router.username}@{router.host}:{router.port}).",
            {"router_id": router.id, "changed": changed},
        )
    return router, changed


@dataclass(frozen=True)
class Dependents:
    """What still hangs on a router: its accounts, jobs not yet done, and packages sold on it."""

    accounts: int
    pending: int
    packages: list[str]

    @property
    def any(self) -> bool:
        return bool(self.accounts or self.pending)


def router_dependents(session: Session, router: Router) -> Dependents:
    """Count the router's accounts and unfinished jobs, and name its packages."""
    accounts = session.scalar(
        select(func.count()).where(col(RouterProvisioning.router_id) == router.id)
    )
    pending = session.scalar(
        select(func.count()).where(
            col(RouterProvisioning.router_id) == router.id,
            col(RouterProvisioning.status).in_([JobStatus.PENDING, JobStatus.PROCESSING]),
        )
    )
    packages = session.scalars(
        select(col(Package.name))
        .where(col(Package.router_id) == router.id)
        .order_by(col(Package.name))
    ).all()
    return Dependents(int(accounts or 0), int(pending or 0), list(packages))


def remove_router(session: Session, name: str, *, forget_accounts: bool = False) -> Dependents:
    """Remove a router from the database; the router itself is never touched.

    Refused while voucher batches were made for it (their sales and codes are kept), and while
    router accounts or unfinished jobs depend on it, unless `forget_accounts`: then
    its account rows and jobs are deleted with it (whatever they created stays on the router, as
    it is). Its packages stay in the catalog without a router; subscriptions keep their history.
    """
    router = get_router(session, name)
    batches = session.scalar(select(func.count()).where(col(VoucherBatch.router_id) == router.id))
    if batches:
        raise Refused(
            f"router {router.name} has {batches} voucher batch(es), kept with their sales, so it "
            "cannot be removed (`wisp router edit` can point it at another address)."
        )
    found = router_dependents(session, router)
    if found.any and not forget_accounts:
        raise Refused(
            f"router {router.name} still has {found.accounts} router account(s) and "
            f"{found.pending} unfinished job(s); move them first, or pass --forget-accounts to "
            "delete them from the database with the router (nothing on the router changes)."
        )
    jobs = select(col(RouterProvisioning.id)).where(col(RouterProvisioning.router_id) == router.id)
    session.execute(
        update(Subscription)
        .where(col(Subscription.provisioning_id).in_(jobs.scalar_subquery()))
        .values(provisioning_id=None)
    )
    session.execute(
        update(Subscription).where(col(Subscription.router_id) == router.id).values(router_id=None)
    )
    session.execute(delete(RouterProfile).where(col(RouterProfile.router_id) == router.id))
    session.execute(
        delete(RouterProvisioning).where(col(RouterProvisioning.router_id) == router.id)
    )
    session.execute(
        update(Package).where(col(Package.router_id) == router.id).values(router_id=None)
    )
    session.delete(router)
    session.flush()
    logs.info(
        session,
        "Router",
        f"Router {router.name} removed ({found.accounts} account row(s) forgotten; "
        f"{len(found.packages)} package(s) left without a router).",
        {"router": router.name, "accounts": found.accounts, "packages": found.packages},
    )
    return found


def router_password(router: Router) -> str:
    """The router's API password, decrypted or read from its environment variable."""
    if router.password_env:
        return secrets.from_env(router.password_env)
    if router.password_encrypted:
        return secrets.decrypt(router.password_encrypted)
    return ""


def find_router(session: Session, name: str) -> Router | None:
    return lookup.find(session, ROUTERS, name)  # type: ignore[no-any-return]


def get_router(session: Session, name: str) -> Router:
    return lookup.get(session, ROUTERS, name)  # type: ignore[no-any-return]


# --------------------------------------------------------------------------------------- packages


@dataclass(frozen=True, kw_only=True)
class BurstSettings:
    """A package's burst as an operator gives it, to `package add` and `package edit` alike.

    The upload side defaults to the download side.
    """

    burst: str | None = None
    burst_threshold: str | None = None
    burst_time: str | None = None
    upload_burst: str | None = None
    upload_burst_threshold: str | None = None
    upload_burst_time: str | None = None


BURST_FIELDS = tuple(field.name for field in fields(BurstSettings))
"""A package's burst settings, as its spec and its changes name them."""


@dataclass(frozen=True)
class PackageSpec(BurstSettings):
    """A package as an operator describes it: rates like "10M", validity like "30d".

    Its burst settings (keyword only) are those of `BurstSettings`.
    """

    name: str
    type: str
    router: str | None
    price: str
    validity: str
    rate: str
    upload: str | None = None
    account_type: str = "personal"
    devices: int | None = None
    data_limit: str | None = None


def _checked(fn, *args):  # type: ignore[no-untyped-def]
    try:
        return fn(*args)
    except ShapeError as exc:
        raise Refused(str(exc)) from None


def check_spec(spec: PackageSpec) -> Shape:
    """Everything in a package spec that needs no database or router: its name, price, validity
    and shape, so that a mistyped value is refused before the router is asked for its profiles."""
    for column, value in (("name", spec.name.strip()), ("price", _price(spec.price))):
        check_value("packages", column, P.c[column].type, value)
    _checked(parse_validity, spec.validity)
    if spec.type == "pppoe" and (spec.devices is not None or spec.data_limit):
        raise Refused("device and data limits apply to hotspot packages only.")
    if spec.devices is not None and spec.devices < 1:
        raise Refused(f"--devices must be 1 or more, not {spec.devices}.")
    if spec.data_limit:
        _checked(parse_bytes, spec.data_limit)
    return spec_shape(spec)


def spec_shape(spec: PackageSpec) -> Shape:
    """The traffic shape a package spec asks for (burst values default to the download's)."""
    download = _checked(parse_rate, spec.rate)
    upload = _checked(parse_rate, spec.upload) if spec.upload else download
    parts = (spec.burst, spec.burst_threshold, spec.burst_time)
    if any(parts) and not all(parts):
        raise Refused("a burst needs all three of --burst, --burst-threshold and --burst-time.")
    if not any(parts):
        if spec.upload_burst or spec.upload_burst_threshold or spec.upload_burst_time:
            raise Refused("an upload burst needs the download burst (--burst …) as well.")
        return Shape(upload_bps=upload, download_bps=download)
    burst, threshold = _checked(parse_rate, spec.burst), _checked(parse_rate, spec.burst_threshold)
    seconds = _checked(parse_duration_seconds, spec.burst_time)
    return Shape(
        upload_bps=upload,
        download_bps=download,
        burst_download_bps=burst,
        threshold_download_bps=threshold,
        burst_time_download_s=seconds,
        burst_upload_bps=_checked(parse_rate, spec.upload_burst) if spec.upload_burst else burst,
        threshold_upload_bps=(
            _checked(parse_rate, spec.upload_burst_threshold)
            if spec.upload_burst_threshold
            else threshold
        ),
        burst_time_upload_s=(
            _checked(parse_duration_seconds, spec.upload_burst_time)
            if spec.upload_burst_time
            else seconds
        ),
    )


def package_shape(package: Package) -> Shape:
    """The traffic shape a stored package configures."""
    scale = 1_000_000 if package.bandwidth_unit == "Mbps" else 1_000
    download = package.bandwidth_value * scale
    upload = (package.upload_value * scale) if package.upload_value is not None else download
    if not package.burst_enabled:
        return Shape(upload_bps=upload, download_bps=download)

    def kbps(value: int | None) -> int | None:
        return value * 1000 if value is not None else None

    return Shape(
        upload_bps=upload,
        download_bps=download,
        burst_upload_bps=kbps(package.burst_upload_rate_kbps),
        burst_download_bps=kbps(package.burst_download_rate_kbps),
        threshold_upload_bps=kbps(package.burst_upload_threshold_kbps),
        threshold_download_bps=kbps(package.burst_download_threshold_kbps),
        burst_time_upload_s=package.burst_upload_time,
        burst_time_download_s=package.burst_download_time,
    )


def _bandwidth(shape: Shape) -> tuple[int, str, int | None]:
    for bps in (
        shape.download_bps,
        shape.upload_bps,
        *(
            v
            for v in (
                shape.burst_download_bps,
                shape.burst_upload_bps,
                shape.threshold_download_bps,
                shape.threshold_upload_bps,
            )
            if v
        ),
    ):
        if bps % 1000:
            raise Refused(f"rate {bps} bit/s is not a whole number of kbit/s.")
    unit, scale = (
        ("Mbps", 1_000_000)
        if not (shape.download_bps % 1_000_000 or shape.upload_bps % 1_000_000)
        else ("Kbps", 1000)
    )
    upload = shape.upload_bps // scale if shape.upload_bps != shape.download_bps else None
    return shape.download_bps // scale, unit, upload


def apply_shaping(package: Package, shape: Shape) -> None:
    """Store `shape` on the package and derive its rate-limit string and router profile."""
    value, unit, upload = _bandwidth(shape)
    package.bandwidth_value, package.bandwidth_unit, package.upload_value = value, unit, upload
    package.burst_enabled = shape.burst_enabled

    def kbps(bps: int | None) -> int | None:
        return bps // 1000 if bps is not None else None

    package.burst_upload_rate_kbps = kbps(shape.burst_upload_bps)
    package.burst_download_rate_kbps = kbps(shape.burst_download_bps)
    package.burst_upload_threshold_kbps = kbps(shape.threshold_upload_bps)
    package.burst_download_threshold_kbps = kbps(shape.threshold_download_bps)
    package.burst_upload_time = shape.burst_time_upload_s
    package.burst_download_time = shape.burst_time_download_s
    package.rate_limit = _checked(build_rate_limit, shape)
    package.router_profile = _checked(
        lambda: router_profile_name(
            service_type=package.type,
            account_type=package.account_type,
            shape=shape,
            shared_users=package.hotspot_device_limit,
        )
    )


def _price(text: str) -> Decimal:
    try:
        price = Decimal(str(text).replace(",", ""))
    except InvalidOperation:
        raise Refused(f"price {text!r} is not a number.") from None
    if not price.is_finite() or price < 0 or price.as_tuple().exponent < -2:  # type: ignore[operator]
        raise Refused(f"price {text!r} must be zero or more, with at most two decimals.")
    return price.quantize(Decimal("0.01"))


@dataclass(frozen=True)
class NewPackage:
    """A package just added, and why its router profile is not the name its shaping derives."""

    package: Package
    profile_note: str | None = None


def add_package(
    session: Session,
    spec: PackageSpec,
    *,
    on_router: Mapping[str, Mapping[str, str]] | None = None,
) -> Package:
    """Create a package from an operator's description, validated as RouterOS would.

    `on_router`: the router's profiles of the package's type by name, as read from it (None when it
    could not be read); see `create_package`.
    """
    return create_package(session, spec, on_router=on_router).package


def create_package(
    session: Session,
    spec: PackageSpec,
    *,
    on_router: Mapping[str, Mapping[str, str]] | None = None,
) -> NewPackage:
    """`add_package`, telling why the router profile got a distinguishing suffix, if it did.

    A profile name stands for one shape per router and service: it is never one that another
    package of the router uses with a different shape, nor one the router has that is not ours
    (`on_router` less the profiles recorded in `router_profiles`). Such a clash gives the name a
    suffix, the same for the same inputs: _WC, then _WC2, _WC3, ...
    """
    if not spec.name.strip():
        raise Refused("a package needs a name.")
    if spec.type not in SERVICE_TYPES:
        raise Refused(f"package type {spec.type!r} must be hotspot or pppoe.")
    if spec.account_type not in ACCOUNT_TYPES:
        raise Refused(f"account type {spec.account_type!r} must be personal or business.")
    if (clash := lookup.taken(session, PACKAGES, spec.name)) is not None:
        raise Refused(f"a package named {clash.name!r} already exists.")
    if spec.type == "pppoe" and (spec.devices is not None or spec.data_limit):
        raise Refused("device and data limits apply to hotspot packages only.")
    if spec.devices is not None and spec.devices < 1:
        raise Refused(f"--devices must be 1 or more, not {spec.devices}.")
    router = get_router(session, spec.router) if spec.router else None
    length, unit = _checked(parse_validity, spec.validity)
    package = Package(
        name=spec.name.strip(),
        type=spec.type,
        account_type=spec.account_type,
        price=_price(spec.price),
        duration_length=length,
        duration_unit=unit,
        router_id=router.id if router else None,
        hotspot_device_limit=spec.devices,
        hotspot_plan_type="data" if spec.data_limit else "unlimited",
        hotspot_data_limit=_checked(parse_bytes, spec.data_limit) if spec.data_limit else None,
        router_profile="",
        rate_limit="",
        bandwidth_value=0,
    )
    try:
        apply_shaping(package, spec_shape(spec))
    except Refused as exc:
        defaulted = spec.burst and not (spec.upload_burst or spec.upload_burst_threshold)
        if defaulted and "upload" in str(exc):
            raise Refused(
                f"{exc}; the upload burst defaults to the download's, so set --upload-burst, "
                "--upload-burst-threshold and --upload-burst-time for the upload side."
            ) from None
        raise
    note = None
    if router is not None:
        package.router_profile, note = profile_name_for(session, package, router, on_router)
    session.add(package)
    session.flush()
    logs.info(
        session,
        "General",
        f"Package {package.name} added: {package.rate_limit} as {package.router_profile}"
        + (f" ({note})." if note else "."),
        {
            "package_id": package.id,
            "rate_limit": package.rate_limit,
            "profile": package.router_profile,
        },
    )
    return NewPackage(package, note)


@dataclass(frozen=True)
class PackageChanges(BurstSettings):
    """What `wisp package edit` changes; None leaves a field as it is.

    Name, price and validity change the catalog only (what the next payment buys). Everything that
    shapes traffic (rates, burst, devices, data limit, account type) changes what the package's
    accounts get on the router, so they are queued again. The burst settings are those of
    `BurstSettings`.
    """

    name: str | None = None
    price: str | None = None
    validity: str | None = None
    account_type: str | None = None
    rate: str | None = None
    upload: str | None = None
    no_burst: bool = False
    devices: int | None = None
    data_limit: str | None = None
    """A data cap such as 5G; "none" removes it."""

    @property
    def burst_given(self) -> bool:
        return any(getattr(self, name) is not None for name in BURST_FIELDS)

    @property
    def shaping(self) -> bool:
        """Whether any of the changes may reshape what the router grants."""
        return (
            self.burst_given
            or self.no_burst
            or any(
                v is not None
                for v in (self.account_type, self.rate, self.upload, self.devices, self.data_limit)
            )
        )


@dataclass(frozen=True)
class EditedPackage:
    """A package after `edit_package`: the fields that changed and the accounts queued again."""

    package: Package
    changed: list[str]
    requeued: list[int]
    profile_note: str | None = None


def package_accounts(session: Session, package: Package) -> list[RouterProvisioning]:
    """The router accounts the package's shape is granted through (meant to be enabled)."""
    return list(
        session.scalars(
            select(RouterProvisioning)
            .where(
                col(RouterProvisioning.package_id) == package.id,
                col(RouterProvisioning.action) == Action.ACTIVATE,
            )
            .order_by(col(RouterProvisioning.id))
        )
    )


def _stored_spec(package: Package) -> PackageSpec:
    """The package as an operator would describe it, so that changes can be laid over it."""
    shape = package_shape(package)

    def rate(bps: int | None) -> str | None:
        return format_rate(bps) if bps is not None else None

    def seconds(value: int | None) -> str | None:
        return f"{value}s" if value is not None else None

    burst = shape.burst_enabled
    return PackageSpec(
        name=package.name,
        type=package.type,
        router=None,
        price=str(package.price),
        validity=f"{package.duration_length}{package.duration_unit}",
        rate=format_rate(shape.download_bps),
        upload=rate(shape.upload_bps) if package.upload_value is not None else None,
        burst=rate(shape.burst_download_bps) if burst else None,
        burst_threshold=rate(shape.threshold_download_bps) if burst else None,
        burst_time=seconds(shape.burst_time_download_s) if burst else None,
        upload_burst=rate(shape.burst_upload_bps) if burst else None,
        upload_burst_threshold=rate(shape.threshold_upload_bps) if burst else None,
        upload_burst_time=seconds(shape.burst_time_upload_s) if burst else None,
        account_type=package.account_type,
        devices=package.hotspot_device_limit,
        data_limit=None,
    )


def _reshaped_spec(package: Package, changes: PackageChanges) -> PackageSpec:
    spec = _stored_spec(package)
    burst: dict[str, str | None] = {}
    if changes.no_burst:
        burst = dict.fromkeys(BURST_FIELDS)
    elif changes.burst_given:
        burst = {name: getattr(changes, name) or getattr(spec, name) for name in BURST_FIELDS}
    upload = changes.upload if changes.upload is not None else spec.upload
    return replace(
        spec,
        rate=changes.rate or spec.rate,
        upload=upload,
        account_type=changes.account_type or spec.account_type,
        devices=changes.devices if changes.devices is not None else spec.devices,
        **burst,  # type: ignore[arg-type]
    )


def edit_package(
    session: Session,
    name: str,
    changes: PackageChanges,
    *,
    on_router: Mapping[str, Mapping[str, str]] | None = None,
    now: datetime | None = None,
) -> EditedPackage:
    """Change a package. A change to what it grants re-queues every active account on it.

    The shape is validated as at `create_package`, and the router profile is named the same way
    (`on_router`: the router's profiles of the package's type, when they could be read).
    """
    package = get_package(session, name)
    changed: list[str] = []
    if changes.name is not None and changes.name.strip() != package.name:
        new_name = changes.name.strip()
        if not new_name:
            raise Refused("a package needs a name.")
        if (clash := lookup.taken(session, PACKAGES, new_name, other_than=package)) is not None:
            raise Refused(f"a package named {clash.name!r} already exists.")
        package.name = new_name
        changed.append("name")
    if changes.price is not None and _price(changes.price) != package.price:
        package.price = _price(changes.price)
        changed.append("price")
    if changes.validity is not None:
        length, unit = _checked(parse_validity, changes.validity)
        if (length, unit) != (package.duration_length, package.duration_unit):
            package.duration_length, package.duration_unit = length, unit
            changed.append("validity")
    note = None
    reshaped = _reshape(session, package, changes, changed)
    if reshaped:
        router = session.get(Router, package.router_id) if package.router_id else None
        if router is not None:
            package.router_profile, note = profile_name_for(session, package, router, on_router)
    requeued: list[int] = []
    if changed:
        session.add(package)
        session.flush()
    if reshaped:
        requeued = requeue_accounts(
            session,
            package_accounts(session, package),
            action=Action.ACTIVATE,
            router_profile=package.router_profile,
            now=now,
        )
    if changed:
        logs.info(
            session,
            "General",
            f"Package {package.name} changed: {', '.join(changed)}"
            + (
                f"; now {package.rate_limit} as {package.router_profile}, "
                f"{len(requeued)} account(s) queued again."
                if reshaped
                else "."
            ),
            {"package_id": package.id, "changed": changed, "requeued": requeued},
        )
    return EditedPackage(package, changed, requeued, note)


def _reshape(
    session: Session, package: Package, changes: PackageChanges, changed: list[str]
) -> bool:
    """Lay the shaping changes over the package; whether what it grants changed."""
    if not changes.shaping:
        return False
    if changes.account_type is not None and changes.account_type not in ACCOUNT_TYPES:
        raise Refused(f"account type {changes.account_type!r} must be personal or business.")
    if package.type == "pppoe" and (changes.devices is not None or changes.data_limit):
        raise Refused("device and data limits apply to hotspot packages only.")
    if changes.devices is not None and changes.devices < 1:
        raise Refused(f"--devices must be 1 or more, not {changes.devices}.")
    before = (
        package.rate_limit,
        package.hotspot_device_limit,
        package.hotspot_data_limit,
        package.account_type,
    )
    spec = _reshaped_spec(package, changes)
    package.account_type = spec.account_type
    package.hotspot_device_limit = spec.devices
    if changes.data_limit is not None:
        off = changes.data_limit.strip().lower() in ("none", "off", "0", "")
        package.hotspot_data_limit = None if off else _checked(parse_bytes, changes.data_limit)
        package.hotspot_plan_type = "data" if package.hotspot_data_limit else "unlimited"
    profile = package.router_profile
    apply_shaping(package, spec_shape(spec))
    after = (
        package.rate_limit,
        package.hotspot_device_limit,
        package.hotspot_data_limit,
        package.account_type,
    )
    if after == before:
        package.router_profile = profile  # same shape: keep the name it has on the router
        return False
    names = ("rate_limit", "devices", "data_limit", "account_type")
    changed.extend(n for n, old, new in zip(names, before, after, strict=True) if old != new)
    return True


PROFILE_SUFFIX = "_WC"
MAX_SUFFIX = 99


def profile_name_for(
    session: Session,
    package: Package,
    router: Router,
    on_router: Mapping[str, Mapping[str, str]] | None,
) -> tuple[str, str | None]:
    """The router profile name for a new package, and why it is not the derived one (or None)."""
    base = package.router_profile
    wanted = _profile_shape(package)
    users = {
        p.router_profile: p
        for p in session.scalars(
            select(Package)
            .where(col(Package.router_id) == router.id, col(Package.type) == package.type)
            .order_by(col(Package.id))
        )
        if _profile_shape(p) != wanted
    }
    ours = owned_profiles(session, router.id or 0)
    clashes: list[str] = []
    for number in range(MAX_SUFFIX + 1):
        name = base if number == 0 else f"{base}{PROFILE_SUFFIX}{number if number > 1 else ''}"
        clash = _clash(name, package.type, router.name, users.get(name), on_router, ours)
        if clash is None:
            if not clashes:
                return name, None
            return name, f"profile {name} instead of {base}: " + "; ".join(clashes)
        clashes.append(clash)
    raise Refused(
        f"no free profile name for package {package.name!r} on router {router.name}: "
        f"{base} and its {MAX_SUFFIX} suffixed forms are all taken."
    )


def _profile_shape(package: Package) -> tuple[str, str | None]:
    """What a package configures on its router profile: the rate limit, and shared users."""
    shared = str(package.hotspot_device_limit or 1) if package.type == "hotspot" else None
    return package.rate_limit, shared


def _clash(
    name: str,
    service: str,
    router: str,
    user: Package | None,
    on_router: Mapping[str, Mapping[str, str]] | None,
    ours: set[tuple[str, str]],
) -> str | None:
    if user is not None:
        devices = f", {user.hotspot_device_limit or 1} device(s)" if service == "hotspot" else ""
        return (
            f"package {user.name!r} of router {router} already uses {name} with rate-limit "
            f"{user.rate_limit}{devices}"
        )
    found = (on_router or {}).get(name)
    if found is not None and (service, name) not in ours:
        shaped = found.get("rate-limit") or "(unlimited)"
        return (
            f"router {router} already has a {'hotspot' if service == 'hotspot' else 'PPP'} "
            f"profile {name} (rate-limit {shaped}) that WISP Console did not create"
        )
    return None


def find_package(session: Session, name: str) -> Package | None:
    return lookup.find(session, PACKAGES, name)  # type: ignore[no-any-return]


def get_package(session: Session, name: str) -> Package:
    return lookup.get(session, PACKAGES, name)  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------- clients


def add_client(
    session: Session,
    *,
    username: str,
    full_name: str,
    phone: str | None = None,
    email: str | None = None,
    account_type: str = "personal",
) -> Client:
    """Register a client; `username` becomes their login on the router."""
    if not USERNAME.match(username):
        raise Refused(
            f"username {username!r} must be 1-64 letters, digits or . _ @ + - and start with a letter or digit."
        )
    if account_type not in ACCOUNT_TYPES:
        raise Refused(f"account type {account_type!r} must be personal or business.")
    if not full_name.strip():
        raise Refused("a client needs a full name (--name).")
    if (clash := lookup.taken(session, CLIENTS, username)) is not None:
        raise Refused(f"a client with username {clash.username!r} already exists.")
    client = Client(
        username=username,
        full_name=full_name.strip(),
        phone=normalise_phone(phone),
        email=email,
        account_type=account_type,
    )
    session.add(client)
    session.flush()
    logs.info(
        session,
        "General",
        f"Client {username} added.",
        {"client_id": client.id},
        client_id=client.id,
    )
    return client


def edit_client(
    session: Session,
    username: str,
    *,
    full_name: str | None = None,
    phone: str | None = None,
    email: str | None = None,
) -> tuple[Client, list[str]]:
    """Change a client's name, phone or email (an empty phone or email clears it)."""
    client = get_client(session, username)
    changed: list[str] = []
    if full_name is not None:
        if not full_name.strip():
            raise Refused("a client needs a full name (--name).")
        if full_name.strip() != client.full_name:
            client.full_name = full_name.strip()
            changed.append("full_name")
    if phone is not None:
        phone = normalise_phone(phone) or ""
    for field, value in (("phone", phone), ("email", email)):
        if value is not None and (value.strip() or None) != getattr(client, field):
            setattr(client, field, value.strip() or None)
            changed.append(field)
    if changed:
        session.add(client)
        session.flush()
        logs.info(
            session,
            "General",
            f"Client {client.username} changed: {', '.join(changed)}.",
            {"client_id": client.id, "changed": changed},
            client_id=client.id,
        )
    return client, changed


def find_client(session: Session, username: str) -> Client | None:
    return lookup.find(session, CLIENTS, username)  # type: ignore[no-any-return]


def get_client(session: Session, username: str) -> Client:
    return lookup.get(session, CLIENTS, username)  # type: ignore[no-any-return]
