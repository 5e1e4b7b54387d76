"""Router actions that converge: running one twice leaves the router as running it once.

activate: the profile is ensured first (by the caller, see `ensure_profile`), the account is found by
name (a query with a short proplist, never a full print), set if present or added if not, enabled,
and read back. deactivate: disable, kick the active sessions, drop the hotspot cookies. remove: the
same, then delete the account. A failed lookup raises; it is never taken for "not found".

Each action is written once as steps (`scheduler.routeros.steps`): `activate(client, ...)` runs
them on one session a command at a time, and the drain runs the steps of a whole batch pipelined
(`activate_steps` and the like), with the same decisions on the same answers.

Ours only: an account we write carries our tag (`wisp-console:<job>`) beside whatever text its
comment had; a router account without the tag is not ours and is refused (`NotOurs`) unless the job
may adopt it. A profile is ours when the database records it (`db.profiles`); one that is not is
never written. Router fields no package models (limit-uptime, a MAC binding, a data limit the
operator set) are not sent on `set`, so the router keeps them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from scheduler.routeros.client import RouterClient, RouterError
from scheduler.routeros.errors import Kind
from scheduler.routeros.steps import (
    Steps,
    add_command,
    print_command,
    remove_command,
    run,
    set_command,
)

OWNER_PREFIX = "wisp-console"
"""Our ownership tag is OWNER_PREFIX:<job id>, a word of the comment of every account we write."""
TAG = re.compile(rf"(?<!\S){OWNER_PREFIX}:\d+(?!\S)")
TRUE = ("true", "yes")

Row = dict[str, str]


class NotOurs(Exception):
    """The router holds an object of that name that is not ours: left as it is, the job fails for good."""


@dataclass(frozen=True)
class Menus:
    """Where one service keeps its accounts, profiles and sessions on a router."""

    account: str
    profile: str
    active: str
    active_user: str
    cookie: str | None


MENUS = {
    "hotspot": Menus(
        "/ip/hotspot/user",
        "/ip/hotspot/user/profile",
        "/ip/hotspot/active",
        "user",
        "/ip/hotspot/cookie",
    ),
    "pppoe": Menus("/ppp/secret", "/ppp/profile", "/ppp/active", "name", None),
}
ACCOUNT_NOUN = {"hotspot": "hotspot user", "pppoe": "PPPoE secret"}

UNMODELLED = {
    "hotspot": (
        "server",
        "address",
        "mac-address",
        "email",
        "routes",
        "limit-uptime",
        "limit-bytes-in",
        "limit-bytes-out",
        "limit-bytes-total",
    ),
    "pppoe": (
        "caller-id",
        "local-address",
        "remote-address",
        "routes",
        "ipv6-routes",
        "limit-bytes-in",
        "limit-bytes-out",
    ),
}
"""Account fields no package models: kept as the router has them, and stored by an import."""
UNSET = ("", "0", "0s", "00:00:00")
DEFAULTS = {"server": "all"}


def owner_tag(job_id: int) -> str:
    """The word that marks an account as written by the console for one job."""
    return f"{OWNER_PREFIX}:{job_id}"


def is_owned(comment: str | None) -> bool:
    """True when a router comment carries the console's ownership tag as a word of its own."""
    return bool(comment) and TAG.search(str(comment)) is not None


def comment_text(comment: str | None) -> str:
    """A router comment without our ownership tag: the text that is not ours and is kept."""
    text = str(comment or "")
    if TAG.search(text) is None:
        return text.strip()
    return " ".join(TAG.sub(" ", text).split())


def tagged_comment(comment: str | None, tag: str) -> str:
    """The comment to write: the kept text and our tag (an old tag of ours is replaced in place)."""
    text = str(comment or "")
    first = TAG.search(text)
    if first is None:
        kept = text.strip()
        return f"{kept} {tag}" if kept else tag
    rest = TAG.sub("", text[first.end() :])
    return (text[: first.start()] + tag + rest).strip()


def unmodelled(service: str, row: Mapping[str, str]) -> dict[str, str]:
    """The fields of a printed account that no package models, where they hold a value."""
    found = {}
    for key in UNMODELLED[service]:
        value = str(row.get(key, "") or "")
        if value not in UNSET and DEFAULTS.get(key) != value:
            found[key] = value
    return found


