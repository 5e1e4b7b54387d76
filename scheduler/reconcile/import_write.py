"""Writing an import plan: packages, clients, account rows and subscriptions in one transaction.

Every row is checked again as it is written (another import or an activation may have run since the
plan was read), so a row that exists by then is left alone and a second import writes nothing. What
exists is read once per table, the new rows go in as one executemany insert per table and their ids
are read back by their unique keys, so 20,000 accounts take a few dozen statements, not 100,000.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from db import logs, secrets
from db.catalog import apply_shaping, find_package
from db.engine import session_scope
from db.models import (
    Action,
    C,
    Client,
    J,
    JobStatus,
    Package,
    RouterProvisioning,
    S,
    Subscription,
    SubscriptionStatus,
    VoucherMode,
    VoucherState,
)
from db.profiles import adopt_profiles
from db.shaping import add_validity
from db.types import utcnow
from db.vouchers import ImportedVoucher, import_vouchers
from scheduler.reconcile.import_plan import AccountImport, ImportPlan, ProfileImport

CHUNK = 500
"""Values per IN list when reading ids back."""


@dataclass
class ImportResult:
    """What an import wrote."""

    packages: int = 0
    clients: int = 0
    accounts: int = 0
    subscriptions: int = 0
    profiles_adopted: int = 0
    accounts_adopted: int = 0
    vouchers: int = 0
    voucher_batches: int = 0

    @property
    def written(self) -> int:
        """Rows created or changed in all."""
        return (
            self.packages
            + self.clients
            + self.accounts
            + self.subscriptions
            + self.profiles_adopted
            + self.accounts_adopted
            + self.vouchers
        )


def apply_import(engine: Engine, plan: ImportPlan, *, now: datetime | None = None) -> ImportResult:
    """Write the plan (router untouched). Rows that exist by now are skipped."""
    now = now or utcnow()
    result = ImportResult()
    with session_scope(engine) as session:
        packages = _existing_packages(session, plan.router_id)
        for profile in plan.packages:
            if (profile.service, profile.name) not in packages:
                packages[(profile.service, profile.name)] = _add_package(
                    session, plan, profile, now
                )
                result.packages += 1
        taken = _account_names(session, plan.router_id)
        todo: list[tuple[AccountImport, Package]] = []
        for account in plan.accounts:
            package = packages.get((account.service, account.profile))
            if package is not None and account.username not in taken:
                taken.add(account.username)
                todo.append((account, package))
        _add_accounts(session, plan.router_id, todo, now, result)
        written = _add_vouchers(session, plan, packages, now)
        result.vouchers, result.voucher_batches = written["vouchers"], written["batches"]
        result.accounts_adopted = _adopt_accounts(session, plan)
        if plan.adopt_profiles:
            adopted = adopt_profiles(session, plan.router_id, plan.profiles, now=now)
            result.profiles_adopted = len(adopted)
        if result.written:
            logs.info(
                session,
                "General",
                f"Imported from router {plan.router}: {result.packages} package(s), {result.accounts} "
                f"account(s), {result.clients} new client(s), {result.accounts_adopted} account row(s) "
                f"adopting their router account, {result.profiles_adopted} profile(s) adopted, "
                f"{result.vouchers} voucher(s) in {result.voucher_batches} new batch(es); the "
                "router was not changed.",
                {"router_id": plan.router_id, **result.__dict__, "skipped": len(plan.skipped)},
            )
    return result


def _adopt_accounts(session: Session, plan: ImportPlan) -> int:
    """Let account rows of ours take over their untagged router accounts, keeping what they had."""
    adopted = 0
    for account in plan.adoptions:
        changed = session.execute(
            update(J)
            .where(
                J.c.router_id == plan.router_id,
                J.c.service_type == account.service,
                J.c.router_username == account.username,
                J.c.adopt == False,  # noqa: E712 (SQL, not Python)
            )
            .values(
                adopt=True,
                router_comment=account.comment or None,
                router_extra=account.extra or None,
            )
        )
        adopted += int(changed.rowcount)  # type: ignore[attr-defined]
    return adopted


def _existing_packages(session: Session, router_id: int) -> dict[tuple[str, str], Package]:
    found = session.scalars(select(Package).where(Package.router_id == router_id))  # type: ignore[arg-type]
    return {(p.type, p.router_profile): p for p in found}


def _package_name(session: Session, plan: ImportPlan, profile: ProfileImport) -> str:
    """The profile's name, or with the router's name after it when another router has it."""
    for name in (
        profile.name,
        f"{profile.name} ({plan.router})",
        f"{profile.name} ({plan.router} {profile.service})",
    ):
        if find_package(session, name[:100]) is None:
            return name[:100]
    raise ValueError(f"no free package name for profile {profile.name}")


def _add_package(
    session: Session, plan: ImportPlan, profile: ProfileImport, now: datetime
) -> Package:
    length, unit = plan.validity
    terms = profile.terms
    if terms is not None and terms.validity:
        length, unit = validity_of(terms.validity)
    package = Package(
        name=_package_name(session, plan, profile),
        type=profile.service,
        account_type=profile.account_type,
        price=terms.price if terms is not None and terms.price is not None else Decimal("0"),
        duration_length=length,
        duration_unit=unit,
        router_id=plan.router_id,
        hotspot_device_limit=profile.device_limit,
        router_profile="",
        rate_limit="",
        bandwidth_value=0,
        imported_at=now,
    )
    apply_shaping(package, profile.shape)
    # The router already has this profile under its own name, and its accounts use that name.
    package.router_profile = profile.name
    session.add(package)
    session.flush()
    return package


def validity_of(seconds: int) -> tuple[int, str]:
    """A number of seconds as a package's validity: whole days, else hours, else minutes."""
    for unit, size in (("days", 86_400), ("hours", 3_600)):
        if seconds % size == 0:
            return seconds // size, unit
    return max(1, -(-seconds // 60)), "minutes"


def _add_vouchers(
    session: Session, plan: ImportPlan, packages: dict[tuple[str, str], Package], now: datetime
) -> dict[str, int]:
    """Mikhmon's vouchers as vouchers in their batches, each in the state the router shows."""
    found = []
    for item in plan.vouchers:
        voucher = item.voucher
        package = packages.get(("hotspot", voucher.profile))
        if package is None:
            continue
        batch = voucher.batch
        validity = timedelta(seconds=_validity_seconds(package, now))
        found.append(
            ImportedVoucher(
                code=voucher.name,
                password=voucher.password,
                package_id=int(package.id or 0),
                mode=VoucherMode.CODE if voucher.mode == "vc" else VoucherMode.USER_PASS,
                batch=batch.name if batch else f"{package.name} (in use when imported)",
                note=batch.note if batch else "",
                state=VoucherState(voucher.state.value.replace("_", " ")),
                first_login=(
                    voucher.expires - validity
                    if voucher.expires
                    else (now - timedelta(seconds=voucher.uptime) if voucher.uptime else None)
                ),
                expires=voucher.expires,
                comment=item.comment,
                extra=item.extra,
            )
        )
    return import_vouchers(session, plan.router_id, found, now=now)


def _validity_seconds(package: Package, now: datetime) -> int:
    return int(
        (add_validity(now, package.duration_length, package.duration_unit) - now).total_seconds()
    )


def _account_names(session: Session, router_id: int) -> set[str]:
    """The usernames the router already has account rows for."""
    return set(
        session.scalars(
            select(col(RouterProvisioning.router_username)).where(
                col(RouterProvisioning.router_id) == router_id
            )
        )
    )


def _ids(session: Session, key: Any, values: list[Any], *where: Any) -> dict[Any, int]:
    """`key` value -> id of the rows of `key`'s table whose `key` is among `values`, in chunks."""
    table = key.table
    found: dict[Any, int] = {}
    for start in range(0, len(values), CHUNK):
        chunk = values[start : start + CHUNK]
        query = select(key, table.c.id).where(key.in_(chunk), *where)
        found.update({value: row_id for value, row_id in session.execute(query)})
    return found


def _template(model: Any, **required: Any) -> dict[str, Any]:
    """The model's column defaults, for rows inserted in bulk (its id left to the database)."""
    values = model(**required).model_dump()
    values.pop("id", None)
    return values


def _add_accounts(
    session: Session,
    router_id: int,
    todo: list[tuple[AccountImport, Package]],
    now: datetime,
    result: ImportResult,
) -> None:
    """Clients, account rows and subscriptions for `todo`: executemany inserts, ids read back."""
    if not todo:
        return
    usernames = [account.username for account, _ in todo]
    clients = _ids(session, C.c.username, usernames)
    stamps = {"created_at": now, "updated_at": now, "imported_at": now}
    template = _template(Client, username="-", full_name="-") | stamps
    new_clients = [
        template
        | {
            "username": account.username,
            "full_name": account.username,
            "phone": account.phone,
            "account_type": package.account_type,
        }
        for account, package in todo
        if account.username not in clients
    ]
    _insert(session, C, new_clients)
    clients.update(_ids(session, C.c.username, [c["username"] for c in new_clients]))
    template = _template(
        RouterProvisioning, router_id=router_id, router_username="-", service_type="-", action="-"
    )
    _insert(
        session,
        J,
        [
            template | stamps | _account_row(account, package, clients, now)
            for account, package in todo
        ],
    )
    rows = _ids(session, J.c.router_username, usernames, J.c.router_id == router_id)
    template = _template(
        Subscription,
        client_id=0,
        package_id=0,
        start_date=now,
        expires_on=now,
        status=SubscriptionStatus.ACTIVE,
    )
    # The accounts are on the router already: their clocks run from the import, not from a delivery.
    template |= {"delivered_at": now, "starts_on_delivery": False}
    subscriptions = [
        template
        | stamps
        | {
            "client_id": clients[account.username],
            "package_id": package.id,
            "router_id": router_id,
            "expires_on": account.expires_on,
            "provisioning_id": rows[account.username],
        }
        for account, package in todo
        if account.expires_on is not None
    ]
    _insert(session, S, subscriptions)
    links = _ids(session, S.c.provisioning_id, [s["provisioning_id"] for s in subscriptions])
    if links:
        session.execute(
            update(J).where(J.c.id == bindparam("row")).values(subscription_id=bindparam("sub")),
            [{"row": row_id, "sub": sub_id} for row_id, sub_id in links.items()],
        )
    result.clients += len(new_clients)
    result.subscriptions += len(subscriptions)
    result.accounts += len(todo)


def _insert(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(table), rows)


def _account_row(
    account: AccountImport, package: Package, clients: dict[Any, int], now: datetime
) -> dict[str, Any]:
    return {
        "router_username": account.username,
        "service_type": account.service,
        "action": Action.DEACTIVATE if account.disabled else Action.ACTIVATE,
        "router_profile": account.profile,
        "router_password": secrets.encrypt(account.password) if account.password else None,
        "adopt": True,
        "router_comment": account.comment or None,
        "router_extra": account.extra or None,
        "client_id": clients[account.username],
        "package_id": package.id,
        "status": JobStatus.COMPLETED,
        "completed_at": now,
        "next_attempt_at": now,
    }
