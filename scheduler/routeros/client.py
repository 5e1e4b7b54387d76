"""The router client: one persistent RouterOS API session per instance, over librouteros.

librouteros gives the wire protocol and the connection; this module adds, knowing nothing of the
database or of who calls it, what a provisioning queue
needs: a lock around each whole command (the library is not thread-safe), an
explicit connect timeout and a separate command timeout, UTF-8, values kept as the strings the router
sent (no int/bool coercion), the session dropped on any error and reopened on the next use, and every
failure classified as a `RouterError`.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import librouteros
from librouteros.api import Api
from librouteros.exceptions import LibRouterosError

from scheduler.routeros import tls
from scheduler.routeros.errors import (
    Endpoint,
    RouterError,
    RouterTrap,
    command_error,
    connect_error,
)

__all__ = ["Endpoint", "RouterClient", "RouterError"]

Row = dict[str, str]
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


class RouterClient:
    """One persistent, lock-protected API session with one router."""

    def __init__(self, endpoint: Endpoint, settings: ClientSettings | None = None) -> None:
        self.endpoint = endpoint
        self.settings: ClientSettings = settings or DefaultSettings()
        self._lock = threading.RLock()
        self._api: Api | None = None
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

    def connect(self) -> None:
        """Open the session now if it is not open (otherwise the first command opens it)."""
        with self._lock:
            self._session()

    def close(self) -> None:
        """Close the session; the next command opens a new one."""
        with self._lock:
            api, self._api = self._api, None
            if api is not None:
                with contextlib.suppress(OSError):  # already gone; nothing left to release
                    api.close()

    def command(self, command: str, *words: str) -> list[Row]:
        """Run one command with raw API words; returns the !re rows (the !done row is dropped)."""
        return self.exchange(command, *words)[0]

    def exchange(self, command: str, *words: str) -> tuple[list[Row], Row]:
        """Run one command; returns its !re rows and the attributes of its !done."""
        with self._lock:
            api = self._session()
            started = time.perf_counter()
            try:
                api.protocol.writeSentence(command, *words)
                reply = read_reply(api)
                self.round_trip = time.perf_counter() - started
                return reply
            except RouterTrap as trap:
                raise self._error(trap, command) from None
            except FAILURES as exc:
                self.close()
                raise self._error(exc, command) from None

    def stream(self, command: str, *words: str) -> Iterator[Row]:
        """Run one command and yield its rows as they arrive (a large print shows at once).

        The session stays locked until the reply ends; a consumer that stops early drops it,
        since the unread rest of the reply would otherwise answer the next command.
        """
        with self._lock:
            api = self._session()
            finished = False
            try:
                api.protocol.writeSentence(command, *words)
                yield from read_rows(api)
                finished = True
            except RouterTrap as trap:
                finished = True
                raise self._error(trap, command) from None
            except FAILURES as exc:
                raise self._error(exc, command) from None
            finally:
                if not finished:
                    self.close()

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

    def _session(self) -> Api:
        if self._api is None:
            self._api = self._open()
        return self._api

    def _open(self) -> Api:
        point, settings = self.endpoint, self.settings
        wrapper = (
            tls.wrapper(point.host, verify=point.tls_verify, fingerprint=point.tls_fingerprint)
            if point.use_tls
            else None
        )
        started = time.perf_counter()
        try:
            api = librouteros.connect(
                point.host,
                point.username,
                point.password,
                port=point.port,
                timeout=settings.connect_timeout,
                encoding=settings.encoding,
                ssl_wrapper=wrapper,
                login_method=login,
            )
        except (*FAILURES, RouterTrap) as exc:
            raise connect_error(exc, point, settings.connect_timeout) from None
        api.protocol.transport.sock.settimeout(settings.command_timeout)
        self.round_trip = time.perf_counter() - started
        return api

    def _error(self, exc: BaseException, command: str) -> RouterError:
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
            trap = trap or _trap(words)
        elif reply == "!done":
            if trap is not None:
                raise trap
            if done is not None:
                done.update(parse_attributes(words))
            return


def _trap(words: Sequence[str]) -> RouterTrap:
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