def foreign_account_sentence(router: str, service: str, username: str) -> str:
    """Why an account that is not ours is left alone, and what the operator can do."""
    return (
        f"router {router} already has {ACCOUNT_NOUN[service]} {username}, not created by WISP "
        f"Console; `wisp import {router}` adopts it, or pass --adopt"
    )


@dataclass(frozen=True)
class ProfileSpec:
    """A user profile as a package shapes it."""

    service: str
    name: str
    rate_limit: str
    shared_users: int | None = None

    def values(self) -> dict[str, str]:
        """The properties the router's profile must have."""
        values = {"rate-limit": self.rate_limit}
        if self.service == "hotspot":
            values["shared-users"] = str(self.shared_users or 1)
        return values


def foreign_profile_sentence(router: str, spec: ProfileSpec, row: Mapping[str, str]) -> str:
    """Why a profile that is not ours and shapes differently is left alone, and what to do."""
    service = "hotspot" if spec.service == "hotspot" else "PPP"
    found = row.get("rate-limit") or "(unlimited)"
    shared = ""
    if spec.service == "hotspot" and row.get("shared-users", "1") != str(spec.shared_users or 1):
        shared = (
            f" and shared users {row.get('shared-users', '1')} where it needs "
            f"{spec.shared_users or 1}"
        )
    return (
        f"router {router} has {service} profile {spec.name} with rate-limit {found}, not created "
        f"by WISP Console, and the package needs {spec.rate_limit}{shared}: the profile was left "
        f"as it is; give the package a profile of its own (`wisp package add` picks a free name) "
        f"or let WISP Console manage it with `wisp import {router} --adopt-profiles`, then "
        "`wisp retry` the job"
    )


@dataclass(frozen=True)
class AccountSpec:
    """The desired state of one router account (the password is never shown in repr)."""

    service: str
    username: str
    profile: str
    tag: str
    password: str | None = field(default=None, repr=False)
    limit_bytes_total: int | None = None
    """The package's data limit; None when the package models none (the router's own is kept)."""
    comment: str | None = None
    """The comment's own text kept from an import or an adoption, written when the account is added."""
    extra: tuple[tuple[str, str], ...] = ()
    """Router fields no package models, as an import or adoption read them: re-sent only on add."""
    adopt: bool = False
    """May take over a router account of this name that does not carry our tag."""
    bound_mac: str | None = None
    """The device the captive portal bound the account to (the one that paid last): ours, so
    written on every `set` too, unlike a binding an import read (kept in `extra`)."""

    def values(self) -> dict[str, str]:
        """The properties written by `add` (the account is created again with what was kept)."""
        values = {key: value for key, value in self.extra if key in UNMODELLED[self.service]}
        values |= self._modelled()
        values["comment"] = tagged_comment(self.comment, self.tag)
        if self.service == "hotspot" and self.limit_bytes_total:
            values["limit-bytes-total"] = str(self.limit_bytes_total)
        return values

    def changes(self, current: Mapping[str, str]) -> dict[str, str]:
        """The properties written by `set` on the account as found: what is not ours stays."""
        values = self._modelled()
        values["comment"] = tagged_comment(current.get("comment"), self.tag)
        if self.service == "hotspot":
            if self.bound_mac:
                values["mac-address"] = self.bound_mac
            limit = self._data_limit(current)
            if limit is not None:
                values["limit-bytes-total"] = limit
        return values

    def _modelled(self) -> dict[str, str]:
        values = {"profile": self.profile, "disabled": "no"}
        if self.password is not None:
            values["password"] = self.password
        if self.service == "pppoe":
            values["service"] = "pppoe"
        return values

    def _data_limit(self, current: Mapping[str, str]) -> str | None:
        """The package's data limit; "0" to clear a limit we set before; None to keep the router's."""
        if self.limit_bytes_total:
            return str(self.limit_bytes_total)
        kept = dict(self.extra).get("limit-bytes-total")
        found = current.get("limit-bytes-total", "") or ""
        if kept is None and found not in UNSET and is_owned(current.get("comment")):
            return "0"  # a data package of ours set it; the account's package has none now
        return None


def find(
    client: RouterClient, path: str, name: str, proplist: tuple[str, ...]
) -> dict[str, str] | None:
    """The item named `name`, or None when the router answered that there is none."""
    return run(client, find_steps(path, name, proplist))


