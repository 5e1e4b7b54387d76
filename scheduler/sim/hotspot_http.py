"""The simulated router's hotspot login page over HTTP, so that a walk-in customer's whole path
runs on one machine: GET /login sends the browser to the portal with the hotspot's variables, as
an uploaded login.html does; POST /login checks the user (PAP, or CHAP against the challenge it
gave) and the MAC binding, opens the hotspot session and sends the browser on to `dst`.

A real router knows the device's MAC and address from the network; here they come as query
parameters of GET /login (`mac`, `ip`), and the login link handed to the portal carries a ticket
that brings them back with the post.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from scheduler.mpesa.serving import Served, serve_in_thread
from scheduler.sim.router import SimRouter
from scheduler.sim.sessions import HOTSPOT_USER, SessionRefused

SERVER_NAME = "hotspot1"


@dataclass(frozen=True)
class Ticket:
    """One device sent to the portal: who it is, and the CHAP challenge it was given."""

    mac: str
    ip: str
    chap_id: bytes
    challenge: bytes


def octal(data: bytes) -> str:
    """Bytes as RouterOS prints $(chap-id) and $(chap-challenge): \\ooo each."""
    return "".join(f"\\{byte:03o}" for byte in data)


class HotspotLogin:
    """The login page of one simulated router's hotspot."""

    def __init__(self, router: SimRouter, portal_url: str, *, chap: bool = True) -> None:
        self.router = router
        self.portal_url = portal_url
        self.chap = chap
        self.base_url = ""
        """Where this page is served (set once it listens): the hotspot's login link."""
        self.logins: list[dict[str, str]] = []
        """Every accepted login: user, mac, ip, login-by."""
        self._tickets: dict[str, Ticket] = {}
        self._lock = threading.Lock()

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/login", self.redirect, methods=["GET"]),
                Route("/login", self.login, methods=["POST"]),
            ]
        )

    async def redirect(self, request: Request) -> Response:
        query = request.query_params
        ticket = Ticket(
            mac=query.get("mac", "02:00:00:00:00:01").upper(),
            ip=query.get("ip", "10.5.50.10"),
            chap_id=secrets.token_bytes(1) if self.chap else b"",
            challenge=secrets.token_bytes(16) if self.chap else b"",
        )
        name = secrets.token_urlsafe(12)
        with self._lock:
            self._tickets[name] = ticket
        variables = {
            "mac": ticket.mac,
            "ip": ticket.ip,
            "link-login-only": f"{self.base_url}/login?ticket={name}",
            "link-orig": query.get("dst", "http://example.com/"),
            "server-name": SERVER_NAME,
        }
        if self.chap:
            variables["chap-id"] = octal(ticket.chap_id)
            variables["chap-challenge"] = octal(ticket.challenge)
        if "router" in query:
            variables["router"] = query["router"]
        return RedirectResponse(f"{self.portal_url}?{urlencode(variables)}", status_code=302)

    async def login(self, request: Request) -> Response:
        with self._lock:
            ticket = self._tickets.get(request.query_params.get("ticket", ""))
        if ticket is None:
            return _refused("no such login session")
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        user = form.get("username", "")
        try:
            login_by = self._check(ticket, user, form.get("password", ""))
            self.router.sessions.login_hotspot(user, ticket.mac, ticket.ip)
        except SessionRefused as refused:
            return _refused(str(refused))
        with self._lock:
            self.logins.append({"user": user, "mac": ticket.mac, "ip": ticket.ip, "by": login_by})
        return RedirectResponse(form.get("dst") or "http://example.com/", status_code=302)

    def _check(self, ticket: Ticket, user: str, password: str) -> str:
        """How the user logs in (http-chap or http-pap), or SessionRefused as the router words it."""
        found = next((u for u in self.router.rows(HOTSPOT_USER) if u.get("name") == user), None)
        if found is None or found.get("disabled") == "true":
            raise SessionRefused("invalid username or password")
        stored = found.get("password", "")
        if self.chap:
            digest = hashlib.md5(
                ticket.chap_id + stored.encode("latin-1", "replace") + ticket.challenge,
                usedforsecurity=False,
            ).hexdigest()
            if password != digest:
                raise SessionRefused("invalid username or password")
        elif password != stored:
            raise SessionRefused("invalid username or password")
        bound = found.get("mac-address", "")
        if bound and bound.upper() != ticket.mac:
            raise SessionRefused("your MAC address is not allowed for this user")
        return "http-chap" if self.chap else "http-pap"


def _refused(why: str) -> Response:
    return HTMLResponse(f"<!doctype html><p>{why}</p>", status_code=200)


def serve_hotspot_login(
    router: SimRouter, portal_url: str, *, chap: bool = True, host: str = "127.0.0.1", port: int = 0
) -> tuple[HotspotLogin, Served]:
    """The router's hotspot login page on a thread; stop it with `.stop()` of the second value."""
    page = HotspotLogin(router, portal_url, chap=chap)
    served = serve_in_thread(page.app(), host, port)
    page.base_url = served.url
    return page, served


def serve_for_cli(router: SimRouter, portal_url: str, host: str) -> Served:
    """`wisp sim --hotspot-portal URL`: the login page on a free port, its address printed."""
    page, served = serve_hotspot_login(router, portal_url, host=host)
    print(
        f"hotspot login page on {page.base_url}/login (?mac=...&ip=... stand for the device), "
        f"sending devices to {portal_url}",
        flush=True,
    )
    return served
