"""Fixtures: a started simulator per test and the two independent PyPI clients connected to it.

The raw helpers encode with librouteros and decode with routeros-api, so wire-level checks
never rely on the simulator's own codec.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import librouteros
import pytest
import routeros_api
from librouteros.protocol import encode_sentence
from routeros_api.base_api import decode_length

from scheduler.sim import SimRouter


@pytest.fixture
def router() -> Iterator[SimRouter]:
    with SimRouter(password="secret") as sim:
        yield sim


@pytest.fixture
def api(router: SimRouter) -> Iterator[librouteros.api.Api]:
    connection = librouteros.connect(
        "127.0.0.1", "admin", "secret", port=router.port, timeout=5, encoding="utf-8"
    )
    yield connection
    connection.close()


@pytest.fixture
def ra(router: SimRouter) -> Iterator[routeros_api.api.RouterOsApi]:
    pool = routeros_api.RouterOsApiPool(
        "127.0.0.1", username="admin", password="secret", port=router.port, plaintext_login=True
    )
    yield pool.get_api()
    pool.disconnect()


class RawClient:
    """A bare socket speaking the wire protocol, for checks the libraries hide."""

    def __init__(self, port: int, timeout: float = 5) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)

    def send(self, *words: str) -> None:
        self.sock.sendall(encode_sentence(*words, encoding="utf-8"))

    def send_bytes(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _read(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def sentence(self) -> list[str]:
        words = []
        while True:
            length = decode_length(self._read)
            if length == 0:
                return words
            words.append(self._read(length).decode("utf-8"))

    def until_done(self) -> list[list[str]]:
        sentences = []
        while True:
            sentences.append(self.sentence())
            if sentences[-1][0] in ("!done", "!fatal"):
                return sentences

    def login(self, user: str = "admin", password: str = "secret") -> None:
        self.send("/login", f"=name={user}", f"=password={password}")
        assert self.until_done() == [["!done"]]

    def closed(self) -> bool:
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, TimeoutError):
            return True

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def raw(router: SimRouter) -> Iterator[RawClient]:
    client = RawClient(router.port)
    client.login()
    yield client
    client.close()
