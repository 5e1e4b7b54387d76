"""The router client: one persistent RouterOS API session per instance, over librouteros.

librouteros gives the wire protocol and the connection; this module adds, knowing nothing of the
database or of who calls it, what a provisioning queue
needs: a lock around each whole command (the library is not thread-safe), a deadline for the
connection and login and another for each command (however slowly the bytes trickle in), UTF-8,
values kept as the strings the router sent (no int/bool coercion), the session dropped on any error
and reopened on the next use, every failure classified as a `RouterError`, and a way to cut a
command in flight from another thread (`interrupt`, `abort`) so that nothing waits on a router
that has stopped answering.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from librouteros.api import Api
from librouteros.connections import SocketTransport
from librouteros.exceptions import ConnectionClosed, LibRouterosError
from librouteros.protocol import ApiProtocol

from scheduler.routeros import tls
from scheduler.routeros.errors import (
    Endpoint,
    RouterError,
    RouterTrap,
    abandoned_error,
    command_error,
    connect_error,
)

__all__ = ["Endpoint", "RouterClient", "RouterError"]

Row = dict[str, str]
RECEIVE = 65536
"""Bytes asked of the socket at most per recv (a reply's words are served from them)."""
FAILURES = (OSError, LibRouterosError, UnicodeError, ValueError, IndexError)


class ClientSettings(Protocol):
    """What a session needs to know (the console's [routers] settings have exactly this)."""

    connect_timeout: float
    command_timeout: float
    encoding: str


@dataclass
class DefaultSettings:
    """The defaults of [routers]: 5 s to connect and log in, 10 s per command, UTF-8."""

    connect_timeout: float = 5.0
    command_timeout: float = 10.0
    encoding: str = "utf-8"


class DeadlineTransport(SocketTransport):
    """A socket transport that gives up when a deadline passes, however the bytes trickle in.

    librouteros sets one socket timeout, which a router sending a byte now and then never
    reaches; here every read and write gets only the time left until `deadline`.
    """

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(sock)
        self.deadline: float | None = None
        self._received = bytearray()
        """Bytes a recv brought beyond what was asked: the next reads take them first."""

    def _arm(self) -> None:
        if self.deadline is None:
            return
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the deadline passed")
        self.sock.settimeout(left)

    @property
    def buffered(self) -> int:
        """Bytes received and not yet read (more reply sentences may be waiting in them)."""
        return len(self._received)

    def write(self, data: bytes) -> None:
        self._arm()
        self.sock.sendall(data)

    def read(self, length: int) -> bytes:
        """`length` bytes. librouteros reads a reply a word (and each word's length) at a time,
        so each recv takes whatever has arrived, up to RECEIVE bytes, and later reads are served
        from it: one system call per many words, not two per word."""
        received = self._received
        while len(received) < length:
            self._arm()
            got = self.sock.recv(max(RECEIVE, length - len(received)))
            if not got:
                raise ConnectionClosed("Connection unexpectedly closed.")
            received += got
        data = bytes(received[:length])
        del received[:length]
        return data


@dataclass
class Held:
    """A session held for tagged commands: its protocol and transport (for the deadline)."""

    protocol: ApiProtocol
    transport: DeadlineTransport
    command: str
    """The command a failure of the session is reported against (the oldest one in flight)."""
    round_trip: float = 0.0
    """Seconds the last command answered took, from its sending (0: none answered)."""


class RouterClient:
    """One persistent, lock-protected API session with one router."""

    def __init__(self, endpoint: Endpoint, settings: ClientSettings | None = None) -> None:
        self.endpoint = endpoint
        self.settings: ClientSettings = settings or DefaultSettings()
        self._lock = threading.RLock()
        self._api: Api | None = None
        self._line: socket.socket | None = None
        """A second handle on the connection's socket: cutting it ends a command in flight."""
        self._refusal: str | None = None
        self._severed = False
        self._stopped = False
        self._busy_since: float | None = None
        self.round_trip = 0.0
        """Seconds the last command (or login) took: how far away the router is."""

    @property
    def name(self) -> str:
        """The router's name in the console."""
        return self.endpoint.name

    @property
    def connected(self) -> bool:
        """True while a session is open."""
        return self._api is not None

    def busy_for(self) -> float:
        """Seconds the command (or login) in flight has waited so far; 0 when idle."""
        since = self._busy_since
        return 0.0 if since is None else time.monotonic() - since

    def connect(self) -> None:
        """Open the session now if it is not open (otherwise the first command opens it)."""
        with self._lock, self._busy():
            self._session()

    def close(self) -> None:
        """Close the session; the next command opens a new one."""
        with self._lock:
            self._hang_up()

    def interrupt(self, reason: str) -> None:
        """Cut the command in flight (from any thread) and refuse new ones until `resume`.

        The cut command fails at once with a RouterError saying it was abandoned and why.
        """
        self._refusal = reason
        self._severed = True
        line = self._line
        if line is not None:
            with contextlib.suppress(OSError):  # closed meanwhile: nothing in flight
                line.shutdown(socket.SHUT_RDWR)

    def resume(self) -> None:
        """Accept commands again after `interrupt` (not after `abort`)."""
        if not self._stopped:
            self._refusal = None

    def abort(self, reason: str = "WISP Console is stopping") -> None:
        """`interrupt` for good: this client sends nothing more (safe from a signal handler)."""
        self._stopped = True
        self.interrupt(reason)

    def command(self, command: str, *words: str) -> list[Row]:
        """Run one command with raw API words; returns the !re rows (the !done row is dropped)."""
        return self.exchange(command, *words)[0]

    def exchange(self, command: str, *words: str) -> tuple[list[Row], Row]:
        """Run one command; returns its !re rows and the attributes of its !done.

        The whole reply must arrive within the command timeout (a deadline, not a pause between
        bytes); otherwise the session is dropped and the router reported as not answering.
        """
        with self._lock, self._busy():
            api = self._session(command)
            started = time.monotonic()
            transport = api.protocol.transport
            assert isinstance(transport, DeadlineTransport)
            transport.deadline = started + self.settings.command_timeout
            try:
                api.protocol.writeSentence(command, *words)
                reply = read_reply(api)
                self.round_trip = time.monotonic() - started
                return reply
            except RouterTrap as trap:
                raise self._error(trap, command) from None
            except FAILURES as exc:
                self._hang_up()
                raise self._error(exc, command) from None
            finally:
                transport.deadline = None

    def stream(self, command: str, *words: str) -> Iterator[Row]:
        """Run one command and yield its rows as they arrive (a large print shows at once).

        Each row must come within the command timeout of the one before. The session stays
        locked until the reply ends; a consumer that stops early drops it, since the unread rest
        of the reply would otherwise answer the next command.
        """
        with self._lock, self._busy():
            api = self._session(command)
            transport = api.protocol.transport
            assert isinstance(transport, DeadlineTransport)
            timeout = self.settings.command_timeout
            finished = False
            try:
                transport.deadline = time.monotonic() + timeout
                api.protocol.writeSentence(command, *words)
                for row in read_rows(api):
                    yield row
                    transport.deadline = time.monotonic() + timeout
                    self._busy_since = time.monotonic()
                finished = True
            except RouterTrap as trap:
                finished = True
                raise self._error(trap, command) from None
            except FAILURES as exc:
                raise self._error(exc, command) from None
            finally:
                transport.deadline = None
                if not finished:
                    self._hang_up()

    def print(
        self,
        path: str,
        *,
        where: dict[str, str] | None = None,
        proplist: Sequence[str] | None = None,
    ) -> list[Row]:
        """Print a menu, filtered by equality on `where` and limited to `proplist`."""
        return self.command(f"{path}/print", *print_words(where, proplist))

    def add(self, path: str, values: dict[str, str]) -> str:
        """Add an item; returns its new .id."""
        return self.exchange(f"{path}/add", *attribute_words(values))[1].get("ret", "")

    def set(self, path: str, item_id: str, values: dict[str, str]) -> None:
        """Change properties of one item."""
        self.command(f"{path}/set", f"=.id={item_id}", *attribute_words(values))

    def remove(self, path: str, item_ids: Sequence[str]) -> None:
        """Remove items by .id (one command for all of them)."""
        if item_ids:
            self.command(f"{path}/remove", f"=.id={','.join(item_ids)}")

    def identity(self) -> dict[str, str]:
        """identity, version, uptime and board-name of the router."""
        name = self.print("/system/identity", proplist=("name",))
        resource = self.print("/system/resource", proplist=("version", "uptime", "board-name"))
        info = resource[0] if resource else {}
        return {
            "identity": name[0].get("name", "") if name else "",
            "version": info.get("version", ""),
            "uptime": info.get("uptime", ""),
            "board-name": info.get("board-name", ""),
        }

    @contextlib.contextmanager
    def hold(self, command: str) -> Iterator[Held]:
        """The session (opened if need be), this thread's alone, for a run of tagged commands
        (`scheduler.routeros.pipeline`). A failure of the session inside drops it and comes out
        as one RouterError about `held.command` (abandoned, not answered, connection closed)."""
        with self._lock, self._busy():
            api = self._session(command)
            transport = api.protocol.transport
            assert isinstance(transport, DeadlineTransport)
            held = Held(api.protocol, transport, command)
            try:
                yield held
                self.round_trip = held.round_trip or self.round_trip
            except FAILURES as exc:
                self._hang_up()
                raise self._error(exc, held.command) from None
            finally:
                transport.deadline = None

    def waiting_since(self, since: float) -> None:
        """The oldest command in flight was sent at `since` (`busy_for` counts from it)."""
        self._busy_since = since

    @contextlib.contextmanager
    def _busy(self) -> Iterator[None]:
        self._busy_since = time.monotonic()
        try:
            yield
        finally:
            self._busy_since = None

    def _session(self, command: str = "") -> Api:
        if self._refusal is not None:
            raise abandoned_error(
                self.endpoint, command, self._refusal, connecting=self._api is None
            )
        if self._severed:
            self._hang_up()  # cut by `interrupt`: the next command needs a new session
        if self._api is None:
            self._api = self._open()
        return self._api

    def _open(self) -> Api:
        point, settings = self.endpoint, self.settings
        started = time.monotonic()
        deadline = started + settings.connect_timeout
        self._severed = False
        try:
            sock = self._dial(deadline)
            if point.use_tls:
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
                sock = tls.wrapper(
                    point.host, verify=point.tls_verify, fingerprint=point.tls_fingerprint
                )(sock)
            transport = DeadlineTransport(sock)
            transport.deadline = deadline
            api = Api(ApiProtocol(transport, settings.encoding))
            login(api, point.username, point.password)
        except (*FAILURES, RouterTrap) as exc:
            self._hang_up()
            if self._refusal is not None:
                raise abandoned_error(point, "", self._refusal, connecting=True) from None
            raise connect_error(exc, point, settings.connect_timeout) from None
        transport.deadline = None
        self.round_trip = time.monotonic() - started
        return api

    def _dial(self, deadline: float) -> socket.socket:
        """A TCP connection to the router, which `interrupt` can cut while it is being made."""
        point = self.endpoint
        failure: OSError | None = None
        for family, kind, proto, _, address in socket.getaddrinfo(
            point.host, point.port, type=socket.SOCK_STREAM
        ):
            sock = socket.socket(family, kind, proto)
            self._line = sock.dup()
            if self._refusal is not None:
                sock.close()
                raise ConnectionAbortedError(self._refusal)
            try:
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
                sock.connect(address)
                return sock
            except OSError as exc:
                sock.close()
                self._close_line()
                failure = exc
        raise failure or OSError(f"no address for {point.host}")

    def _hang_up(self) -> None:
        api, self._api = self._api, None
        if api is not None:
            with contextlib.suppress(OSError):  # already gone; nothing left to release
                api.close()
        self._close_line()

    def _close_line(self) -> None:
        line, self._line = self._line, None
        if line is not None:
            with contextlib.suppress(OSError):
                line.close()

    def _error(self, exc: BaseException, command: str) -> RouterError:
        if self._refusal is not None and not isinstance(exc, RouterTrap):
            return abandoned_error(self.endpoint, command, self._refusal)
        return command_error(exc, self.endpoint, command, self.settings.command_timeout)

    def __enter__(self) -> RouterClient:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


def attribute_words(values: dict[str, str]) -> list[str]:
    """=name=value words, values sent exactly as given."""
    return [f"={key}={value}" for key, value in values.items()]


def print_words(where: dict[str, str] | None, proplist: Sequence[str] | None) -> list[str]:
    """.proplist first, then one ?=key=value query word per condition (implicitly ANDed)."""
    words = [f"=.proplist={','.join(proplist)}"] if proplist else []
    words += [f"?={key}={value}" for key, value in (where or {}).items()]
    return words


def parse_attributes(words: Sequence[str]) -> Row:
    """=key=value words as strings (=key alone is an empty value); .tag and the like are left out."""
    row: Row = {}
    for word in words:
        if word.startswith("="):
            key, _, value = word[1:].partition("=")
            row[key] = value
    return row


def read_rows(api: Api, done: Row | None = None) -> Iterator[Row]:
    """Yield !re rows up to !done (whose attributes go to `done`); a !trap raises after !done."""
    trap: RouterTrap | None = None
    while True:
        reply, words = api.protocol.readSentence()
        if reply == "!re":
            yield parse_attributes(words)
        elif reply == "!trap":
            trap = trap or trap_of(words)
        elif reply == "!done":
            if trap is not None:
                raise trap
            if done is not None:
                done.update(parse_attributes(words))
            return


def trap_of(words: Sequence[str]) -> RouterTrap:
    """The RouterTrap of a !trap sentence's words: its message verbatim, its category if any."""
    attributes = parse_attributes(words)
    category = attributes.get("category", "")
    return RouterTrap(attributes.get("message", ""), int(category) if category.isdigit() else None)


def read_reply(api: Api) -> tuple[list[Row], Row]:
    """The !re rows and the !done attributes of one reply; a !trap raises (after !done)."""
    done: Row = {}
    rows = list(read_rows(api, done))
    return rows, done


def login(api: Api, username: str, password: str) -> None:
    """Plain login (6.43+); a router that answers with a challenge gets the MD5 response (pre-6.43)."""
    api.protocol.writeSentence("/login", f"=name={username}", f"=password={password}")
    challenge = read_reply(api)[1].get("ret")
    if challenge:
        response = challenge_response(password, challenge, api.protocol.encoding)
        api.protocol.writeSentence("/login", f"=name={username}", f"=response={response}")
        read_reply(api)


def challenge_response(password: str, challenge: str, encoding: str = "utf-8") -> str:
    """00 + md5(0x00 + password + challenge bytes), as pre-6.43 RouterOS expects."""
    digest = hashlib.md5(
        b"\x00" + password.encode(encoding) + bytes.fromhex(challenge), usedforsecurity=False
    )
    return "00" + digest.hexdigest()
