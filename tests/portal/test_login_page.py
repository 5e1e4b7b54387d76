"""`wisp portal login-page ROUTER`: the login.html a router's hotspot serves, filled in as
RouterOS fills it, brings the phone to the portal's packages; and the walled garden."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from urllib.parse import quote

from tests.cli.conftest import Wisp
from tests.portal.conftest import Shop


def filled(page: str, values: dict[str, str]) -> str:
    """The page as the router serves it: no error, each $(variable) replaced."""
    page = page.replace("$(if error)$(else)", "").replace("$(endif)", "")
    page = re.sub(r"\$\(if error\).*?(?=\n)", "", page)
    return re.sub(r"\$\(([a-z-]+)\)", lambda m: values.get(m.group(1), ""), page)


def test_the_login_page_sends_the_phone_to_the_portal_with_the_hotspot_variables(
    sqlite_shop: Shop, tmp_path: Path
) -> None:
    shop = sqlite_shop
    config = tmp_path / "config.toml"
    url = shop.engine.url.render_as_string(hide_password=False)
    config.write_text(
        f"[database]\nurl = {json.dumps(url)}\n[portal]\npublic_url = {json.dumps(shop.portal_url)}\n"
    )
    result = Wisp(config).ok("portal", "login-page", "r1")
    assert result.out.startswith("<!doctype html>")
    assert "$(mac-esc)" in result.out and "$(link-login-only-esc)" in result.out
    assert result.err.splitlines()[1:] == [
        '/ip hotspot walled-garden ip add action=accept dst-address=127.0.0.1 comment="wisp-console portal"',
        '/ip hotspot walled-garden add dst-host=*.safaricom.co.ke comment="wisp-console portal"',
        '/ip hotspot walled-garden add dst-host=*.safaricom.com comment="wisp-console portal"',
    ]
    login = f"{shop.hotspot.base_url}/login"
    served = filled(
        result.out,
        {
            "mac-esc": quote("AA:BB:CC:00:00:09", safe=""),
            "ip": "10.5.50.30",
            "link-login-only-esc": quote(login, safe=""),
            "link-orig-esc": quote("http://example.com/?a=1&b=2", safe=""),
            "server-name": "hotspot1",
            "chap-id": "\\355",
            "chap-challenge": "\\123\\045",
        },
    )
    [refresh] = re.findall(r'http-equiv="refresh" content="0; url=([^"]+)"', served)
    phone, _ = shop.walk_in("AA:BB:CC:00:00:09")
    page = phone.get(html.unescape(refresh))
    assert page.status == 200 and "Day 5 Mbps · 1 day KSh 50" in page.text


def test_a_login_link_to_another_host_is_refused(sqlite_shop: Shop) -> None:
    link = quote("http://evil.example/login", safe="")
    phone, _ = sqlite_shop.walk_in("AA:BB:CC:00:00:09")
    page = phone.get(
        f"{sqlite_shop.portal_url}?router=r1&mac=AA:BB:CC:00:00:09&link-login-only={link}"
    )
    assert page.status == 400
    assert page.text.startswith("Open this page from the hotspot's login page")


def test_login_page_without_a_public_url_is_one_sentence(sqlite_shop: Shop, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    url = sqlite_shop.engine.url.render_as_string(hide_password=False)
    config.write_text(f"[database]\nurl = {json.dumps(url)}\n")
    result = Wisp(config)("portal", "login-page", "r1")
    assert result.code != 0
    assert "set portal.public_url to the address phones reach the portal at" in result.err
