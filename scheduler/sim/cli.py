"""`wisp sim`: run a simulated router in the foreground until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import errno
import re
import secrets
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scheduler.sim.faults import EVERY_COMMAND, Faults

if TYPE_CHECKING:
    from scheduler.mpesa.serving import Served
    from scheduler.sim.router import SimRouter

VERSIONS = ("7.18.2", "7.10", "6.45.1", "6.43", "6.33.3")
DESCRIPTION = "A RouterOS API server on loopback that real API clients cannot tell from a router."
"""What `wisp sim --help` and `python -m scheduler.sim --help` say the simulator is."""


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the options of `wisp sim` to parser."""
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (loopback by default)"
    )
    parser.add_argument("--port", type=int, default=8728, help="API port (0 picks a free one)")
    parser.add_argument("--user", default="admin", help="API user name")
    parser.add_argument("--password", default=None, help="API password (generated when omitted)")
    parser.add_argument(
        "--ros-version",
        default="7.18.2",
        choices=VERSIONS,
        help="RouterOS version to behave as (login style, !empty, dates)",
    )
    parser.add_argument("--tls", action="store_true", help="also serve api-ssl")
    parser.add_argument("--tls-port", type=int, default=8729, help="api-ssl port")
    parser.add_argument(
        "--tls-mode",
        default="cert",
        choices=("cert", "adh"),
        help="self-signed certificate, or anonymous Diffie-Hellman",
    )
    parser.add_argument(
        "--seed-users", type=int, default=0, metavar="N", help="add N realistic hotspot users"
    )
    parser.add_argument(
        "--seed-mikhmon",
        type=int,
        default=0,
        metavar="N",
        help="leave the router as Mikhmon would: its priced profiles and N vouchers in batches "
        "(vc-/up- comments), some unused, some in use with the expiry their first login wrote, "
        "some expired",
    )
    parser.add_argument(
        "--state",
        default=None,
        metavar="FILE",
        help="load configuration from FILE and save it on exit",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        type=fault,
        metavar="FAULT",
        help="misbehave like a troubled router (repeatable): "
        "hang-after-login (answer the login, then nothing: a stuck API service); "
        "half-open (accept connections, answer nothing, not even the login); "
        "drop[:N] (cut each connection after N reply sentences, 1 by default: right after the "
        "login); refuse-logins (every login fails as with a wrong password); "
        "trap:MESSAGE (every command answers !trap MESSAGE) or trap:/COMMAND:MESSAGE (that "
        "command only, e.g. trap:/ip/hotspot/user/add:failure: out of memory)",
    )
    parser.add_argument(
        "--latency",
        type=duration,
        default=0.0,
        metavar="TIME",
        help="delay before each answer, e.g. 50ms or 1.5s (a far radio link)",
    )
    parser.add_argument(
        "--max-sessions",
        type=int,
        default=None,
        metavar="N",
        help="API sessions open at once; more are closed when accepted (default 100)",
    )
    parser.add_argument(
        "--idle-timeout",
        type=duration,
        default=600.0,
        metavar="TIME",
        help="close a session that sends nothing for this long (default 10m, 0: never; one that "
        "has not logged in, after 30s)",
    )
    parser.add_argument(
        "--online",
        action="append",
        default=[],
        metavar="USER",
        help="log this hotspot user in at start (repeatable; API clients can use "
        "/ip/hotspot/active/login while it runs)",
    )
    parser.add_argument(
        "--hotspot-portal",
        default=None,
        metavar="URL",
        help="also serve the hotspot's login page over HTTP (a free port, printed), sending "
        "devices to the captive portal at URL and taking their logins",
    )


def _hotspot_page(router: SimRouter, args: argparse.Namespace) -> Served | None:
    if not args.hotspot_portal:
        return None
    from scheduler.sim.hotspot_http import serve_for_cli

    return serve_for_cli(router, args.hotspot_portal, args.host)


