"""`wisp sim --hotspot-portal URL`: the simulated router's hotspot login page sends a device to
the portal with the hotspot's variables, as a router with the uploaded login.html does."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import httpx


def test_wisp_sim_serves_the_hotspot_login_page_redirecting_to_the_portal() -> None:
    portal = "http://127.0.0.1:9/portal/"
    command = [sys.executable, "-m", "console.cli", "sim", "--port", "0", "--password", "pw"]
    process = subprocess.Popen(
        [*command, "--hotspot-portal", portal], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline(), process.stdout.readline()]
        [login] = re.findall(r"hotspot login page on (\S+)", "".join(lines))
        answer = httpx.get(f"{login}?mac=aa:bb:cc:00:00:01&ip=10.5.50.9&dst=http://x.test/")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(portal)
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert (query["mac"], query["ip"], query["link-orig"]) == (
        "AA:BB:CC:00:00:01",
        "10.5.50.9",
        "http://x.test/",
    )
    assert query["link-login-only"].startswith(f"{login}?ticket=")
    assert re.fullmatch(r"(\\[0-7]{3})+", query["chap-challenge"])
