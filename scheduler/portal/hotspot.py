"""The hotspot's side of the portal: the variables its login page sends (checked, never taken
blindly), and the login the device then posts back to it, PAP or CHAP as MikroTik's md5.js makes.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from db.portal import normal_mac

OCTAL = re.compile(r"\\([0-7]{1,3})")
NAMES = {
    "mac": "mac",
    "ip": "ip",
    "link-login-only": "link_login_only",
    "link-orig": "link_orig",
    "server-name": "server_name",
    "chap-id": "chap_id",
    "chap-challenge": "chap_challenge",
}


class NotFromHotspot(Exception):
    """The request did not come through this hotspot's login page (or was altered)."""


@dataclass(frozen=True)
class Hotspot:
    """Where the customer came from: the router and its login page's variables."""

    router: str
    mac: str | None = None
    ip: str = ""
    link_login_only: str = ""
    link_orig: str = ""
    server_name: str = ""
    chap_id: str = ""
    chap_challenge: str = ""

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)

    @property
    def can_log_in(self) -> bool:
        return bool(self.link_login_only)


def from_query(query: Mapping[str, str], router: str, allowed_hosts: Collection[str]) -> Hotspot:
    """The hotspot variables of a login page's redirect, checked against the router's hosts."""
    values = {field: (query.get(name) or "").strip() for name, field in NAMES.items()}
    mac = normal_mac(values.pop("mac"))
    ip = values.pop("ip")
    if ip:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise NotFromHotspot(f"ip {ip!r}") from None
    link = values["link_login_only"]
    if link and not login_link_allowed(link, allowed_hosts):
        raise NotFromHotspot(f"link-login-only {link!r}")
    if not _web_address(values["link_orig"]):
        values["link_orig"] = ""
    for key in ("chap_id", "chap_challenge", "server_name"):
        values[key] = values[key][:256]
    return Hotspot(router=router, mac=mac, ip=ip, **values)


def login_link_allowed(link: str, allowed_hosts: Collection[str]) -> bool:
    """True when the link is http(s) on one of the hotspot's own hosts."""
    parts = urlsplit(link)
    return parts.scheme in ("http", "https") and (parts.hostname or "") in allowed_hosts


def _web_address(link: str) -> bool:
    return urlsplit(link).scheme in ("http", "https") and len(link) <= 2048


def chap_bytes(text: str) -> bytes:
    """RouterOS's $(chap-id)/$(chap-challenge): octal escapes (\\123) as a JS string reads them."""
    out = bytearray()
    position = 0
    for match in OCTAL.finditer(text):
        out += text[position : match.start()].encode("latin-1", "replace")
        out.append(int(match.group(1), 8) & 0xFF)
        position = match.end()
    out += text[position:].encode("latin-1", "replace")
    return bytes(out)


def chap_response(chap_id: str, password: str, challenge: str) -> str:
    """hexMD5(chap-id + password + chap-challenge), as the hotspot's md5.js computes it."""
    data = chap_bytes(chap_id) + password.encode("latin-1", "replace") + chap_bytes(challenge)
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def login_fields(hotspot: Hotspot, username: str, password: str) -> dict[str, str]:
    """The form the device posts to link-login-only: CHAP when the hotspot gave a challenge."""
    if hotspot.chap_id or hotspot.chap_challenge:
        password = chap_response(hotspot.chap_id, password, hotspot.chap_challenge)
    fields = {"username": username, "password": password, "popup": "false"}
    if hotspot.link_orig:
        fields["dst"] = hotspot.link_orig
    return fields