def duration(text: str) -> float:
    """Seconds from 50ms, 1.5s, 2m or a bare number of seconds."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m)?\s*", text)
    if found is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time such as 50ms, 2s or 1m")
    value = float(found.group(1))
    return value * {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}[found.group(2)]


@dataclass(frozen=True)
class FaultSwitch:
    """A --fault as given, and what it switches on."""

    text: str
    apply: Callable[[Faults], None]

    def __call__(self, faults: Faults) -> None:
        self.apply(faults)


def fault(text: str) -> FaultSwitch:
    """The switch a --fault value turns on (an argparse type: a wrong one is a usage error)."""
    name, _, detail = text.partition(":")
    if name == "trap" and detail:
        command, message = EVERY_COMMAND, detail
        if detail.startswith("/") and ":" in detail:
            command, _, message = detail.partition(":")
        return FaultSwitch(text, lambda faults: faults.trap(command, message))
    if name == "drop":
        count = detail or "1"
        if not count.isdigit():
            raise argparse.ArgumentTypeError(f"drop:{count}: N must be a whole number")
        return FaultSwitch(text, lambda faults: setattr(faults, "drop_after_sentences", int(count)))
    switches = {
        "hang-after-login": "hang_after_login",
        "half-open": "half_open",
        "refuse-logins": "refuse_logins",
    }
    if name in switches and not detail:
        return FaultSwitch(text, lambda faults: setattr(faults, switches[name], True))
    raise argparse.ArgumentTypeError(
        f"unknown fault {text!r} (known: hang-after-login, half-open, drop[:N], refuse-logins, "
        "trap:MESSAGE, trap:/COMMAND:MESSAGE)"
    )


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; returns the exit code."""
    from scheduler.sim.behaviour import Behaviour
    from scheduler.sim.router import SimRouter

    generated = args.password is None
    password = secrets.token_urlsafe(9) if generated else args.password
    behaviour = Behaviour.for_version(args.ros_version)
    if args.max_sessions is not None:
        behaviour.max_sessions = args.max_sessions
    behaviour.idle_timeout = args.idle_timeout or None
    router = SimRouter(
        host=args.host,
        port=args.port,
        username=args.user,
        password=password,
        ros_version=args.ros_version,
        tls=args.tls,
        tls_port=args.tls_port if args.tls else None,
        tls_mode=args.tls_mode,
        seed_users=args.seed_users,
        seed_mikhmon=args.seed_mikhmon,
        state_file=args.state,
        behaviour=behaviour,
    )
    router.faults.latency = args.latency
    for switch in args.fault:
        switch(router.faults)
    try:
        router.start()
    except OSError as exc:
        print(_bind_error(args, exc), file=sys.stderr)
        return 1
    refused = _log_in(router, args.online)
    if refused:
        print(f"wisp sim: {refused}", file=sys.stderr)
        router.stop()
        return 1
    stop = _stop_on_signal()  # before the banner: whoever reads it may signal at once
    print(_banner(router, args, password if generated else None), flush=True)
    login_page = _hotspot_page(router, args)
    while not stop.wait(0.5):
        pass
    if login_page is not None:
        login_page.stop()
    router.stop()
    return 0


def _log_in(router: SimRouter, users: list[str]) -> str | None:
    """Log the --online users in; the reason of the first refusal, if any."""
    from scheduler.sim.sessions import SessionRefused

    for user in users:
        # The router tells a customer only "invalid username or password"; the lab owner is told why.
        found = [row for row in router.rows("/ip/hotspot/user") if row.get("name") == user]
        if not found:
            return f"hotspot user {user!r} cannot log in: there is no such user on this router."
        if found[0].get("disabled") == "true":
            return f"hotspot user {user!r} cannot log in: the user is disabled on this router."
        try:
            router.sessions.login_hotspot(user)
        except SessionRefused as refused:
            return f"hotspot user {user!r} cannot log in: {refused}."
    return None


def _banner(router: SimRouter, args: argparse.Namespace, shown_password: str | None) -> str:
    where = f"api://{router.host}:{router.port}"
    if router.tls_port is not None:
        where += f" and api-ssl://{router.host}:{router.tls_port} ({args.tls_mode})"
    credentials = f"user {args.user}"
    if shown_password is not None:
        credentials += f", generated password {shown_password}"
    faults = [f"latency {args.latency:g} s"] if args.latency else []
    faults += [switch.text for switch in args.fault]
    shown = f"; faults: {', '.join(faults)}" if faults else ""
    return f"RouterOS {args.ros_version} simulator listening on {where}, {credentials}{shown}"


def _bind_error(args: argparse.Namespace, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        ports = f"{args.port}" + (f" or {args.tls_port}" if args.tls else "")
        return (
            f"wisp sim: port {ports} on {args.host} is already in use; choose another with --port."
        )
    return f"wisp sim: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}."


def _stop_on_signal() -> threading.Event:
    """An event that SIGINT or SIGTERM sets."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop
