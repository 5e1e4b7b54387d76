"""Drift: where one router and the database disagree, per account and per profile.

Categories
    missing    the database wants it on the router and it is not there
    unknown    on the router, carrying our ownership tag, but unknown to the database
    foreign    on the router, not ours (no tag, not in the database; or no tag where the database
               deactivated or removed an account of that name): listed, never touched
    different  on both, but the profile, rate limit, shared users, disabled state or password differ

Accounts the queue is still delivering (pending or processing) are counted as `in_queue` and not
compared: the queue will converge them. Profiles carry no ownership tag on RouterOS, so a profile is
never "unknown": one the database does not use is foreign, and one a package uses that is not ours
(`router_profiles`, e.g. an imported profile not adopted) is reported when it differs but never
fixable. Reading is read-only; `scheduler.reconcile.fix` turns findings into queued jobs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from db import secrets
from db.catalog import get_router
from db.config import Settings
from db.models import Action, Router
from db.shaping import build_rate_limit
from scheduler.engine.endpoints import client_for
from scheduler.reconcile.sides import (
    CancelCheck,
    ProgressSink,
    RouterReader,
    Row,
    Wanted,
    WantedAccount,
    WantedProfile,
    is_disabled,
    load_wanted,
    same_shape,
)
from scheduler.routeros.actions import is_owned

CATEGORIES = ("missing", "unknown", "foreign", "different")
DRIFT = ("missing", "unknown", "different")
"""The categories that are drift; foreign objects are only listed."""
SERVICES = ("hotspot", "pppoe")


@dataclass(frozen=True)
class Finding:
    """One object the router and the database disagree on. Never holds a password."""

    category: str
    kind: str
    service: str
    name: str
    differences: tuple[str, ...] = ()
    comment: str = ""
    jobs: tuple[tuple[int, int], ...] = ()
    """(job id, revision) of the account rows a fix re-queues (for an account: its own row)."""

    @property
    def fixable(self) -> bool:
        """True when `--fix` can queue something for it (never for foreign objects)."""
        if self.category == "unknown":
            return self.kind == "account" and is_owned(self.comment)
        return self.category in ("missing", "different") and bool(self.jobs)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "category": self.category,
            "kind": self.kind,
            "service": self.service,
            "name": self.name,
            "differences": list(self.differences),
            "comment": self.comment,
            "jobs": [job for job, _ in self.jobs],
            "fixable": self.fixable,
        }


@dataclass
class DriftReport:
    """What one reconcile found on one router."""

    router: str
    router_id: int
    findings: list[Finding] = field(default_factory=list)
    in_queue: int = 0
    accounts_seen: int = 0
    profiles_seen: int = 0

    def of(self, category: str) -> list[Finding]:
        """The findings of one category."""
        return [f for f in self.findings if f.category == category]

    @property
    def counts(self) -> dict[str, int]:
        """Findings per category (every category present), plus in_queue."""
        found = Counter(f.category for f in self.findings)
        return {**{c: found.get(c, 0) for c in CATEGORIES}, "in_queue": self.in_queue}

    @property
    def drift(self) -> int:
        """How many findings are drift (foreign objects are not)."""
        return sum(1 for f in self.findings if f.category in DRIFT)

    @property
    def clean(self) -> bool:
        """True when nothing drifted."""
        return self.drift == 0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view, grouped by category."""
        return {
            "router": self.router,
            "counts": self.counts,
            "accounts_seen": self.accounts_seen,
            "profiles_seen": self.profiles_seen,
            **{c: [f.as_dict() for f in self.of(c)] for c in CATEGORIES},
        }


def reconcile(
    engine: Engine,
    settings: Settings,
    router_name: str,
    *,
    progress: ProgressSink | None = None,
    cancel: CancelCheck = None,
) -> DriftReport:
    """Compare router `router_name` with the database. Read-only on both sides.

    Raises RouterError (one sentence) when the router cannot be read, `Cancelled` when `cancel` is
    set (a threading.Event) or answers True (a callable) before the read ends.
    """
    with Session(engine) as session:
        router = get_router(session, router_name)
        wanted = load_wanted(session, router.id or 0)
    return compare_router(router, wanted, settings, progress=progress, cancel=cancel)


def compare_router(
    router: Router,
    wanted: Wanted,
    settings: Settings,
    *,
    progress: ProgressSink | None = None,
    cancel: CancelCheck = None,
) -> DriftReport:
    """Read the router (one session, closed afterwards) and compare it with `wanted`."""
    report = DriftReport(router.name, router.id or 0)
    with client_for(router, settings.routers) as client:
        reader = RouterReader(client, progress, cancel)
        for service in SERVICES:
            _compare_profiles(report, reader, service, wanted)
        for service in SERVICES:
            _compare_accounts(report, reader, service, wanted)
    return report


