"""Writing an import plan: packages, clients, account rows and subscriptions in one transaction.

Every row is checked again as it is written (another import or an activation may have run since the
plan was read), so a row that exists by then is left alone and a second import writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from db import logs, secrets
from db.catalog import apply_shaping, find_client, find_package
from db.engine import immediate, session_scope
from db.models import Client, Package, RouterProvisioning, Subscription
from db.types import utcnow
from scheduler.adopt import AccountImport, ImportPlan, ProfileImport


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
        for account in plan.accounts:
            package = packages.get((account.service, account.profile))
            if package is not None and not _account_exists(
                session, plan.router_id, account.username
            ):
                _add_account(session, plan.router_id, account, package, now, result)
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


def _account_exists(session: Session, router_id: int, username: str) -> bool:
    return (
        session.scalars(
            select(col(RouterProvisioning.id))
            .where(RouterProvisioning.router_id == router_id)  # type: ignore[arg-type]
            .where(RouterProvisioning.router_username == username)  # type: ignore[arg-type]
        ).first()
        is not None
    )


def _add_account(
    session: Session,
    router_id: int,
    account: AccountImport,
    package: Package,
    now: datetime,
    result: ImportResult,
) -> None:
    client = find_client(session, account.username)
    if client is None:
        client = Client(
            username=account.username,
            full_name=account.username,
            phone=account.phone,
            account_type=package.account_type,
            imported_at=now,
        )
        session.add(client)
        session.flush()
        result.clients += 1
    subscription = None
    if account.expires_on is not None:
        subscription = Subscription(
            client_id=client.id,  # type: ignore[arg-type]
            package_id=package.id,  # type: ignore[arg-type]
            router_id=router_id,
            start_date=now,
            expires_on=account.expires_on,
            status="active",
            imported_at=now,
        )
        session.add(subscription)
        session.flush()
        result.subscriptions += 1
    row = RouterProvisioning(
        router_id=router_id,
        router_username=account.username,
        service_type=account.service,
        action="deactivate" if account.disabled else "activate",
        router_profile=account.profile,
        router_password=secrets.encrypt(account.password) if account.password else None,
        client_id=client.id,
        package_id=package.id,
        subscription_id=subscription.id if subscription else None,
        status="completed",
        completed_at=now,
        next_attempt_at=now,
        imported_at=now,
    )
    session.add(row)
    session.flush()
    if subscription is not None:
        subscription.provisioning_id = row.id
        session.add(subscription)
    result.accounts += 1
