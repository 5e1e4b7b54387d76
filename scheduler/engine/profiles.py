"""Profiles ensured on a router during one batch, so a batch does not re-read them per account.

The memory lasts one batch only: a profile edited on the router (by hand, or re-queued by a
reconcile in another process) is checked again by the very next batch, never trusted for a while.

Ownership comes from the database (`db.profiles`), read once per batch: a missing profile is
recorded as ours before it is created, an existing one is corrected only when it is ours, and one
that is not ours is used as it is when it shapes traffic as the package does, refused otherwise
(`actions.NotOurs`, a final failure of the job; the other jobs of the batch needing it get the
same refusal without another read).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import replace
from functools import partial

from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.config import RouterSettings
from db.models import Router
from db.profiles import owned_profiles, record_profile
from db.shaping import ShapeError, parse_rate_limit, same_shape
from scheduler.engine.endpoints import client_for
from scheduler.routeros import actions
from scheduler.routeros.actions import MENUS, NotOurs, ProfileSpec
from scheduler.routeros.client import RouterClient


def shapes_like(spec: ProfileSpec, row: Mapping[str, str]) -> bool:
    """True when a router profile shapes traffic as `spec` does (however its rate is written)."""
    try:
        wanted = parse_rate_limit(spec.rate_limit)
    except ShapeError:
        return False
    if not same_shape(wanted, row.get("rate-limit", "")):
        return False
    return spec.service != "hotspot" or row.get("shared-users", "1") == str(spec.shared_users or 1)


class ProfileCache:
    """Ensures each profile of one router at most once; the lanes of the batch wait for each other."""

    def __init__(self, engine: Engine, router_id: int) -> None:
        self.engine = engine
        self.router_id = router_id
        self._ensured: set[ProfileSpec] = set()
        self._refused: dict[ProfileSpec, str] = {}
        self._ours: set[tuple[str, str]] | None = None
        self._locks: defaultdict[tuple[str, str], threading.Lock] = defaultdict(threading.Lock)
        self._guard = threading.Lock()

    def ensure(self, client: RouterClient, spec: ProfileSpec) -> None:
        """Make sure the router has the profile as `spec` describes it (or one shaped the same)."""
        if spec in self._ensured:
            return
        with self._lock_for(spec):
            if spec in self._ensured:
                return
            if spec in self._refused:
                raise NotOurs(self._refused[spec])
            try:
                actions.ensure_profile(
                    client,
                    spec,
                    ours=partial(self._is_ours, spec),
                    before_add=partial(self._record, spec),
                    alike=shapes_like,
                )
            except NotOurs as refusal:
                self._refused[spec] = str(refusal)
                raise
            self._ensured.add(spec)

    def forget(self, spec: ProfileSpec) -> None:
        """Check the profile on the router again next time."""
        self._ensured.discard(spec)

    def _is_ours(self, spec: ProfileSpec) -> bool:
        """Whether this router's profile of that name is recorded as ours (read when a profile
        found needs changing: most batches find their profiles as they should be)."""
        return (spec.service, spec.name) in self._owned()

    def _owned(self) -> set[tuple[str, str]]:
        with self._guard:
            if self._ours is None:
                with Session(self.engine) as session:
                    self._ours = owned_profiles(session, self.router_id)
            return self._ours

    def _record(self, spec: ProfileSpec) -> None:
        record_profile(self.engine, router_id=self.router_id, service=spec.service, name=spec.name)
        owned = self._owned()
        with self._guard:
            owned.add((spec.service, spec.name))

    def _lock_for(self, spec: ProfileSpec) -> threading.Lock:
        with self._guard:
            return self._locks[(spec.service, spec.name)]


def profiles_on_router(
    router: Router, settings: RouterSettings, service: str
) -> dict[str, dict[str, str]]:
    """The router's profiles of `service` by name (rate-limit, shared-users), read within the
    connect timeout: a router that does not answer that soon raises RouterError."""
    quick = replace(
        settings, command_timeout=min(settings.command_timeout, settings.connect_timeout)
    )
    props = (
        (".id", "name", "rate-limit", "shared-users")
        if service == "hotspot"
        else (
            ".id",
            "name",
            "rate-limit",
        )
    )
    with client_for(router, quick) as client:
        rows = client.print(MENUS[service].profile, proplist=props)
    return {row["name"]: row for row in rows if row.get("name")}
