"""Accounts on a router that are not ours: the check before an activation, and an adoption's record.

`foreign_account` lets a command refuse, before anything is queued, to activate a client whose
username the router already uses for an account WISP Console did not create (the engine refuses it
too, for good, when the router could not be asked in time). `record_adoption` keeps what an adopted
account had (its comment text and the fields no package models) on its account row, so an account
that has to be created again comes back with them, and logs the adoption.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from db import logs
from db.config import Settings
from db.engine import session_scope
from db.models import Router, RouterProvisioning
from db.queue import Job
from scheduler.engine.endpoints import client_for
from scheduler.routeros.actions import (
    ACCOUNT_NOUN,
    MENUS,
    Row,
    comment_text,
    find,
    foreign_account_sentence,
    is_owned,
    unmodelled,
)
from scheduler.routeros.client import RouterError


def foreign_account(
    settings: Settings, engine: Engine, router_id: int, service: str, username: str
) -> str | None:
    """Why an activation of `username` would take over someone else's account, or None.

    The sentence is returned when the router, asked within its connect timeout, has an account of
    that name without our tag and no account row of ours may take it over (one from an import or an
    operator's adoption may). None when there is no such account, when it is ours, or when the
    router cannot be reached in time: the engine then checks again before it writes.
    """
    with Session(engine) as session:
        router = session.get(Router, router_id)
        adopted = session.scalars(
            select(col(RouterProvisioning.adopt)).where(
                col(RouterProvisioning.router_id) == router_id,
                col(RouterProvisioning.service_type) == service,
                col(RouterProvisioning.router_username) == username,
            )
        ).first()
    if router is None or adopted:
        return None
    routers = settings.routers
    quick = replace(routers, command_timeout=min(routers.command_timeout, routers.connect_timeout))
    try:
        with client_for(router, quick) as client:
            found = find(client, MENUS[service].account, username, ("comment",))
    except RouterError:
        return None
    if found is None or is_owned(found.get("comment")):
        return None
    return foreign_account_sentence(router.name, service, username)


def record_adoption(engine: Engine, router: str, job: Job, found: Row) -> None:
    """Keep an adopted account's comment text and unmodelled fields on its row, and log it."""
    comment = comment_text(found.get("comment")) or None
    extra = unmodelled(job.service_type, found) or None
    with session_scope(engine) as session:
        session.execute(
            update(RouterProvisioning)
            .where(col(RouterProvisioning.id) == job.id)
            .values(router_comment=comment, router_extra=extra)
        )
        kept = ", ".join(sorted(extra or {})) or "no other fields"
        logs.info(
            session,
            "Router",
            f"{ACCOUNT_NOUN[job.service_type].capitalize()} {job.router_username} on router "
            f"{router}, not created by WISP Console, was adopted as the operator allowed "
            f"(job {job.id}); its comment text and {kept} are kept.",
            {"job_id": job.id, "router": router, "service": job.service_type, "kept": kept},
            client_id=job.client_id,
            provisioning_id=job.id,
        )
