"""From claimed jobs to router work: the profile and the account spec each job has to converge."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db import secrets
from db.catalog import package_shape
from db.errors import UserError
from db.models import Action, Package
from db.portal import DEVICES_KEY
from db.queue import Job
from db.shaping import ShapeError, build_rate_limit
from scheduler.routeros.actions import AccountSpec, ProfileSpec, owner_tag


class PlanError(UserError):
    """A job cannot be turned into router work (its package is gone, its password unreadable)."""


@dataclass(frozen=True)
class Work:
    """One claimed job and what it means on the router; `problem` when it cannot be planned."""

    job: Job
    account: AccountSpec | None = None
    profile: ProfileSpec | None = None
    problem: PlanError | None = None


Shaped = dict[tuple[int | None, str], "ProfileSpec | ShapeError"]
"""Each package's profile for a service (or why RouterOS would refuse its shape), for a batch."""


def plan(
    engine: Engine, jobs: Sequence[Job], between: Callable[[], object] | None = None
) -> list[Work]:
    """Work for each job, reading the packages of the batch in one query; `between` is called
    before each job's (bulk work giving way: a batch of hundreds decrypts as many passwords)."""
    package_ids = {job.package_id for job in jobs if job.package_id is not None}
    with Session(engine) as session:
        packages = (
            {
                p.id: p
                for p in session.scalars(select(Package).where(Package.id.in_(package_ids)))  # type: ignore[union-attr]
            }
            if package_ids
            else {}
        )
    shaped: Shaped = {}
    works = []
    for job in jobs:
        if between is not None:
            between()
        works.append(plan_job(job, packages, shaped))
    return works


def plan_job(job: Job, packages: dict[int | None, Package], shaped: Shaped) -> Work:
    """The work of one job; a job that cannot be planned carries its problem instead.

    A package's profile is worked out once per batch (`shaped`): a batch is mostly a few
    packages."""
    if job.action != Action.ACTIVATE:
        return Work(job)
    package = packages.get(job.package_id)
    key = (job.package_id, job.service_type)
    try:
        known = shaped.get(key) if package is not None else None
        if isinstance(known, ShapeError):
            raise known
        profile = known or profile_for(job, package)
        shaped[key] = profile
        return Work(job, account_for(job, profile, package), profile)
    except PlanError as problem:
        return Work(job, problem=problem)
    except ShapeError as error:  # a stored package RouterOS would not honour fails its jobs
        shaped[key] = error
        return Work(job, problem=PlanError(f"job {job.id} ({job.router_username}): {error}"))


def profile_for(job: Job, package: Package | None) -> ProfileSpec:
    """The profile an activation needs, from its package's current shaping."""
    if package is None:
        raise PlanError(
            f"job {job.id} ({job.router_username}) has no package to take its profile from; "
            "activate the client again on a package."
        )
    return ProfileSpec(
        service=job.service_type,
        name=package.router_profile,
        rate_limit=build_rate_limit(package_shape(package)),
        shared_users=package.hotspot_device_limit if job.service_type == "hotspot" else None,
    )


def account_for(job: Job, profile: ProfileSpec, package: Package | None) -> AccountSpec:
    """The desired account: its password decrypted here, only for the router.

    What the account had before it was ours (comment text, unmodelled fields) comes with it, and
    whether this job may take over a router account of that name that we did not create.
    """
    password = None
    if job.router_password:
        try:
            password = secrets.decrypt(job.router_password, masked=False)
        except secrets.SecretError as error:
            raise PlanError(f"job {job.id} ({job.router_username}): {error}") from None
        if password != job.router_username:
            # A voucher whose code is its password is named in logs as its account (it is on
            # paper and in the console); masking it would hide the account's name.
            secrets.remember(password)
    data_limit = (
        package.hotspot_data_limit if package and package.hotspot_plan_type == "data" else None
    )
    extra = job.router_extra or {}
    return AccountSpec(
        service=job.service_type,
        username=job.router_username,
        profile=profile.name,
        tag=owner_tag(job.id),
        password=password,
        limit_bytes_total=data_limit,
        comment=job.router_comment,
        extra=tuple(sorted((str(k), str(v)) for k, v in extra.items())),
        adopt=job.adopt,
        bound_mac=str(extra["mac-address"]) if DEVICES_KEY in extra else None,
    )
