"""The captive portal's data: walk-in customers (a client per phone number), the devices a paid
package may be used from, and the hotspot login each way of paying leads to.

A walk-in customer has no operator: the client is made from the phone number on the first
payment asked for, named `c07XXXXXXXX`. The devices (MAC addresses) that used a package are kept
on its router account row (`router_extra`): `mac-address` binds the account on the router to the
device that paid when the package allows one device (written whenever the account is written, so
paying again from another phone moves the binding), and `portal-macs` lists every device the
portal logged in on it (never sent to a router), so that a receipt code reconnects at most the
package's number of devices.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from db import catalog, queue, secrets
from db.config import Settings
from db.engine import session_scope
from db.errors import UserError
from db.models import (
    Action,
    Client,
    JobStatus,
    MpesaStatus,
    MpesaTransaction,
    Package,
    Router,
    RouterProvisioning,
    ServiceType,
    Subscription,
    SubscriptionStatus,
    Voucher,
)
from db.phones import normalise_phone

DEVICES_KEY = "portal-macs"
"""The router_extra key listing the devices the portal logged in on an account (not a router field)."""
MAC = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){5}$")
RECEIPT = re.compile(r"^[A-Z0-9]{8,12}$")


class PortalRefusal(UserError):
    """What the portal tells a customer it cannot do, in one sentence."""


def normal_mac(text: str | None) -> str | None:
    """A MAC address as RouterOS prints it (AA:BB:CC:DD:EE:FF); None when it is not one."""
    mac = (text or "").strip().upper().replace("-", ":")
    return mac if MAC.match(mac) else None


def walkin_username(phone: str) -> str:
    """The router login of a walk-in customer: `c` and the number as Kenyans write it
    (c0712345678); within Daraja's 12 characters of an account reference, so the STK prompt
    shows it whole, and the account number to give when paying by paybill."""
    return "c0" + phone.removeprefix("+254")


@dataclass(frozen=True)
class Offer:
    """A package as the portal shows it."""

    id: int
    name: str
    price: str
    speed: str
    validity: str
    devices: int


def offers(engine: Engine, router: str) -> list[Offer]:
    """The router's hotspot packages a walk-in customer can buy, cheapest first."""
    with Session(engine) as session:
        where = catalog.get_router(session, router)
        packages = session.scalars(
            select(Package)
            .where(col(Package.router_id) == where.id, col(Package.type) == ServiceType.HOTSPOT)
            .order_by(col(Package.price), col(Package.name))
        ).all()
    return [_offer(p) for p in packages if p.price >= 1]


def _offer(package: Package) -> Offer:
    unit = {"Kbps": "kbps", "Mbps": "Mbps"}.get(package.bandwidth_unit, package.bandwidth_unit)
    length, what = package.duration_length, package.duration_unit
    validity = f"{length} {what.removesuffix('s') if length == 1 else what}"
    return Offer(
        int(package.id or 0),
        package.name,
        f"KSh {package.price:,.0f}",
        f"{package.bandwidth_value} {unit}",
        validity,
        package.hotspot_device_limit or 1,
    )


def router_package(engine: Engine, router: str, package_id: int) -> Package:
    """A hotspot package of the router, or a refusal."""
    with Session(engine) as session:
        where = catalog.get_router(session, router)
        package = session.get(Package, package_id)
    if package is None or package.router_id != where.id or package.type != ServiceType.HOTSPOT:
        raise PortalRefusal("That package is not sold on this hotspot.")
    return package


def walkin_phone(text: str) -> str:
    """A Kenyan mobile number as stored (+2547...), or a refusal saying how to write it."""
    try:
        phone = normalise_phone(text)
    except UserError:
        phone = None
    if phone is None or not phone.startswith("+254") or len(phone) != 13:
        raise PortalRefusal("Enter your Safaricom number, like 0712 345 678.")
    return phone


def walkin_client(engine: Engine, phone: str) -> Client:
    """The walk-in client of the phone number (from `walkin_phone`), made on its first payment."""
    username = walkin_username(phone)
    with session_scope(engine) as session:
        found = session.scalars(select(Client).where(col(Client.username) == username)).first()
        if found is None:
            found = catalog.add_client(
                session, username=username, full_name=f"Hotspot {phone}", phone=phone
            )
        session.expunge(found)
    return found


