"""Router errors in words an operator can act on: unreachable, login refused, trap, timeout, TLS.

librouteros does not wrap socket errors (they arrive as OSError, TimeoutError, ssl.SSLError), so
every failure is sorted here, once, into a `RouterError` sentence that names the router. Secrets
never appear: messages are built from the endpoint's name, host, port and user only.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass, field
from enum import StrEnum

from librouteros.exceptions import ConnectionClosed, FatalError, LibRouterosError


class Kind(StrEnum):
    """What kind of failure a router error is."""

    UNREACHABLE = "unreachable"
    AUTH = "auth"
    TRAP = "trap"
    TIMEOUT = "timeout"
    TLS = "tls"


KINDS = tuple(Kind)


class RouterError(Exception):
    """A router could not do what was asked, told in one sentence.

    `kind` is one of unreachable, auth, trap, timeout, tls. For a trap, str(err) is the router's
    own message, verbatim. `connecting` is true when the error happened before the session was
    usable (connect, TLS or login): such a router is paused, not its jobs failed.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        router: str = "",
        command: str = "",
        connecting: bool = False,
        category: int | None = None,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"router error kind {kind!r} is not one of {', '.join(KINDS)}")
        super().__init__(message)
        self.kind = Kind(kind)
        self.router = router
        self.command = command
        self.connecting = connecting
        self.category = category

    @property
    def pauses_router(self) -> bool:
        """True when the router, not this job, is at fault: its jobs wait without spending attempts.

        A command left unanswered is the router's fault too: a router that logged in and then
        says nothing (a stuck API service, a congested link) is away, whatever the job asked.
        """
        return self.connecting or self.kind in (Kind.UNREACHABLE, Kind.AUTH, Kind.TLS, Kind.TIMEOUT)


class RouterTrap(LibRouterosError):
    """A !trap reply, read without librouteros' value coercion."""

    def __init__(self, message: str, category: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.category = category


@dataclass(frozen=True)
class Endpoint:
    """How to reach one router. The password never appears in repr()."""

    name: str
    host: str
    port: int
    username: str
    password: str = field(repr=False, default="")
    use_tls: bool = False
    tls_verify: bool = True
    tls_fingerprint: str | None = None

    @property
    def address(self) -> str:
        """host:port as an operator writes it."""
        return f"{self.host}:{self.port}"


def connect_error(exc: BaseException, endpoint: Endpoint, timeout: float) -> RouterError:
    """Classify a failure while connecting, negotiating TLS or logging in."""
    where = f"router {endpoint.name} ({endpoint.address})"
    if isinstance(exc, RouterTrap):
        return RouterError(
            f"{where} refused the login of user {endpoint.username}: {exc.message}",
            kind=Kind.AUTH,
            router=endpoint.name,
            command="/login",
            connecting=True,
            category=exc.category,
        )
    if isinstance(exc, UnicodeError):
        # Only the login words are encoded here: the text of the error would show the password.
        return RouterError(
            f"{where}: the login of user {endpoint.username} cannot be sent in the configured "
            "encoding (the user name or password holds a character it lacks)",
            kind=Kind.AUTH,
            router=endpoint.name,
            command="/login",
            connecting=True,
        )
    error = _connect_error_text(exc, endpoint, where, timeout)
    return RouterError(error[1], kind=error[0], router=endpoint.name, connecting=True)


def _connect_error_text(
    exc: BaseException, endpoint: Endpoint, where: str, timeout: float
) -> tuple[str, str]:
    if isinstance(exc, socket.gaierror):
        return "unreachable", (
            f"router {endpoint.name}: the host name {endpoint.host} cannot be resolved "
            f"({exc.strerror or exc})"
        )
    if isinstance(exc, ConnectionRefusedError):
        return (
            "unreachable",
            f"{where} refused the connection: the API service is off or the port is closed",
        )
    if isinstance(exc, TimeoutError):
        return "unreachable", (
            f"{where} did not answer within {timeout:g} s: the router is down or a firewall drops the port"
        )
    if isinstance(exc, ssl.SSLError):
        return "tls", f"{where}: the TLS handshake failed ({_ssl_reason(exc)})"
    if isinstance(exc, FatalError | ConnectionClosed | ConnectionError):
        return "unreachable", f"{where} closed the connection during login ({_reason(exc)})"
    if isinstance(exc, OSError):
        return "unreachable", f"{where} cannot be reached: {exc.strerror or exc}"
    return "unreachable", f"{where} answered the login with something unexpected ({_reason(exc)})"


def command_error(
    exc: BaseException, endpoint: Endpoint, command: str, timeout: float
) -> RouterError:
    """Classify a failure of one command on an open session."""
    name = endpoint.name

    def failed(message: str, kind: Kind, category: int | None = None) -> RouterError:
        return RouterError(message, kind=kind, router=name, command=command, category=category)

    if isinstance(exc, RouterTrap):
        return failed(exc.message, Kind.TRAP, exc.category)
    if isinstance(exc, TimeoutError):
        return failed(
            f"router {name} ({endpoint.address}) logged in but did not answer {command} within "
            f"{timeout:g} s (its API service is stuck or the link is congested); the connection "
            "was dropped",
            Kind.TIMEOUT,
        )
    if isinstance(exc, UnicodeError):
        reason = getattr(exc, "reason", exc)
        return failed(
            f"router {name}: {command} holds text that cannot be sent in this encoding ({reason})",
            Kind.TRAP,
        )
    return failed(
        f"router {name} ({endpoint.address}) closed the connection during {command} ({_reason(exc)})",
        Kind.UNREACHABLE,
    )


def abandoned_error(
    endpoint: Endpoint, command: str, reason: str, *, connecting: bool = False
) -> RouterError:
    """A command (or login) cut short by the console itself: stopping, or the router found away."""
    what = command or "the login"
    return RouterError(
        f"router {endpoint.name}: {what} was abandoned ({reason})",
        kind=Kind.UNREACHABLE,
        router=endpoint.name,
        command=command,
        connecting=connecting,
    )


def _ssl_reason(exc: ssl.SSLError) -> str:
    return str(getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or exc)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__
