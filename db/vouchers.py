"""Hotspot vouchers: batches generated for a package, delivered through the queue as bulk work,
started by their first login, expired like any subscription, revoked, redeemed, reported.

A voucher is a hotspot user on its package's router, carried by an account row of the queue
(ours by tag, the batch named in its comment). Its clock starts at its first login: the engine
sees it in the router's active sessions or in the user's uptime (`scheduler.engine.vouchers`)
and calls `start_first_use`, which starts a subscription from that moment for the package's
validity, under a client of the code's name. Expiry then disables it and ends its session as for
any subscription. Its state is read from its columns (see `models.Voucher`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from db import catalog, logs, lookup, secrets, wakes
from db.activation import Activation, ActivationService
from db.catalog import Refused
from db.config import Settings
from db.engine import session_scope
from db.errors import UserError
from db.localtime import at
from db.models import (
    Action,
    Client,
    JobStatus,
    Package,
    Router,
    RouterProvisioning,
    ServiceType,
    Subscription,
    SubscriptionStatus,
    Voucher,
    VoucherBatch,
    VoucherMode,
    VoucherState,
)
from db.queue import STOCK, requeue_accounts
from db.shaping import add_validity
from db.types import utcnow
from db.voucher_codes import new_codes, new_password

MAX_BATCH = 20_000
CHUNK = 500
"""Rows per statement (and per IN list) when a batch is written or read."""
NOTE_MAX = 100
V = Voucher.__table__  # type: ignore[attr-defined]
J = RouterProvisioning.__table__  # type: ignore[attr-defined]


class BatchError(UserError):
    """A batch that cannot be made as asked (count, mode, package)."""


@dataclass(frozen=True)
class BatchMade:
    """A batch written and queued: its name, what it sells, and its codes in order."""

    id: int
    name: str
    package: str
    router: str
    count: int
    price: Decimal
    validity_seconds: int
    mode: str
    codes: list[str]


def generate(
    engine: Engine,
    *,
    package: str,
    count: int,
    created_by: str,
    prefix: str = "",
    length: int = 6,
    mode: str = VoucherMode.CODE,
    note: str | None = None,
    now: datetime | None = None,
) -> BatchMade:
    """Make a batch of `count` vouchers for a hotspot package and queue each to its router.

    Codes are unique on the router (against its vouchers and every account we keep there, and
    client names), enforced by the database too. All of it is one transaction.
    """
    now = now or utcnow()
    if not 1 <= count <= MAX_BATCH:
        raise BatchError(f"--count must be from 1 to {MAX_BATCH:,} vouchers, not {count}.")
    if mode not in tuple(VoucherMode):
        raise BatchError(f"--mode must be code or user-pass, not {mode!r}.")
    note = (note or "").strip() or None
    if note and (len(note) > NOTE_MAX or not note.isprintable()):
        raise BatchError(f"--note must be at most {NOTE_MAX} printable characters.")
    with session_scope(engine) as session:
        pkg = lookup.get(session, catalog.PACKAGES, package)
        if pkg.type != ServiceType.HOTSPOT:
            raise BatchError(
                f"package {pkg.name} is {pkg.type}: vouchers are hotspot users, so their "
                "package must be a hotspot package."
            )
        if pkg.router_id is None:
            raise BatchError(f"package {pkg.name} has no router: give it one with package edit.")
        router = session.get(Router, pkg.router_id)
        assert router is not None
        try:
            codes = new_codes(count, length, prefix, taken_names(session, pkg.router_id))
        except ValueError as error:
            raise BatchError(str(error)) from None
        validity = add_validity(now, pkg.duration_length, pkg.duration_unit) - now
        batch = VoucherBatch(
            name=f"new-{uuid.uuid4().hex[:12]}",
            package_id=pkg.id,  # type: ignore[arg-type]
            router_id=pkg.router_id,
            count=count,
            price=pkg.price,
            validity_seconds=int(validity.total_seconds()),
            mode=mode,
            prefix=prefix,
            length=length,
            note=note,
            created_by=created_by[:64],
            created_at=now,
        )
        session.add(batch)
        session.flush()
        batch.name = f"B{batch.id}"
        _queue_codes(session, batch, pkg, codes, now)
        logs.info(
            session,
            "General",
            f"Voucher batch {batch.name}: {count} voucher(s) of {pkg.name} at {pkg.price} each "
            f"queued for router {router.name} by {batch.created_by}.",
            {"batch_id": batch.id, "count": count, "package_id": pkg.id},
        )
        return BatchMade(
            id=int(batch.id or 0),
            name=batch.name,
            package=pkg.name,
            router=router.name,
            count=count,
            price=pkg.price,
            validity_seconds=batch.validity_seconds,
            mode=mode,
            codes=codes,
        )


def taken_names(session: Session, router_id: int) -> set[str]:
    """Names a new code must not take on the router: its vouchers, our hotspot accounts there,
    and every client's username (a voucher's first login makes a client of its code)."""
    taken: set[str] = set()
    for query in (
        select(col(Voucher.code)).where(col(Voucher.router_id) == router_id),
        select(col(RouterProvisioning.router_username)).where(
            col(RouterProvisioning.router_id) == router_id,
            col(RouterProvisioning.service_type) == ServiceType.HOTSPOT,
        ),
        select(col(Client.username)),
    ):
        taken.update(name.upper() for name in session.scalars(query))
    return taken


def comment_of(batch: VoucherBatch) -> str:
    """The router comment's own text for a voucher of the batch (our tag goes beside it)."""
    return f"voucher {batch.name}" + (f" {batch.note}" if batch.note else "")