def bind_paid_device(session: Session, client: Client, package: Package, mac: str) -> int | None:
    """A payment asked from the portal by device `mac` was applied: a package for one device is
    bound to that device, which is the purchase's first device, and the account is queued to be
    written again if the binding moved. So a returning customer paying from a new phone is
    served on the new phone, and the old one no longer logs in on this purchase. A package for
    several devices binds none: the portal counts its devices as they log in.

    Returns the account's job id when it was queued here.
    """
    if (package.hotspot_device_limit or 1) != 1:
        return None
    account = _account(session, client.id, package)
    if account is None:
        return None
    extra = dict(account.router_extra or {})
    moved = extra.get("mac-address") != mac
    account.router_extra = {**extra, "mac-address": mac, DEVICES_KEY: [mac]}
    session.add(account)
    if not moved or account.action != Action.ACTIVATE:
        return None
    [job_id] = queue.requeue_accounts(session, [account], action=Action.ACTIVATE)
    return job_id


def _account(
    session: Session, client_id: int | None, package: Package
) -> RouterProvisioning | None:
    return session.scalars(
        select(RouterProvisioning).where(
            col(RouterProvisioning.client_id) == client_id,
            col(RouterProvisioning.router_id) == package.router_id,
            col(RouterProvisioning.service_type) == ServiceType.HOTSPOT,
        )
    ).first()


@dataclass(frozen=True)
class Login:
    """What the device posts to the hotspot to log in."""

    username: str
    password: str = ""


@dataclass(frozen=True)
class Delivery:
    """Where a paid package stands on its router: `login` once the account is there."""

    login: Login | None
    waiting: bool


def delivered_login(engine: Engine, client_id: int, package_id: int, mac: str | None) -> Delivery:
    """The login of a paid package once its account is on the router (the device is counted)."""
    with session_scope(engine) as session:
        package = session.get(Package, package_id)
        account = _account(session, client_id, package) if package else None
        if package is None or account is None:
            return Delivery(None, waiting=False)
        ready = account.action == Action.ACTIVATE and account.status == JobStatus.COMPLETED
        if not ready or not account.router_password:
            return Delivery(None, waiting=account.action == Action.ACTIVATE)
        _count_device(session, account, package, mac)
        password = secrets.decrypt(account.router_password)
        return Delivery(Login(account.router_username, password), waiting=False)


def _count_device(
    session: Session, account: RouterProvisioning, package: Package, mac: str | None
) -> None:
    """Record the device on the account; refuse one beyond the package's device count."""
    if mac is None:
        return
    extra = dict(account.router_extra or {})
    devices = [str(m) for m in extra.get(DEVICES_KEY) or []]
    if mac in devices:
        return
    allowed = package.hotspot_device_limit or 1
    bound = extra.get("mac-address")
    if len(devices) >= allowed or (allowed == 1 and bound and bound != mac):
        raise PortalRefusal(
            f"This payment is already in use on {len(devices) or 1} device"
            f"{'s' if len(devices) > 1 else ''}, all that {package.name} allows."
        )
    extra[DEVICES_KEY] = [*devices, mac]
    account.router_extra = extra
    session.add(account)


@dataclass(frozen=True)
class Paid:
    """A settled M-Pesa payment the portal can reconnect."""

    client_id: int
    package_id: int
    package: str
    expires_on: datetime | None
    transaction_id: int = 0
    """The M-Pesa transaction of the receipt."""
    claimed: bool = False
    """Applied just now: an unmatched paybill or till payment claimed by its receipt code."""


