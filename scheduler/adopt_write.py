"""Writing an import plan: packages, clients, account rows and subscriptions in one transaction.

Every row is checked again as it is written (another import or an activation may have run since the
plan was read), so a row that exists by then is left alone and a second import writes nothing. What
exists is read once per table, and the new rows go in as batched inserts (one flush per table), so
20,000 accounts take a handful of round trips instead of several statements each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from db import logs, secrets
from db.catalog import apply_shaping, find_package
from db.engine import immediate, session_scope
from db.models import Client, Package, RouterProvisioning, Subscription
from db.types import utcnow
from scheduler.adopt import AccountImport, ImportPlan, ProfileImport

CHUNK = 500
"""Usernames per IN list when looking up existing clients."""


@dataclass
class ImportResult:
    """What an import wrote."""

    packages: int = 0
    clients: int = 0
    accounts: int = 0
    subscriptions: int = 0

    @property
    def written(self) -> int:
        """Rows created in all."""
        return self.packages + self.clients + self.accounts + self.subscriptions


def apply_import(engine: Engine, plan: ImportPlan, *, now: datetime | None = None) -> ImportResult:
    """Write the plan (router untouched). Rows that exist by now are skipped."""
    now = now or utcnow()
    result = ImportResult()
    with session_scope(immediate(engine)) as session:
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
        if result.written:
            logs.info(
                session,
                "General",
                f"Imported from router {plan.router}: {result.packages} package(s), {result.accounts} "
                f"account(s), {result.clients} new client(s); the router was not changed.",
                {"router_id": plan.router_id, **result.__dict__, "skipped": len(plan.skipped)},
            )
    return result


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
    package = Package(
        name=_package_name(session, plan, profile),
        type=profile.service,
        account_type=profile.account_type,
        price=Decimal("0"),
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


def _account_names(session: Session, router_id: int) -> set[str]:
    """The usernames the router already has account rows for."""
    return set(
        session.scalars(
            select(col(RouterProvisioning.router_username)).where(
                col(RouterProvisioning.router_id) == router_id
            )
        )
    )


def _clients(session: Session, usernames: list[str]) -> dict[str, Client]:
    """The existing clients among `usernames`, read in chunks of IN lists."""
    found: dict[str, Client] = {}
    for start in range(0, len(usernames), CHUNK):
        chunk = usernames[start : start + CHUNK]
        for client in session.scalars(select(Client).where(col(Client.username).in_(chunk))):
            found[client.username] = client
    return found


def _add_accounts(
    session: Session,
    router_id: int,
    todo: list[tuple[AccountImport, Package]],
    now: datetime,
    result: ImportResult,
) -> None:
    """Clients, subscriptions and account rows for `todo`: one batched flush per table."""
    if not todo:
        return
    clients = _clients(session, [account.username for account, _ in todo])
    for account, package in todo:
        if account.username not in clients:
            clients[account.username] = Client(
                username=account.username,
                full_name=account.username,
                phone=account.phone,
                account_type=package.account_type,
                imported_at=now,
            )
            session.add(clients[account.username])
            result.clients += 1
    session.flush()
    subscriptions: dict[str, Subscription] = {}
    for account, package in todo:
        if account.expires_on is not None:
            subscriptions[account.username] = Subscription(
                client_id=clients[account.username].id,  # type: ignore[arg-type]
                package_id=package.id,  # type: ignore[arg-type]
                router_id=router_id,
                start_date=now,
                expires_on=account.expires_on,
                status="active",
                imported_at=now,
            )
    session.add_all(subscriptions.values())
    session.flush()
    rows = [
        _account_row(router_id, account, package, clients, subscriptions, now)
        for account, package in todo
    ]
    session.add_all(rows)
    session.flush()
    for row in rows:
        subscription = subscriptions.get(row.router_username)
        if subscription is not None:
            subscription.provisioning_id = row.id
    result.subscriptions += len(subscriptions)
    result.accounts += len(rows)


def _account_row(
    router_id: int,
    account: AccountImport,
    package: Package,
    clients: dict[str, Client],
    subscriptions: dict[str, Subscription],
    now: datetime,
) -> RouterProvisioning:
    subscription = subscriptions.get(account.username)
    return RouterProvisioning(
        router_id=router_id,
        router_username=account.username,
        service_type=account.service,
        action="deactivate" if account.disabled else "activate",
        router_profile=account.profile,
        router_password=secrets.encrypt(account.password) if account.password else None,
        client_id=clients[account.username].id,
        package_id=package.id,
        subscription_id=subscription.id if subscription else None,
        status="completed",
        completed_at=now,
        next_attempt_at=now,
        imported_at=now,
    )
