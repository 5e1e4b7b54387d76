"""Serve an ASGI app with uvicorn on a background thread: the callback receiver of `wisp run`,
and the Daraja simulator in tests."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import uvicorn


@dataclass
class Served:
    """A running server: its address and a way to stop it."""

    server: uvicorn.Server
    thread: threading.Thread
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (0 picks a free port).

    Made with its protocol named (IPPROTO_TCP): asyncio turns Nagle's algorithm off on the
    connections it accepts only for such a socket. Left on, every answer, whose headers and body
    uvicorn writes separately, waited for the client's delayed ACK: about 40 ms per request."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve_in_thread(app: Any, host: str = "127.0.0.1", port: int = 0) -> Served:
    """Start `app` on a daemon thread; return once it accepts connections."""
    sock = bind(host, port)
    # A reverse proxy on this host (loopback) tells the caller's address in X-Forwarded-For,
    # which is then the address the allowlist checks; nobody else is believed.
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1,::1",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the HTTP server on {host}:{port} did not start")
        time.sleep(0.01)
    return Served(server, thread, host, sock.getsockname()[1])