def paid_by_receipt(
    engine: Engine,
    router: str,
    receipt_text: str,
    settings: Settings | None = None,
    mac: str | None = None,
) -> Paid:
    """The package an applied M-Pesa receipt paid for on this router, while it is current.

    With `settings`, a paybill or till payment no client was found for (an account number that
    is nobody's, a walk-in who never used the portal) is claimed here: the payer's phone number
    becomes its walk-in client, the hotspot package of exactly its amount its package, the
    device `mac` the one it is bound to (as the device that asks for a push is), and it is
    applied as any other. The receipt code is in the payer's M-Pesa message only.
    """
    receipt = re.sub(r"\s", "", receipt_text).upper()
    if not RECEIPT.match(receipt):
        raise PortalRefusal("Enter the M-Pesa code from your message, like QK7AB1CD2E.")
    claimed = settings is not None and _claim_unmatched(engine, settings, router, receipt, mac)
    with Session(engine) as session:
        where = catalog.get_router(session, router)
        row = _by_receipt(session, receipt)
        if row is None or row.status != MpesaStatus.APPLIED or not row.client_id:
            raise PortalRefusal(f"No payment with code {receipt} is ready to use here.")
        package = session.get(Package, row.package_id) if row.package_id else None
        if package is None or package.router_id != where.id:
            raise PortalRefusal(f"Payment {receipt} is not for a package of this hotspot.")
        current = session.scalars(
            select(Subscription)
            .where(
                col(Subscription.client_id) == row.client_id,
                col(Subscription.package_id) == package.id,
                col(Subscription.status) == SubscriptionStatus.ACTIVE,
            )
            .order_by(col(Subscription.expires_on).desc())
        ).first()
        if current is None:
            raise PortalRefusal(f"The time paid with {receipt} is over; buy a new package.")
        return Paid(
            int(row.client_id),
            int(package.id or 0),
            package.name,
            current.expires_on,
            int(row.id or 0),
            claimed,
        )


def _by_receipt(session: Session, receipt: str) -> MpesaTransaction | None:
    return session.scalars(
        select(MpesaTransaction).where(func.upper(col(MpesaTransaction.receipt)) == receipt)
    ).first()


def _claim_unmatched(
    engine: Engine, settings: Settings, router: str, receipt: str, mac: str | None
) -> bool:
    """Give an unmatched paybill or till payment to its payer's walk-in client and apply it;
    False when the receipt is no such payment."""
    from db import mpesa  # db.mpesa binds paid devices through this module

    with Session(engine) as session:
        row = _by_receipt(session, receipt)
        if row is None or row.kind != mpesa.C2B or row.status != MpesaStatus.UNMATCHED:
            return False
        where = catalog.get_router(session, router)
        priced = list(
            session.scalars(
                select(Package).where(
                    col(Package.router_id) == where.id,
                    col(Package.type) == ServiceType.HOTSPOT,
                    col(Package.price) == row.amount,
                )
            )
        )
        phone = mpesa.normalise_msisdn(row.msisdn)
        row_id, amount = int(row.id or 0), row.amount
    if len(priced) != 1:
        raise PortalRefusal(
            f"Payment {receipt} of KSh {amount:,.0f} is not the price of one package here; "
            "show the message to the attendant."
            if amount is not None
            else f"Payment {receipt} has no amount; show the message to the attendant."
        )
    if phone is None:
        raise PortalRefusal(
            f"Payment {receipt} does not say which phone paid; show the message to the attendant."
        )
    client = walkin_client(engine, phone)
    if mac is not None:
        with session_scope(engine) as session:
            session.execute(
                update(MpesaTransaction)
                .where(
                    col(MpesaTransaction.id) == row_id,
                    col(MpesaTransaction.status) == MpesaStatus.UNMATCHED,
                )
                .values(device=mac)
            )
    try:
        mpesa.assign(
            engine, settings, row_id, client.username, priced[0].name, by="the payer at the portal"
        )
    except UserError:
        return False  # assigned meanwhile (another device, the operator): read as it is
    return True


def voucher_login(engine: Engine, router: str, code_text: str) -> Login:
    """The hotspot login of a voucher of this router that can still be used."""
    code = re.sub(r"\s", "", code_text).upper()
    if not code or len(code) > 64:
        raise PortalRefusal("Enter the code printed on your voucher.")
    with Session(engine) as session:
        where = catalog.get_router(session, router)
        voucher = session.scalars(
            select(Voucher).where(
                col(Voucher.router_id) == where.id, func.upper(col(Voucher.code)) == code
            )
        ).first()
        if voucher is None or voucher.revoked_at is not None:
            raise PortalRefusal(f"There is no voucher {code} on this hotspot.")
        if voucher.subscription_id is not None:
            subscription = session.get(Subscription, voucher.subscription_id)
            if subscription is None or subscription.status != SubscriptionStatus.ACTIVE:
                raise PortalRefusal(f"Voucher {code} has been used up.")
        password = (
            secrets.decrypt(voucher.password_encrypted)
            if voucher.password_encrypted
            else voucher.code
        )
        return Login(voucher.code, password)


def router_hosts(engine: Engine, router: str) -> set[str]:
    """The router's own address, which its hotspot login link may point at."""
    with Session(engine) as session:
        found: Router = catalog.get_router(session, router)
        return {found.host.lower()}
