"""The menus a simulated router serves, declared as data (see schema.py)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from scheduler.sim import traps
from scheduler.sim import values as v
from scheduler.sim.schema import Field, Menu

PRINT_REMOVE = frozenset({"print", "remove"})


def _flag(name: str, default: str = "false", read_only: bool = False) -> Field:
    return Field(name, v.boolean, default, shown_by_default=True, read_only=read_only)


def _counter(name: str, default: str = "0") -> Field:
    return Field(name, v.integer, default, shown_by_default=True, read_only=True)


def _status(name: str) -> Field:
    return Field(name, read_only=True)


def _network(row: Mapping[str, str]) -> str | None:
    address = row.get("address")
    return str(ipaddress.ip_interface(address).network.network_address) if address else None


HOTSPOT_USER = Menu(
    path="/ip/hotspot/user",
    key="name",
    duplicate_message=traps.DUPLICATE_HOTSPOT_USER,
    fields=(
        Field("server", default="all"),
        Field("name", required=True, unsettable=False),
        Field("password"),
        Field("profile", default="default", shown_by_default=True, ref="/ip/hotspot/user/profile"),
        Field("address", v.ip_address),
        Field("mac-address", v.mac_address),
        Field("email"),
        Field("routes"),
        Field("limit-uptime", v.duration),
        Field("limit-bytes-in", v.byte_count),
        Field("limit-bytes-out", v.byte_count),
        Field("limit-bytes-total", v.byte_count),
        Field("uptime", v.duration, "0s", shown_by_default=True, read_only=True),
        _counter("bytes-in"),
        _counter("bytes-out"),
        _counter("packets-in"),
        _counter("packets-out"),
        _flag("dynamic", read_only=True),
        _flag("disabled"),
        Field("comment"),
    ),
)

HOTSPOT_USER_PROFILE = Menu(
    path="/ip/hotspot/user/profile",
    key="name",
    # RouterOS's wording of this trap is unconfirmed; reword it through Behaviour.messages.
    duplicate_message=traps.DUPLICATE_PROFILE,
    builtin_rows=((0, {"name": "default", "default": "true"}),),
    builtin_remove_message=traps.DEFAULT_PROFILE_NOT_REMOVABLE,
    fields=(
        Field("name", required=True, unsettable=False),
        Field("address-pool", default="none", shown_by_default=True),
        Field("idle-timeout", v.duration_or_none, "none", shown_by_default=True),
        Field("keepalive-timeout", v.duration_or_none, "2m", shown_by_default=True),
        Field("status-autorefresh", v.duration_or_none, "1m", shown_by_default=True),
        Field("shared-users", v.integer, "1", shown_by_default=True),
        _flag("transparent-proxy"),
        _flag("add-mac-cookie", "true"),
        Field("mac-cookie-timeout", v.duration, "3d", shown_by_default=True),
        Field("rate-limit"),
        Field("session-timeout", v.duration),
        Field(
            "open-status-page", v.one_of("always", "http-login"), "always", shown_by_default=True
        ),
        Field("address-list"),
        Field("incoming-filter"),
        Field("outgoing-filter"),
        Field("parent-queue"),
        Field("queue-type"),
        Field("on-login"),
        Field("on-logout"),
        _flag("default", read_only=True),
    ),
)

HOTSPOT_ACTIVE = Menu(
    path="/ip/hotspot/active",
    commands=PRINT_REMOVE,
    extra_print_args=frozenset({"stats"}),
    fields=(
        _status("server"),
        _status("user"),
        _status("domain"),
        _status("address"),
        _status("mac-address"),
        _status("login-by"),
        _status("uptime"),
        _status("idle-time"),
        _status("session-time-left"),
        _status("idle-timeout"),
        _status("keepalive-timeout"),
        _status("limit-bytes-in"),
        _status("limit-bytes-out"),
        _status("limit-bytes-total"),
        _status("bytes-in"),
        _status("bytes-out"),
        _status("packets-in"),
        _status("packets-out"),
        _flag("radius", read_only=True),
    ),
)

HOTSPOT_COOKIE = Menu(
    path="/ip/hotspot/cookie",
    commands=PRINT_REMOVE,
    fields=(
        _status("user"),
        _status("domain"),
        _status("mac-address"),
        _status("expires-in"),
        _flag("mac-cookie", "true", read_only=True),
    ),
)

PPP_PROFILE = Menu(
    path="/ppp/profile",
    key="name",
    duplicate_message=traps.DUPLICATE_PROFILE,
    builtin_rows=(
        (0, {"name": "default", "default": "true"}),
        (0xFFFFFFFE, {"name": "default-encryption", "use-encryption": "yes", "default": "true"}),
    ),
    builtin_remove_message=traps.DEFAULT_PROFILE_NOT_REMOVABLE,
    fields=(
        Field("name", required=True, unsettable=False),
        Field("local-address", v.ip_or_pool),
        Field("remote-address", v.ip_or_pool),
        Field("bridge"),
        Field("interface-list"),
        Field("dns-server"),
        Field("rate-limit"),
        Field("session-timeout", v.duration),
        Field("idle-timeout", v.duration),
        Field("only-one", v.one_of("yes", "no", "default"), "default", shown_by_default=True),
        Field("change-tcp-mss", v.one_of("yes", "no", "default"), "default", shown_by_default=True),
        Field(
            "use-compression", v.one_of("yes", "no", "default"), "default", shown_by_default=True
        ),
        Field(
            "use-encryption",
            v.one_of("yes", "no", "default", "required"),
            "default",
            shown_by_default=True,
        ),
        Field(
            "use-mpls",
            v.one_of("yes", "no", "default", "required"),
            "default",
            shown_by_default=True,
        ),
        Field("use-upnp", v.one_of("yes", "no", "default"), "default", shown_by_default=True),
        Field(
            "use-ipv6", v.one_of("yes", "no", "default", "required"), "yes", shown_by_default=True
        ),
        Field("address-list"),
        Field("parent-queue"),
        Field("queue-type"),
        Field("insert-queue-before"),
        Field("on-up"),
        Field("on-down"),
        Field("comment"),
        _flag("default", read_only=True),
    ),
)

PPP_SECRET = Menu(
    path="/ppp/secret",
    key="name",
    duplicate_message=traps.DUPLICATE_PPP_SECRET,
    fields=(
        Field("name", required=True, unsettable=False),
        Field("password"),
        Field(
            "service",
            v.one_of("any", "async", "isdn", "l2tp", "pppoe", "pptp", "ovpn", "sstp"),
            "any",
            shown_by_default=True,
        ),
        Field("caller-id", default="", shown_by_default=True),
        Field("profile", default="default", shown_by_default=True, ref="/ppp/profile"),
        Field("local-address", v.ip_address),
        Field("remote-address", v.ip_address),
        Field("routes", default="", shown_by_default=True),
        Field("ipv6-routes", default="", shown_by_default=True),
        Field("limit-bytes-in", v.byte_count, "0", shown_by_default=True),
        Field("limit-bytes-out", v.byte_count, "0", shown_by_default=True),
        _status("last-logged-out"),
        _status("last-caller-id"),
        _status("last-disconnect-reason"),
        _flag("disabled"),
        Field("comment"),
    ),
)

PPP_ACTIVE = Menu(
    path="/ppp/active",
    commands=PRINT_REMOVE,
    extra_print_args=frozenset({"stats"}),
    fields=(
        _status("name"),
        _status("service"),
        _status("caller-id"),
        _status("encoding"),
        _status("address"),
        _status("uptime"),
        _status("session-id"),
        _status("limit-bytes-in"),
        _status("limit-bytes-out"),
        _flag("radius", read_only=True),
    ),
)

INTERFACE = Menu(
    path="/interface",
    key="name",
    duplicate_message=traps.DUPLICATE_INTERFACE,
    commands=frozenset({"print", "set", "enable", "disable", "unset"}),
    extra_print_args=frozenset({"stats"}),
    fields=(
        Field("name", required=True, unsettable=False),
        _status("default-name"),
        _status("type"),
        Field("mtu", v.integer, "1500", shown_by_default=True),
        _status("actual-mtu"),
        _status("l2mtu"),
        _status("max-l2mtu"),
        _status("mac-address"),
        _status("last-link-up-time"),
        _counter("link-downs"),
        _flag("running", "true", read_only=True),
        _flag("disabled"),
        Field("comment"),
    ),
)

IP_ADDRESS = Menu(
    path="/ip/address",
    fields=(
        Field("address", v.ip_interface, required=True, unsettable=False),
        Field("network", v.ip_address, derived=_network, unsettable=False),
        Field("interface", required=True, unsettable=False, ref="/interface", ref_category=1),
        Field("actual-interface", read_only=True, derived=lambda row: row.get("interface")),
        _flag("invalid", read_only=True),
        _flag("dynamic", read_only=True),
        _flag("disabled"),
        Field("comment"),
    ),
)

SYSTEM_IDENTITY = Menu(
    path="/system/identity",
    single=True,
    commands=frozenset({"print", "set"}),
    fields=(Field("name", default="MikroTik", shown_by_default=True, unsettable=False),),
)

SYSTEM_RESOURCE = Menu(
    path="/system/resource",
    single=True,
    commands=frozenset({"print"}),
    fields=tuple(
        _status(name)
        for name in (
            "uptime",
            "version",
            "build-time",
            "factory-software",
            "free-memory",
            "total-memory",
            "cpu",
            "cpu-count",
            "cpu-frequency",
            "cpu-load",
            "free-hdd-space",
            "total-hdd-space",
            "write-sect-since-reboot",
            "write-sect-total",
            "bad-blocks",
            "architecture-name",
            "board-name",
            "platform",
        )
    ),
)

ALL_MENUS: tuple[Menu, ...] = (
    HOTSPOT_USER,
    HOTSPOT_USER_PROFILE,
    HOTSPOT_ACTIVE,
    HOTSPOT_COOKIE,
    PPP_PROFILE,
    PPP_SECRET,
    PPP_ACTIVE,
    INTERFACE,
    IP_ADDRESS,
    SYSTEM_IDENTITY,
    SYSTEM_RESOURCE,
)