def find_steps(path: str, name: str, proplist: tuple[str, ...]) -> Steps[Row | None]:
    """`find` as a step: one print by name with a short proplist."""
    rows, _ = yield print_command(path, where={"name": name}, proplist=(".id", *proplist))
    return rows[0] if rows else None


def ensure_profile(
    client: RouterClient,
    spec: ProfileSpec,
    *,
    ours: bool | Callable[[], bool],
    before_add: Callable[[], object] | None = None,
    alike: Callable[[ProfileSpec, Mapping[str, str]], bool] | None = None,
) -> str:
    """Create the profile, or correct it when it is `ours`; "added", "updated" or "unchanged".

    `ours` may be a function, asked only when a profile found needs changing. `before_add` records
    the profile as ours before it is created. A profile that exists and is not ours is never
    written: it is used as it is when `alike` says it shapes traffic as `spec` does
    ("unchanged"), and refused with `NotOurs` otherwise.

    Workers starting together on a router race to add a new profile: the losers' add is refused
    ("profile with the same name already exists"). Having recorded it as ours, each reads it again
    and treats it like a profile found in the first place: correct if its shape differs, else
    "unchanged". A refusal with no such profile behind it is raised as it is.
    """
    path = MENUS[spec.service].profile
    wanted = spec.values()
    current = find(client, path, spec.name, tuple(wanted))
    if current is None:
        if before_add is not None:
            before_add()
        try:
            client.add(path, {"name": spec.name, **wanted})
            return "added"
        except RouterError as refused:
            if refused.kind != Kind.TRAP:
                raise
            current = find(client, path, spec.name, tuple(wanted))
            if current is None:
                raise
            ours = True if before_add is not None else ours
    changes = {key: value for key, value in wanted.items() if current.get(key) != value}
    if not changes:
        return "unchanged"
    if not (ours() if callable(ours) else ours):
        if alike is not None and alike(spec, current):
            return "unchanged"
        raise NotOurs(foreign_profile_sentence(client.name, spec, current))
    client.set(path, current[".id"], changes)
    return "updated"


def activate(
    client: RouterClient,
    spec: AccountSpec,
    *,
    adopted: Callable[[Row], object] | None = None,
) -> dict[str, str]:
    """Make the account exist, enabled, with the desired properties; returns what was read back.

    A router account of that name without our tag is taken over only when `spec.adopt` says so
    (keeping its comment text and the fields no package models); `adopted` is then called with the
    account as it was found, once it is written. Otherwise it is refused with `NotOurs`.
    """
    return run(client, activate_steps(client.name, spec, adopted=adopted))


def activate_steps(
    router: str, spec: AccountSpec, *, adopted: Callable[[Row], object] | None = None
) -> Steps[Row]:
    """`activate` as steps on router `router`: find, then set or add, then read back."""
    path = MENUS[spec.service].account
    current = yield from find_steps(path, spec.username, ("comment", *UNMODELLED[spec.service]))
    taken: Row | None = None
    if current is None:
        yield add_command(path, {"name": spec.username, **spec.values()})
    else:
        if not is_owned(current.get("comment")):
            if not spec.adopt:
                raise NotOurs(foreign_account_sentence(router, spec.service, spec.username))
            taken = current
        yield set_command(path, current[".id"], spec.changes(current))
        if taken is not None and adopted is not None:
            adopted(taken)  # from here on the account carries our tag
    return (yield from read_back_steps(router, spec))


READ_BACK = ("name", "profile", "disabled", "comment", "limit-bytes-total")


def read_back(client: RouterClient, spec: AccountSpec) -> dict[str, str]:
    """Read the account again and check the router kept what was written (our tag included)."""
    return run(client, read_back_steps(client.name, spec))


def read_back_steps(router: str, spec: AccountSpec) -> Steps[Row]:
    """`read_back` as a step on router `router`."""
    path = MENUS[spec.service].account
    row = yield from find_steps(path, spec.username, READ_BACK)
    if row is None:
        raise _not_kept(router, spec, "the account is missing right after it was written")
    wrong = [
        f"{key} is {row.get(key, '(unset)')!r}, not {value!r}"
        for key, value in _checked_values(spec).items()
        if row.get(key, "") != value
    ]
    if spec.tag not in str(row.get("comment", "")).split():
        wrong.append(f"comment {row.get('comment', '')!r} does not carry {spec.tag}")
    if row.get("disabled", "false") in TRUE:
        wrong.append("it is still disabled")
    if wrong:
        raise _not_kept(router, spec, "; ".join(wrong))
    return row


