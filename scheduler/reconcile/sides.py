"""The two sides a reconcile compares: what the database wants on a router, and what the router holds.

The database side is read in two queries (account rows with their package's profile, and the
packages that shape them). The router side is streamed: each menu is printed with a short proplist
and its rows are handed on as they arrive, so 20,000 users never sit in one reply list, and the
caller sees progress and can cancel between rows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlmodel import Session, col

from db.catalog import package_shape
from db.errors import UserError
from db.models import Action, JobStatus, Package, RouterProvisioning
from db.profiles import owned_profiles
from db.shaping import Shape
from db.shaping import same_shape as same_shape  # compared here and by the import
from scheduler.routeros.actions import MENUS
from scheduler.routeros.client import RouterClient

Row = dict[str, str]
TRUE = ("true", "yes")
IN_QUEUE = (JobStatus.PENDING, JobStatus.PROCESSING)
"""Account rows the queue is still delivering: their router state is not yet expected to match."""
ACCOUNT_PROPS = (".id", "name", "profile", "disabled", "comment", "password")
PROFILE_PROPS = {
    "hotspot": (".id", "name", "rate-limit", "shared-users", "default", "on-login"),
    "pppoe": (".id", "name", "rate-limit", "default"),
}
BUILTIN_PROFILES = frozenset({"default", "default-encryption"})
PROGRESS_EVERY = 500
"""Rows between two progress reports (and cancellation checks)."""


class Cancelled(UserError):
    """The operator stopped a long read; nothing was changed."""

    def __init__(self, router: str) -> None:
        super().__init__(f"reading router {router} was cancelled; nothing was changed")
        self.router = router


@dataclass(frozen=True)
class Progress:
    """How far a read has got: `done` rows of `total` (None when the router did not say) in `stage`."""

    stage: str
    done: int
    total: int | None


ProgressSink = Callable[[Progress], None]
CancelCheck = threading.Event | Callable[[], bool] | None


def cancel_requested(cancel: CancelCheck) -> bool:
    """True when a threading.Event is set or a callable answers True."""
    if cancel is None:
        return False
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    return bool(cancel())


@dataclass(frozen=True)
class WantedAccount:
    """One account row of the router: the state the database wants (password still encrypted)."""

    job_id: int
    revision: int
    service: str
    username: str
    action: str
    status: str
    profile: str | None
    password: str | None = field(default=None, repr=False)
    imported: bool = False
    """True when the row came from an import: the router's object is ours without carrying the tag."""
    adopt: bool = False
    """True when the row may take over an untagged router account of its name (import, --adopt)."""

    @property
    def in_queue(self) -> bool:
        """True while the queue is still delivering this row."""
        return self.status in IN_QUEUE


@dataclass
class WantedProfile:
    """A profile the database shapes on this router, and the delivered activations that use it."""

    service: str
    name: str
    shape: Shape
    shared_users: str | None
    accounts: list[tuple[int, int]] = field(default_factory=list)
    """(job id, revision) of completed or failed activations on this profile."""
    ours: bool = True
    """False when the router's profile of this name is not ours (`router_profiles`): never changed."""


@dataclass
class Wanted:
    """Everything the database wants on one router."""

    accounts: dict[tuple[str, str], WantedAccount]
    profiles: dict[tuple[str, str], WantedProfile]


def load_wanted(session: Session, router_id: int) -> Wanted:
    """The account rows of a router and the profiles of the packages they (or the router) use."""
    J = RouterProvisioning
    rows = session.execute(
        select(
            J.id,
            J.revision,
            J.service_type,
            J.router_username,
            J.action,
            J.status,  # type: ignore[call-overload]
            J.router_profile,
            J.router_password,
            Package.router_profile,
            J.imported_at,
            J.adopt,
        )
        .outerjoin(Package, Package.id == J.package_id)  # type: ignore[arg-type]
        .where(J.router_id == router_id)
    ).all()
    accounts = {
        (row[2], row[3]): WantedAccount(
            job_id=row[0],
            revision=row[1],
            service=row[2],
            username=row[3],
            action=row[4],
            status=row[5],
            profile=row[8] or row[6],
            password=row[7],
            imported=row[9] is not None,
            adopt=bool(row[10]),
        )
        for row in rows
    }
    used = select(col(J.package_id)).where(col(J.router_id) == router_id)
    packages = session.scalars(
        select(Package).where(or_(Package.router_id == router_id, Package.id.in_(used)))  # type: ignore[union-attr, arg-type]
    ).all()
    profiles = {(p.type, p.router_profile): _wanted_profile(p) for p in packages}
    owned = owned_profiles(session, router_id)
    for key, wanted in profiles.items():
        wanted.ours = key in owned
    for account in accounts.values():
        profile = profiles.get((account.service, account.profile or ""))
        if profile is not None and account.action == Action.ACTIVATE and not account.in_queue:
            profile.accounts.append((account.job_id, account.revision))
    return Wanted(accounts, profiles)


def _wanted_profile(package: Package) -> WantedProfile:
    shared = str(package.hotspot_device_limit or 1) if package.type == "hotspot" else None
    return WantedProfile(package.type, package.router_profile, package_shape(package), shared)


def is_disabled(row: Row) -> bool:
    """True when a printed account is disabled."""
    return row.get("disabled", "false") in TRUE


class RouterReader:
    """Streams a router's menus with progress reports and cancellation between rows."""

    def __init__(
        self, client: RouterClient, progress: ProgressSink | None, cancel: CancelCheck
    ) -> None:
        self.client = client
        self.progress = progress
        self.cancel = cancel

    def accounts(self, service: str, props: tuple[str, ...] = ACCOUNT_PROPS) -> Iterator[Row]:
        """The service's accounts (hotspot users or PPP secrets), streamed."""
        stage = "hotspot users" if service == "hotspot" else "PPP secrets"
        return self.rows(stage, MENUS[service].account, props)

    def profiles(self, service: str) -> Iterator[Row]:
        """The service's profiles, streamed (built-in profiles left out)."""
        stage = "hotspot profiles" if service == "hotspot" else "PPP profiles"
        for row in self.rows(stage, MENUS[service].profile, PROFILE_PROPS[service]):
            if row.get("default") not in TRUE and row.get("name") not in BUILTIN_PROFILES:
                yield row

    def rows(self, stage: str, path: str, props: tuple[str, ...]) -> Iterator[Row]:
        """Print `path` with `props`, yielding rows as they arrive."""
        self._check()
        total = self.count(path)
        self._report(stage, 0, total)
        done = 0
        for row in self.client.stream(f"{path}/print", f"=.proplist={','.join(props)}"):
            done += 1
            if done % PROGRESS_EVERY == 0:
                # Raising here abandons the stream; the client then drops the half-read session.
                self._check()
                self._report(stage, done, total)
            yield row
        self._report(stage, done, total)

    def count(self, path: str) -> int | None:
        """How many items the menu holds, or None when the router does not answer count-only."""
        ret = self.client.exchange(f"{path}/print", "=count-only=")[1].get("ret", "")
        return int(ret) if ret.isdigit() else None

    def _check(self) -> None:
        if cancel_requested(self.cancel):
            raise Cancelled(self.client.name)

    def _report(self, stage: str, done: int, total: int | None) -> None:
        if self.progress is not None:
            self.progress(Progress(stage, done, total))
