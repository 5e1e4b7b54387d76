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


def _statuses(*names: str) -> tuple[Field, ...]:
    return tuple(_status(name) for name in names)


def _plain(*names: str) -> tuple[Field, ...]:
    """Settable fields with no validation and no default, hidden from a plain print."""
    return tuple(Field(name) for name in names)


def _choice(name: str, options: str, default: str) -> Field:
    return Field(name, v.one_of(*options.split()), default, shown_by_default=True)


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
        *_plain("email", "routes"),
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
        _choice("open-status-page", "always http-login", "always"),
        *_plain(
            "address-list",
            "incoming-filter",
            "outgoing-filter",
            "parent-queue",
            "queue-type",
            "on-login",
            "on-logout",
        ),
        _flag("default", read_only=True),
    ),
)

HOTSPOT_SERVER_PROFILE = Menu(
    path="/ip/hotspot/profile",
    key="name",
    duplicate_message=traps.DUPLICATE_PROFILE,
    # A lab router with its hotspot set up: the built-in default and the setup wizard's profile.
    builtin_rows=(
        (0, {"name": "default", "default": "true", "dns-name": ""}),
        (1, {"name": "hsprof1", "dns-name": "hotspot.lan", "hotspot-address": "10.5.50.1"}),
    ),
    builtin_remove_message=traps.DEFAULT_PROFILE_NOT_REMOVABLE,
    fields=(
        Field("name", required=True, unsettable=False),
        Field("hotspot-address", shown_by_default=True),
        Field("dns-name", default="", shown_by_default=True),
        Field("html-directory", default="hotspot", shown_by_default=True),
        Field("login-by", default="cookie,http-chap", shown_by_default=True),
        Field("http-cookie-lifetime", v.duration, "3d", shown_by_default=True),
        _flag("use-radius"),
        _flag("default", read_only=True),
    ),
)

HOTSPOT_ACTIVE = Menu(
    path="/ip/hotspot/active",
    commands=PRINT_REMOVE,
    extra_print_args=frozenset({"stats"}),
    fields=(
        *_statuses(
            "server",
            "user",
            "domain",
            "address",
            "mac-address",
            "login-by",
            "uptime",
            "idle-time",
            "session-time-left",
            "idle-timeout",
            "keepalive-timeout",
            "limit-bytes-in",
            "limit-bytes-out",
            "limit-bytes-total",
            "bytes-in",
            "bytes-out",
            "packets-in",
            "packets-out",
        ),
        _flag("radius", read_only=True),
    ),
)

HOTSPOT_COOKIE = Menu(
    path="/ip/hotspot/cookie",
    commands=PRINT_REMOVE,
    fields=(
        *_statuses("user", "domain", "mac-address", "expires-in"),
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
        *_plain("bridge", "interface-list", "dns-server", "rate-limit"),
        Field("session-timeout", v.duration),
        Field("idle-timeout", v.duration),
        _choice("only-one", "yes no default", "default"),
        _choice("change-tcp-mss", "yes no default", "default"),
        _choice("use-compression", "yes no default", "default"),
        _choice("use-encryption", "yes no default required", "default"),
        _choice("use-mpls", "yes no default required", "default"),
        _choice("use-upnp", "yes no default", "default"),
        _choice("use-ipv6", "yes no default required", "yes"),
        *_plain(
            "address-list",
            "parent-queue",
            "queue-type",
            "insert-queue-before",
            "on-up",
            "on-down",
            "comment",
        ),
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
        _choice("service", "any async isdn l2tp pppoe pptp ovpn sstp", "any"),
        Field("caller-id", default="", shown_by_default=True),
        Field("profile", default="default", shown_by_default=True, ref="/ppp/profile"),
        Field("local-address", v.ip_address),
        Field("remote-address", v.ip_address),
        Field("routes", default="", shown_by_default=True),
        Field("ipv6-routes", default="", shown_by_default=True),
        Field("limit-bytes-in", v.byte_count, "0", shown_by_default=True),
        Field("limit-bytes-out", v.byte_count, "0", shown_by_default=True),
        *_statuses("last-logged-out", "last-caller-id", "last-disconnect-reason"),
        _flag("disabled"),
        Field("comment"),
    ),
)

PPP_ACTIVE = Menu(
    path="/ppp/active",
    commands=PRINT_REMOVE,
    extra_print_args=frozenset({"stats"}),
    fields=(
        *_statuses(
            "name",
            "service",
            "caller-id",
            "encoding",
            "address",
            "uptime",
            "session-id",
            "limit-bytes-in",
            "limit-bytes-out",
        ),
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
        *_statuses("default-name", "type"),
        Field("mtu", v.integer, "1500", shown_by_default=True),
        *_statuses("actual-mtu", "l2mtu", "max-l2mtu", "mac-address", "last-link-up-time"),
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
    fields=_statuses(
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
    ),
)

ALL_MENUS: tuple[Menu, ...] = (
    HOTSPOT_USER,
    HOTSPOT_USER_PROFILE,
    HOTSPOT_ACTIVE,
    HOTSPOT_COOKIE,
    HOTSPOT_SERVER_PROFILE,
    PPP_PROFILE,
    PPP_SECRET,
    PPP_ACTIVE,
    INTERFACE,
    IP_ADDRESS,
    SYSTEM_IDENTITY,
    SYSTEM_RESOURCE,
)