def _checked_values(spec: AccountSpec) -> dict[str, str]:
    checked = {"profile": spec.profile}
    if spec.service == "hotspot" and spec.limit_bytes_total:
        checked["limit-bytes-total"] = str(spec.limit_bytes_total)
    return checked


def _not_kept(router: str, spec: AccountSpec, what: str) -> RouterError:
    return RouterError(
        f"router {router} did not keep account {spec.username}: {what}",
        kind=Kind.TRAP,
        router=router,
        command=f"{MENUS[spec.service].account}/print",
    )


def deactivate(
    client: RouterClient, service: str, username: str, *, adopt: bool = False
) -> str | None:
    """Disable the account, end its sessions and drop its hotspot cookies (nothing there is fine).

    Returns the account's .id, or None when the router has no such account. An account of that
    name without our tag is someone else's: refused with `NotOurs` unless `adopt` (an imported or
    adopted account) says it is ours to change.
    """
    return run(client, deactivate_steps(client.name, service, username, adopt=adopt))


def deactivate_steps(
    router: str, service: str, username: str, *, adopt: bool = False
) -> Steps[str | None]:
    """`deactivate` as steps on router `router`."""
    menus = MENUS[service]
    current = yield from find_steps(menus.account, username, ("disabled", "comment"))
    if current is not None and not (adopt or is_owned(current.get("comment"))):
        raise NotOurs(
            f"router {router} has {ACCOUNT_NOUN[service]} {username}, not created by WISP "
            f"Console, so it was left as it is; `wisp import {router}` adopts it"
        )
    if current is not None and current.get("disabled") not in TRUE:
        yield set_command(menus.account, current[".id"], {"disabled": "yes"})
    yield from kick_steps(service, username)
    return current[".id"] if current is not None else None


def kick(client: RouterClient, service: str, username: str) -> None:
    """End the account's active sessions and remove its hotspot cookies."""
    run(client, kick_steps(service, username))


def kick_steps(service: str, username: str) -> Steps[None]:
    """`kick` as steps."""
    menus = MENUS[service]
    yield from remove_matching_steps(menus.active, {menus.active_user: username})
    if menus.cookie is not None:
        # Kicking alone is not enough: the MAC cookie would log the user straight back in.
        yield from remove_matching_steps(menus.cookie, {"user": username})


def remove(client: RouterClient, service: str, username: str, *, adopt: bool = False) -> None:
    """Deactivate, then delete the account itself (by the .id the deactivation found)."""
    run(client, remove_steps(client.name, service, username, adopt=adopt))


def remove_steps(router: str, service: str, username: str, *, adopt: bool = False) -> Steps[None]:
    """`remove` as steps on router `router`."""
    item_id = yield from deactivate_steps(router, service, username, adopt=adopt)
    if item_id is not None:
        yield from remove_found_steps(MENUS[service].account, {"name": username}, [item_id])


def remove_matching(client: RouterClient, path: str, where: dict[str, str]) -> int:
    """Remove every item matching `where`; returns how many there were."""
    return run(client, remove_matching_steps(path, where))


def remove_matching_steps(path: str, where: dict[str, str]) -> Steps[int]:
    """`remove_matching` as steps."""
    rows, _ = yield print_command(path, where=where, proplist=(".id",))
    ids = [row[".id"] for row in rows if ".id" in row]
    yield from remove_found_steps(path, where, ids)
    return len(ids)


def remove_found(client: RouterClient, path: str, where: dict[str, str], ids: list[str]) -> None:
    """Remove the items `ids` that a lookup by `where` found.

    An item may vanish between the lookup and the remove (a session ending by itself): the trap
    is accepted only if a second lookup confirms nothing matching is left.
    """
    run(client, remove_found_steps(path, where, ids))


def remove_found_steps(path: str, where: dict[str, str], ids: list[str]) -> Steps[None]:
    """`remove_found` as steps."""
    if not ids:
        return
    try:
        yield remove_command(path, ids)
    except RouterError as error:
        if error.kind != Kind.TRAP:
            raise
        rows, _ = yield print_command(path, where=where, proplist=(".id",))
        if rows:
            raise
