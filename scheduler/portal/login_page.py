"""What a router's hotspot needs to send customers to the portal: the `login.html` to upload to
its hotspot directory, and the walled-garden entries that let a device reach the portal (and
Safaricom's M-Pesa pages) before it has logged in."""

from __future__ import annotations

import html
import ipaddress
from urllib.parse import quote, urlsplit

VARIABLES = (
    ("mac", "$(mac-esc)"),
    ("ip", "$(ip)"),
    ("link-login-only", "$(link-login-only-esc)"),
    ("link-orig", "$(link-orig-esc)"),
    ("server-name", "$(server-name)"),
    ("chap-id", "$(chap-id)"),
    ("chap-challenge", "$(chap-challenge)"),
)
"""The hotspot variables the portal reads, URL-escaped by RouterOS (`-esc`) where it can."""
SAFARICOM = ("*.safaricom.co.ke", "*.safaricom.com")
COMMENT = "wisp-console portal"


def portal_link(public_url: str, router: str) -> str:
    """The portal's address with the router's name and RouterOS's variables in its query."""
    base = public_url.rstrip("/") + "/"
    query = "&".join(f"{name}={value}" for name, value in VARIABLES)
    return f"{base}?router={quote(router, safe='')}&{query}"


def login_html(public_url: str, router: str) -> str:
    """The login.html: straight on to the portal, or the router's error with a link to it."""
    link = html.escape(portal_link(public_url, router), quote=True)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
$(if error)$(else)<meta http-equiv="refresh" content="0; url={link}">$(endif)
<title>Internet</title>
</head>
<body style="font-family:sans-serif;text-align:center;padding:24px">
$(if error)<p style="color:#a4161a">$(error)</p>$(endif)
<p><a href="{link}">Buy internet or enter a voucher</a></p>
</body>
</html>
"""


def walled_garden(public_url: str) -> list[str]:
    """RouterOS commands letting a device that has not logged in reach the portal and M-Pesa."""
    host = urlsplit(public_url).hostname or ""
    commands = []
    try:
        ipaddress.ip_address(host)
        commands.append(
            f'/ip hotspot walled-garden ip add action=accept dst-address={host} comment="{COMMENT}"'
        )
    except ValueError:
        commands.append(f'/ip hotspot walled-garden add dst-host={host} comment="{COMMENT}"')
    commands += [
        f'/ip hotspot walled-garden add dst-host={name} comment="{COMMENT}"' for name in SAFARICOM
    ]
    return commands
