"""Which router profiles are ours: `router_profiles` rows, one per (router, service, profile name).

RouterOS has no comment on a hotspot user profile, so a profile cannot carry our ownership tag the
way an account does; ownership is recorded here instead, for both services. A profile the engine
created has origin "created", one an operator adopted (`wisp import ROUTER --adopt-profiles`) has
origin "adopted". A profile on a router with no row here is someone else's and is never changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from db.engine import session_scope
from db.models import PROFILE_ORIGINS, RouterProfile
from db.types import utcnow


def owned_profiles(session: Session, router_id: int) -> set[tuple[str, str]]:
    """(service, name) of every profile of the router that is ours."""
    rows = session.execute(
        select(col(RouterProfile.service_type), col(RouterProfile.name)).where(
            col(RouterProfile.router_id) == router_id
        )
    )
    return {(service, name) for service, name in rows}


def record_profile(
    engine: Engine,
    *,
    router_id: int,
    service: str,
    name: str,
    origin: str = "created",
    now: datetime | None = None,
) -> bool:
    """Record the profile as ours, committed at once; False when it already was.

    The engine calls this *before* it adds the profile to the router: a crash between the two leaves
    a profile recorded as ours that the next activation creates, never one of ours taken for foreign.
    """
    if origin not in PROFILE_ORIGINS:
        raise ValueError(f"profile origin {origin!r} is not one of {', '.join(PROFILE_ORIGINS)}")
    if _recorded(engine, router_id, service, name):
        return False
    try:
        with session_scope(engine) as session:
            session.add(
                RouterProfile(
                    router_id=router_id,
                    service_type=service,
                    name=name,
                    origin=origin,
                    created_at=now or utcnow(),
                )
            )
    except IntegrityError:  # another worker recorded it between the look and the insert
        return False
    return True


def _recorded(engine: Engine, router_id: int, service: str, name: str) -> bool:
    with Session(engine) as session:
        found = session.scalars(
            select(col(RouterProfile.id)).where(
                col(RouterProfile.router_id) == router_id,
                col(RouterProfile.service_type) == service,
                col(RouterProfile.name) == name,
            )
        ).first()
    return found is not None


def adopt_profiles(
    session: Session,
    router_id: int,
    profiles: Iterable[tuple[str, str]],
    *,
    now: datetime | None = None,
) -> list[tuple[str, str]]:
    """Record (service, name) profiles as adopted in the session's transaction; returns the new ones."""
    owned = owned_profiles(session, router_id)
    added: list[tuple[str, str]] = []
    for service, name in profiles:
        if (service, name) in owned:
            continue
        owned.add((service, name))
        session.add(
            RouterProfile(
                router_id=router_id,
                service_type=service,
                name=name,
                origin="adopted",
                created_at=now or utcnow(),
            )
        )
        added.append((service, name))
    session.flush()
    return added
