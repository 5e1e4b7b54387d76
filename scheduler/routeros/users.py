"""Read-only listing of a live router's users, streamed in batches (10,000 users show at once)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from scheduler.routeros.client import RouterClient

LISTINGS: dict[str, tuple[str, tuple[str, ...]]] = {
    "hotspot": (
        "/ip/hotspot/user",
        (
            "name",
            "profile",
            "disabled",
            "uptime",
            "bytes-in",
            "bytes-out",
            "limit-bytes-total",
            "comment",
        ),
    ),
    "pppoe": (
        "/ppp/secret",
        ("name", "profile", "service", "disabled", "last-logged-out", "comment"),
    ),
    "hotspot-active": (
        "/ip/hotspot/active",
        ("user", "address", "mac-address", "login-by", "uptime", "bytes-in", "bytes-out"),
    ),
    "ppp-active": (
        "/ppp/active",
        ("name", "service", "caller-id", "address", "uptime"),
    ),
}
KINDS = tuple(LISTINGS)


def fetch_users(
    client: RouterClient,
    kind: str,
    *,
    batch: int = 1000,
    properties: Sequence[str] | None = None,
) -> Iterator[list[dict[str, str]]]:
    """Yield the router's users of `kind` in lists of up to `batch` rows, as they arrive.

    kind: hotspot, pppoe, hotspot-active or ppp-active. Only the listed properties are asked for
    (never passwords), or only `properties` of them when given (less for the router to send and
    for the client to decode). Stopping early is safe: the client drops the half-read reply.
    """
    if kind not in LISTINGS:
        raise ValueError(f"user listing {kind!r} is not one of {', '.join(KINDS)}")
    path, listed = LISTINGS[kind]
    wanted = set(properties) if properties is not None else None
    asked = [name for name in listed if wanted is None or name in wanted]
    rows: list[dict[str, str]] = []
    for row in client.stream(f"{path}/print", f"=.proplist=.id,{','.join(asked)}"):
        rows.append(row)
        if len(rows) >= batch:
            yield rows
            rows = []
    if rows:
        yield rows
