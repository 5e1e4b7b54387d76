"""Router actions that converge: running one twice leaves the router as running it once.

activate: the profile is ensured first (by the caller, see `ensure_profile`), the account is found by
name (a query with a short proplist, never a full print), set if present or added if not, enabled,
and read back. deactivate: disable, kick the active sessions, drop the hotspot cookies. remove: the
same, then delete the account. A failed lookup raises; it is never taken for "not found".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scheduler.routeros import RouterClient, RouterError

OWNER_PREFIX = "wisp-console"
"""Start of the comment on every account the console writes: drift detection looks for it."""

TRUE = ("true", "yes")


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


def owner_tag(job_id: int) -> str:
    """The comment that marks an account as written by the console for one job."""
    return f"{OWNER_PREFIX}:{job_id}"


def is_owned(comment: str | None) -> bool:
    """True when a router comment carries the console's ownership tag."""
    return bool(comment) and str(comment).startswith(f"{OWNER_PREFIX}:")


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


@dataclass(frozen=True)
class AccountSpec:
    """The desired state of one router account (the password is never shown in repr)."""

    service: str
    username: str
    profile: str
    tag: str
    password: str | None = field(default=None, repr=False)
    limit_bytes_total: int | None = None

    def values(self) -> dict[str, str]:
        """The properties written by set or add (enabled, tagged)."""
        values = {"profile": self.profile, "comment": self.tag, "disabled": "no"}
        if self.password is not None:
            values["password"] = self.password
        if self.service == "pppoe":
            values["service"] = "pppoe"
        else:
            values["limit-bytes-total"] = str(self.limit_bytes_total or 0)
        return values


def find(
    client: RouterClient, path: str, name: str, proplist: tuple[str, ...]
) -> dict[str, str] | None:
    """The item named `name`, or None when the router answered that there is none."""
    rows = client.print(path, where={"name": name}, proplist=(".id", *proplist))
    return rows[0] if rows else None


def ensure_profile(client: RouterClient, spec: ProfileSpec) -> str:
    """Create or correct the profile; returns "added", "updated" or "unchanged"."""
    path = MENUS[spec.service].profile
    wanted = spec.values()
    current = find(client, path, spec.name, tuple(wanted))
    if current is None:
        client.add(path, {"name": spec.name, **wanted})
        return "added"
    changes = {key: value for key, value in wanted.items() if current.get(key) != value}
    if not changes:
        return "unchanged"
    client.set(path, current[".id"], changes)
    return "updated"


def activate(client: RouterClient, spec: AccountSpec) -> dict[str, str]:
    """Make the account exist, enabled, with the desired properties; returns what was read back."""
    path = MENUS[spec.service].account
    current = find(client, path, spec.username, ())
    if current is None:
        client.add(path, {"name": spec.username, **spec.values()})
    else:
        client.set(path, current[".id"], spec.values())
    return read_back(client, spec)


READ_BACK = ("name", "profile", "disabled", "comment", "limit-bytes-total")


def read_back(client: RouterClient, spec: AccountSpec) -> dict[str, str]:
    """Read the account again and check the router kept what was written."""
    path = MENUS[spec.service].account
    row = find(client, path, spec.username, READ_BACK)
    if row is None:
        raise _not_kept(client, spec, "the account is missing right after it was written")
    wrong = [
        f"{key} is {row.get(key, '(unset)')!r}, not {value!r}"
        for key, value in _checked_values(spec).items()
        if row.get(key, "") != value
    ]
    if row.get("disabled", "false") in TRUE:
        wrong.append("it is still disabled")
    if wrong:
        raise _not_kept(client, spec, "; ".join(wrong))
    return row


def _checked_values(spec: AccountSpec) -> dict[str, str]:
    checked = {"profile": spec.profile, "comment": spec.tag}
    if spec.service == "hotspot" and spec.limit_bytes_total:
        checked["limit-bytes-total"] = str(spec.limit_bytes_total)
    return checked


def _not_kept(client: RouterClient, spec: AccountSpec, what: str) -> RouterError:
    return RouterError(
        f"router {client.name} did not keep account {spec.username}: {what}",
        kind="trap",
        router=client.name,
        command=f"{MENUS[spec.service].account}/print",
    )


def deactivate(client: RouterClient, service: str, username: str) -> str | None:
    """Disable the account, end its sessions and drop its hotspot cookies (nothing there is fine).

    Returns the account's .id, or None when the router has no such account.
    """
    menus = MENUS[service]
    current = find(client, menus.account, username, ("disabled",))
    if current is not None and current.get("disabled") not in TRUE:
        client.set(menus.account, current[".id"], {"disabled": "yes"})
    kick(client, service, username)
    return current[".id"] if current is not None else None


def kick(client: RouterClient, service: str, username: str) -> None:
    """End the account's active sessions and remove its hotspot cookies."""
    menus = MENUS[service]
    remove_matching(client, menus.active, {menus.active_user: username})
    if menus.cookie is not None:
        # Kicking alone is not enough: the MAC cookie would log the user straight back in.
        remove_matching(client, menus.cookie, {"user": username})


def remove(client: RouterClient, service: str, username: str) -> None:
    """Deactivate, then delete the account itself (by the .id the deactivation found)."""
    item_id = deactivate(client, service, username)
    if item_id is not None:
        remove_found(client, MENUS[service].account, {"name": username}, [item_id])


def remove_matching(client: RouterClient, path: str, where: dict[str, str]) -> int:
    """Remove every item matching `where`; returns how many there were."""
    ids = [row[".id"] for row in client.print(path, where=where, proplist=(".id",)) if ".id" in row]
    remove_found(client, path, where, ids)
    return len(ids)


def remove_found(client: RouterClient, path: str, where: dict[str, str], ids: list[str]) -> None:
    """Remove the items `ids` that a lookup by `where` found.

    An item may vanish between the lookup and the remove (a session ending by itself): the trap
    is accepted only if a second lookup confirms nothing matching is left.
    """
    if not ids:
        return
    try:
        client.remove(path, ids)
    except RouterError as error:
        if error.kind != "trap" or client.print(path, where=where, proplist=(".id",)):
            raise