def _named(rows: Iterable[Row], seen: set[str]) -> Iterator[tuple[str, Row]]:
    """Each row with its name, remembering the names seen (what is missing is what is not)."""
    for row in rows:
        name = row.get("name", "")
        seen.add(name)
        yield name, row


def _compare_profiles(
    report: DriftReport, reader: RouterReader, service: str, wanted: Wanted
) -> None:
    seen: set[str] = set()
    for name, row in _named(reader.profiles(service), seen):
        report.profiles_seen += 1
        profile = wanted.profiles.get((service, name))
        if profile is None:
            report.findings.append(Finding("foreign", "profile", service, name))
            continue
        differences = profile_differences(profile, row)
        if differences and not profile.ours:
            # Someone else's profile: reported, never queued for change (the engine would refuse).
            note = (
                "not ours, so WISP Console leaves it as it is "
                f"(`wisp import {report.router} --adopt-profiles` adopts it)"
            )
            report.findings.append(
                Finding("different", "profile", service, name, (*differences, note))
            )
        elif differences:
            report.findings.append(
                Finding(
                    "different", "profile", service, name, differences, jobs=tuple(profile.accounts)
                )
            )
    for (kind, name), profile in wanted.profiles.items():
        # A profile is ensured when an account first needs it: only a delivered account makes it due.
        if kind == service and name not in seen and profile.accounts:
            report.findings.append(
                Finding("missing", "profile", service, name, jobs=tuple(profile.accounts))
            )


def profile_differences(profile: WantedProfile, row: Row) -> tuple[str, ...]:
    """What differs between a wanted profile and the router's (rate limit, shared users)."""
    differences = []
    text = row.get("rate-limit", "")
    if not same_shape(profile.shape, text):
        differences.append(
            f"rate limit is {text or '(unlimited)'!r} on the router, "
            f"{build_rate_limit(profile.shape)!r} in the database"
        )
    shared = row.get("shared-users", "1")
    if profile.shared_users is not None and shared != profile.shared_users:
        differences.append(
            f"shared users is {shared} on the router, {profile.shared_users} in the database"
        )
    return tuple(differences)


def _compare_accounts(
    report: DriftReport, reader: RouterReader, service: str, wanted: Wanted
) -> None:
    seen: set[str] = set()
    for name, row in _named(reader.accounts(service), seen):
        report.accounts_seen += 1
        account = wanted.accounts.get((service, name))
        if account is None or not (account.in_queue or _ours(account, row)):
            category = "unknown" if is_owned(row.get("comment")) else "foreign"
            report.findings.append(
                Finding(category, "account", service, name, comment=row.get("comment", ""))
            )
        elif account.in_queue:
            report.in_queue += 1
        else:
            differences = account_differences(account, row)
            if differences:
                report.findings.append(_account_finding("different", account, differences))
    for (kind, name), account in wanted.accounts.items():
        if kind != service or name in seen:
            continue
        if account.in_queue:
            report.in_queue += 1
        elif account.action == Action.ACTIVATE:
            # A deactivated account that is gone, or a removed one, is where the database wants it.
            report.findings.append(_account_finding("missing", account, ()))


def _ours(account: WantedAccount, row: Row) -> bool:
    """Whether the router's object of this name is the database's account.

    It is when it carries our tag, or when the row may adopt it (an import, an operator's --adopt):
    an untagged object of the same name was put there by someone else, and a fix must not change,
    disable or delete it.
    """
    return account.adopt or account.imported or is_owned(row.get("comment"))


def _account_finding(
    category: str, account: WantedAccount, differences: tuple[str, ...]
) -> Finding:
    return Finding(
        category,
        "account",
        account.service,
        account.username,
        differences,
        jobs=((account.job_id, account.revision),),
    )


def account_differences(account: WantedAccount, row: Row) -> tuple[str, ...]:
    """What differs between an account row and the router's account; never shows a password."""
    if account.action == "remove":
        return ("still on the router, though the database removed it",)
    disabled = is_disabled(row)
    if account.action == Action.DEACTIVATE:
        return () if disabled else ("enabled on the router, deactivated in the database",)
    differences = []
    profile = row.get("profile", "default")
    if account.profile and profile != account.profile:
        differences.append(f"profile is {profile} on the router, {account.profile} in the database")
    if disabled:
        differences.append("disabled on the router, active in the database")
    if account.password and _password_differs(account.password, row.get("password", "")):
        differences.append("password differs")
    return tuple(differences)


def _password_differs(encrypted: str, on_router: str) -> bool:
    try:
        return secrets.decrypt(encrypted) != on_router
    except secrets.SecretError:
        # The key changed since it was stored: nothing to compare against, so no claim either way.
        return False