def _queue_codes(
    session: Session, batch: VoucherBatch, package: Package, codes: Sequence[str], now: datetime
) -> None:
    """One account row per code (bulk priority), then one voucher row per account."""
    user_pass = batch.mode == VoucherMode.USER_PASS
    passwords = {code: new_password(batch.length) if user_pass else code for code in codes}
    comment = comment_of(batch)
    wakes.jobs_queued(session)
    for start in range(0, len(codes), CHUNK):
        chunk = codes[start : start + CHUNK]
        session.execute(
            insert(RouterProvisioning),
            [
                {
                    "router_id": batch.router_id,
                    "package_id": package.id,
                    "service_type": ServiceType.HOTSPOT,
                    "action": Action.ACTIVATE,
                    "router_username": code,
                    "router_password": secrets.encrypt(passwords[code], masked=False),
                    "router_profile": package.router_profile,
                    "router_comment": comment,
                    "adopt": False,
                    "status": JobStatus.PENDING,
                    "priority": STOCK,
                    "attempts": 0,
                    "revision": 1,
                    "next_attempt_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for code in chunk
            ],
        )
        accounts = dict(
            session.execute(
                select(J.c.router_username, J.c.id).where(
                    J.c.router_id == batch.router_id,
                    J.c.service_type == ServiceType.HOTSPOT,
                    J.c.router_username.in_(chunk),
                )
            ).all()
        )
        session.execute(
            insert(Voucher),
            [
                {
                    "batch_id": batch.id,
                    "router_id": batch.router_id,
                    "code": code,
                    "password_encrypted": (
                        secrets.encrypt(passwords[code], masked=False) if user_pass else None
                    ),
                    "provisioning_id": accounts[code],
                    "created_at": now,
                    "updated_at": now,
                }
                for code in chunk
            ],
        )


# -- first use ---------------------------------------------------------------------------------


def unused_codes(engine: Engine) -> dict[int, set[str]]:
    """Codes never logged in and not revoked, by router id: the ones the engine watches."""
    with Session(engine) as session:
        rows = session.execute(
            select(col(Voucher.router_id), col(Voucher.code)).where(
                col(Voucher.first_login_at).is_(None), col(Voucher.revoked_at).is_(None)
            )
        ).all()
    found: dict[int, set[str]] = {}
    for router_id, code in rows:
        found.setdefault(router_id, set()).add(code)
    return found


def start_first_use(
    engine: Engine, router_id: int, seen: Mapping[str, datetime], *, now: datetime | None = None
) -> list[str]:
    """Start the clock of each unused voucher seen logged in on the router (code → first login).

    Each gets a subscription from its first login for the batch's validity, under a client of
    its code's name. A voucher another process started first is left as it is. Returns the codes
    started.
    """
    now = now or utcnow()
    started: list[str] = []
    codes = sorted(seen)
    for begin in range(0, len(codes), CHUNK):
        with session_scope(engine) as session:
            rows = session.execute(
                select(Voucher, VoucherBatch, Package)
                .join(VoucherBatch, col(VoucherBatch.id) == col(Voucher.batch_id))
                .join(Package, col(Package.id) == col(VoucherBatch.package_id))
                .where(
                    col(Voucher.router_id) == router_id,
                    col(Voucher.code).in_(codes[begin : begin + CHUNK]),
                    col(Voucher.first_login_at).is_(None),
                    col(Voucher.revoked_at).is_(None),
                )
            ).all()
            for voucher, batch, package in rows:
                first = min(seen[voucher.code], now)
                if _start(session, voucher, batch, package, first, now):
                    started.append(voucher.code)
    return started


def _start(
    session: Session,
    voucher: Voucher,
    batch: VoucherBatch,
    package: Package,
    first: datetime,
    now: datetime,
) -> bool:
    taken = session.execute(
        update(V)
        .where(V.c.id == voucher.id, V.c.first_login_at.is_(None), V.c.revoked_at.is_(None))
        .values(first_login_at=first, updated_at=now)
    ).rowcount  # type: ignore[attr-defined]
    if not taken:
        return False
    expires = first + timedelta(seconds=batch.validity_seconds)
    subscription = _subscribe(session, voucher, package, first, expires, running=True)
    logs.info(
        session,
        "Subscription",
        f"Voucher {voucher.code} ({batch.name}, {package.name}) first logged in; its "
        f"subscription {subscription.id} runs until {at(expires)}.",
        {"voucher_id": voucher.id, "subscription_id": subscription.id},
        client_id=subscription.client_id,
        provisioning_id=voucher.provisioning_id,
    )
    return True


def _subscribe(
    session: Session,
    voucher: Voucher,
    package: Package,
    first: datetime,
    expires: datetime,
    *,
    running: bool,
    imported_at: datetime | None = None,
) -> Subscription:
    """The subscription a voucher's first login started, under a client of the code's name,
    linked from the voucher and its account row."""
    client = session.scalars(select(Client).where(col(Client.username) == voucher.code)).first()
    if client is None:
        client = Client(
            username=voucher.code,
            full_name=f"Voucher {voucher.code}",
            account_type=package.account_type,
            imported_at=imported_at,
        )
        session.add(client)
        session.flush()
    subscription = Subscription(
        client_id=int(client.id or 0),
        package_id=int(package.id or 0),
        router_id=voucher.router_id,
        provisioning_id=voucher.provisioning_id,
        start_date=first,
        expires_on=expires,
        status=SubscriptionStatus.ACTIVE if running else SubscriptionStatus.EXPIRED,
        delivered_at=first,
        imported_at=imported_at,
    )
    session.add(subscription)
    session.flush()
    linked = {"client_id": client.id, "subscription_id": subscription.id}
    session.execute(update(V).where(V.c.id == voucher.id).values(**linked))
    if voucher.provisioning_id is not None:
        session.execute(update(J).where(J.c.id == voucher.provisioning_id).values(**linked))
    return subscription


# -- revoke and redeem -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Revoked:
    """Vouchers revoked (their router users queued for removal) and those left as they were."""

    revoked: list[str]
    kept: dict[str, str]
    """Code → why it was not revoked (in use, expired, revoked before)."""


def revoke(
    engine: Engine,
    *,
    code: str | None = None,
    batch: str | None = None,
    now: datetime | None = None,
) -> Revoked:
    """Withdraw unused vouchers (one code, or every unused one of a batch): their router users
    are queued for removal. A voucher already logged in is never revoked."""
    now = now or utcnow()
    with session_scope(engine) as session:
        if code is not None:
            rows = [find_voucher(session, code)]
        else:
            found = get_batch(session, batch or "")
            rows = list(session.scalars(select(Voucher).where(col(Voucher.batch_id) == found.id)))
        revoked, kept = [], {}
        accounts = []
        for voucher in rows:
            state = voucher_state(session, voucher)
            if state != VoucherState.UNUSED:
                kept[voucher.code] = str(state)
                continue
            voucher.revoked_at = now
            voucher.updated_at = now
            session.add(voucher)
            account = session.get(RouterProvisioning, voucher.provisioning_id)
            if account is not None:
                accounts.append(account)
            revoked.append(voucher.code)
        requeue_accounts(session, accounts, action=Action.REMOVE, now=now)
        if revoked:
            logs.info(
                session,
                "General",
                f"Revoked {len(revoked)} unused voucher(s)"
                + (f" of batch {batch}" if batch else f" ({revoked[0]})")
                + "; their router users are queued for removal.",
                {"count": len(revoked)},
            )
        return Revoked(revoked, kept)


def redeem(
    engine: Engine,
    code: str,
    client: str,
    *,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> Activation:
    """Give an unused voucher's package to a named client, as a payment by voucher would.

    The client's own account gets the package (a renewal if they have it); the voucher's router
    user is queued for removal, so the code cannot be used again. Returns the activation.
    """
    now = now or utcnow()
    with session_scope(engine) as session:
        voucher = find_voucher(session, code)
        state = voucher_state(session, voucher)
        if state != VoucherState.UNUSED:
            raise Refused(f"voucher {voucher.code} is {state}: only an unused voucher is redeemed.")
        batch = session.get(VoucherBatch, voucher.batch_id)
        package = session.get(Package, batch.package_id) if batch else None
        assert batch is not None and package is not None
        package_name, voucher_code = package.name, voucher.code
    activation = ActivationService(engine, settings).activate(
        client,
        package_name,
        f"VOUCHER-{voucher_code}",
        amount=batch.price,
        method="voucher",
        now=now,
    )
    with session_scope(engine) as session:
        holder = lookup.get(session, catalog.CLIENTS, client)
        session.execute(
            update(V)
            .where(V.c.code == voucher_code, V.c.router_id == voucher.router_id)
            .values(
                first_login_at=now,
                client_id=holder.id,
                subscription_id=activation.subscription_id,
                updated_at=now,
            )
        )
        account = session.get(RouterProvisioning, voucher.provisioning_id)
        if account is not None:
            requeue_accounts(session, [account], action=Action.REMOVE, now=now)
        logs.info(
            session,
            "Activation",
            f"Voucher {voucher_code} ({batch.name}) redeemed onto {holder.username}; its own "
            "router user is queued for removal.",
            {"voucher_id": voucher.id},
            client_id=holder.id,
        )
    return activation


def find_voucher(session: Session, code: str) -> Voucher:
    """A voucher by its code, in any case (the one router's, or say which router to use)."""
    typed = code.strip().upper()
    rows = list(session.scalars(select(Voucher).where(func.upper(col(Voucher.code)) == typed)))
    if not rows:
        raise Refused(f"there is no voucher {typed}; see `wisp voucher list`.")
    return rows[0]


def get_batch(session: Session, name: str) -> VoucherBatch:
    """A batch by its name (B12) or number (12)."""
    typed = name.strip().upper()
    if typed.isdigit():
        typed = f"B{int(typed)}"
    batch = session.scalars(
        select(VoucherBatch).where(func.upper(col(VoucherBatch.name)) == typed)
    ).first()
    if batch is None:
        raise Refused(f"there is no voucher batch {name}; see `wisp voucher batches`.")
    return batch


def batch_validity(engine: Engine, name: str) -> int:
    """Seconds each voucher of the batch runs from its first login."""
    with Session(engine) as session:
        return get_batch(session, name).validity_seconds


# -- states, listings and sales --------------------------------------------------------------------


def state_column() -> Any:
    """The SQL expression of a voucher's state (needs the subscription outer-joined)."""
    return case(
        (col(Voucher.revoked_at).is_not(None), VoucherState.REVOKED.value),
        (col(Voucher.first_login_at).is_(None), VoucherState.UNUSED.value),
        (
            or_(
                col(Subscription.status) == SubscriptionStatus.ACTIVE,
                col(Subscription.status).is_(None),
            ),
            VoucherState.IN_USE.value,
        ),
        else_=VoucherState.EXPIRED.value,
    )


def voucher_state(session: Session, voucher: Voucher) -> VoucherState:
    if voucher.revoked_at is not None:
        return VoucherState.REVOKED
    if voucher.first_login_at is None:
        return VoucherState.UNUSED
    subscription = (
        session.get(Subscription, voucher.subscription_id) if voucher.subscription_id else None
    )
    if subscription is None or subscription.status == SubscriptionStatus.ACTIVE:
        return VoucherState.IN_USE
    return VoucherState.EXPIRED


def vouchers(
    engine: Engine, *, batch: str | None = None, state: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Vouchers (oldest first) with their batch, package, state, first login and expiry."""
    state_of = state_column()
    with Session(engine) as session:
        query = (
            select(
                col(Voucher.code),
                col(VoucherBatch.name),
                col(Package.name),
                col(Router.name),
                col(VoucherBatch.price),
                state_of,
                col(Voucher.first_login_at),
                col(Subscription.expires_on),
                col(RouterProvisioning.status),
                col(Voucher.password_encrypted),
            )
            .join(VoucherBatch, col(VoucherBatch.id) == col(Voucher.batch_id))
            .join(Package, col(Package.id) == col(VoucherBatch.package_id))
            .join(Router, col(Router.id) == col(Voucher.router_id))
            .join(Subscription, col(Subscription.id) == col(Voucher.subscription_id), isouter=True)
            .join(
                RouterProvisioning,
                col(RouterProvisioning.id) == col(Voucher.provisioning_id),
                isouter=True,
            )
            .order_by(col(Voucher.id))
        )
        if batch:
            query = query.where(col(Voucher.batch_id) == get_batch(session, batch).id)
        if state:
            query = query.where(state_of == state)
        if limit:
            query = query.limit(limit)
        rows = session.execute(query).all()
    return [
        {
            "code": code,
            "batch": batch_name,
            "package": package,
            "router": router,
            "price": price,
            "state": row_state,
            "first_login": first,
            "expires": expires,
            "on_router": job == JobStatus.COMPLETED,
            "password": password,
        }
        for code, batch_name, package, router, price, row_state, first, expires, job, password in (
            rows
        )
    ]


def batches(engine: Engine) -> list[dict[str, Any]]:
    """Every batch, newest first, with its counts by state, how many reached the router, and
    the value of those sold (in use or expired)."""
    state_of = state_column()
    with Session(engine) as session:
        counted = session.execute(
            select(col(Voucher.batch_id), state_of, func.count())
            .join(Subscription, col(Subscription.id) == col(Voucher.subscription_id), isouter=True)
            .group_by(col(Voucher.batch_id), state_of)
        ).all()
        delivered = dict(
            session.execute(
                select(col(Voucher.batch_id), func.count())
                .join(
                    RouterProvisioning, col(RouterProvisioning.id) == col(Voucher.provisioning_id)
                )
                .where(col(RouterProvisioning.status) == JobStatus.COMPLETED)
                .group_by(col(Voucher.batch_id))
            ).all()
        )
        rows = session.execute(
            select(VoucherBatch, col(Package.name), col(Router.name))
            .join(Package, col(Package.id) == col(VoucherBatch.package_id))
            .join(Router, col(Router.id) == col(VoucherBatch.router_id))
            .order_by(col(VoucherBatch.id).desc())
        ).all()
    by_batch: dict[int, dict[str, int]] = {}
    for batch_id, row_state, count in counted:
        by_batch.setdefault(batch_id, {})[row_state] = count
    listed = []
    for batch, package, router in rows:
        counts = {str(s): by_batch.get(batch.id, {}).get(s.value, 0) for s in VoucherState}
        sold = counts[VoucherState.IN_USE] + counts[VoucherState.EXPIRED]
        listed.append(
            {
                "batch": batch.name,
                "package": package,
                "router": router,
                "count": batch.count,
                "price": batch.price,
                "mode": batch.mode,
                "note": batch.note,
                "on_router": delivered.get(batch.id, 0),
                **{key.replace(" ", "_"): value for key, value in counts.items()},
                "sold_value": batch.price * sold,
                "created_by": batch.created_by,
                "created_at": batch.created_at,
            }
        )
    return listed


def sales(engine: Engine, *, start: datetime, end: datetime, zone: Any) -> list[dict[str, Any]]:
    """Vouchers first used in [start, end), by local day, batch, package and router: how many
    and their value at the batch's price."""
    with Session(engine) as session:
        rows = session.execute(
            select(
                col(Voucher.first_login_at),
                col(VoucherBatch.name),
                col(Package.name),
                col(Router.name),
                col(VoucherBatch.price),
            )
            .join(VoucherBatch, col(VoucherBatch.id) == col(Voucher.batch_id))
            .join(Package, col(Package.id) == col(VoucherBatch.package_id))
            .join(Router, col(Router.id) == col(Voucher.router_id))
            .where(
                and_(
                    col(Voucher.first_login_at) >= start,
                    col(Voucher.first_login_at) < end,
                    col(Voucher.revoked_at).is_(None),
                )
            )
        ).all()
    totals: dict[tuple[str, str, str, str], list[Any]] = {}
    for first, batch, package, router, price in rows:
        day = first.astimezone(zone).date().isoformat()
        entry = totals.setdefault((day, batch, package, router), [0, Decimal("0")])
        entry[0] += 1
        entry[1] += price
    return [
        {
            "day": day,
            "batch": batch,
            "package": package,
            "router": router,
            "vouchers": n,
            "value": v,
        }
        for (day, batch, package, router), (n, v) in sorted(totals.items())
    ]


# -- vouchers another tool made (an import) ----------------------------------------------------


@dataclass(frozen=True)
class ImportedVoucher:
    """A voucher found on a router, as the import read it (see scheduler.reconcile.mikhmon)."""

    code: str
    password: str
    package_id: int
    mode: str
    batch: str
    """The batch's name: the tool's own batch comment, or one named after the package for
    vouchers whose comment their first login overwrote."""
    note: str
    state: VoucherState
    first_login: datetime | None
    expires: datetime | None
    comment: str
    extra: dict[str, str]


def import_vouchers(
    session: Session, router_id: int, found: Sequence[ImportedVoucher], *, now: datetime
) -> dict[str, int]:
    """Write imported vouchers: batches by name, an account row each (already on the router,
    adoptable, its comment and other fields kept), and for one used the subscription its first
    login started (running or expired). Vouchers the database has are skipped. Returns counts."""
    counts = {"batches": 0, "vouchers": 0, "subscriptions": 0}
    known = {
        code
        for code in session.scalars(
            select(col(Voucher.code)).where(col(Voucher.router_id) == router_id)
        )
    }
    batches = {
        b.name: b
        for b in session.scalars(
            select(VoucherBatch).where(col(VoucherBatch.router_id) == router_id)
        )
    }
    for item in found:
        if item.code in known:
            continue
        known.add(item.code)
        package = session.get(Package, item.package_id)
        assert package is not None
        batch = batches.get(item.batch)
        if batch is None:
            validity = add_validity(now, package.duration_length, package.duration_unit) - now
            batch = VoucherBatch(
                name=item.batch[:64],
                package_id=item.package_id,
                router_id=router_id,
                count=0,
                price=package.price,
                validity_seconds=int(validity.total_seconds()),
                mode=item.mode,
                length=len(item.code),
                note=item.note[:NOTE_MAX] or None,
                created_by="import",
                imported_at=now,
                created_at=now,
            )
            session.add(batch)
            session.flush()
            batches[batch.name] = batch
            counts["batches"] += 1
        batch.count += 1
        account = RouterProvisioning(
            router_id=router_id,
            package_id=item.package_id,
            service_type=ServiceType.HOTSPOT,
            action=Action.ACTIVATE,
            router_username=item.code,
            router_password=secrets.encrypt(item.password, masked=False),
            router_profile=package.router_profile,
            router_comment=item.comment or None,
            router_extra=item.extra or None,
            adopt=True,
            status=JobStatus.COMPLETED,
            priority=STOCK,
            completed_at=now,
            imported_at=now,
        )
        session.add(account)
        session.flush()
        voucher = Voucher(
            batch_id=int(batch.id or 0),
            router_id=router_id,
            code=item.code,
            password_encrypted=(
                secrets.encrypt(item.password, masked=False)
                if item.mode == VoucherMode.USER_PASS
                else None
            ),
            provisioning_id=account.id,
            revoked_at=now if item.state == VoucherState.REVOKED else None,
            created_at=now,
            updated_at=now,
        )
        session.add(voucher)
        session.flush()
        counts["vouchers"] += 1
        if item.state in (VoucherState.IN_USE, VoucherState.EXPIRED):
            first = item.first_login or now
            expires = item.expires or first + timedelta(seconds=batch.validity_seconds)
            if item.state == VoucherState.EXPIRED:
                expires = min(expires, now)
            _start_imported(session, voucher, account, package, first, expires, item.state, now)
            counts["subscriptions"] += 1
    return counts


def _start_imported(
    session: Session,
    voucher: Voucher,
    account: RouterProvisioning,
    package: Package,
    first: datetime,
    expires: datetime,
    state: VoucherState,
    now: datetime,
) -> None:
    running = state == VoucherState.IN_USE
    session.execute(update(V).where(V.c.id == voucher.id).values(first_login_at=first))
    _subscribe(session, voucher, package, first, expires, running=running, imported_at=now)
    if not running:  # as the tool left it: stopped on the router
        session.execute(update(J).where(J.c.id == account.id).values(action=Action.DEACTIVATE))
