"""From a stored router to a router client: its endpoint, with the API password decrypted."""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Iterator

from db import catalog
from db.config import RouterSettings
from db.models import Router
from db.secrets import SecretError
from scheduler.routeros.client import RouterClient
from scheduler.routeros.errors import Endpoint, Kind, RouterError


def endpoint_of(router: Router) -> Endpoint:
    """The endpoint of a stored router, its password decrypted (or read from the environment).

    A password that cannot be read is the router's login problem, reported as such.
    """
    try:
        password = catalog.router_password(router)
    except SecretError as error:
        raise RouterError(
            f"router {router.name}: {error}", kind=Kind.AUTH, router=router.name, connecting=True
        ) from None
    return Endpoint(
        name=router.name,
        host=router.host,
        port=router.port,
        username=router.username,
        password=password,
        use_tls=router.use_tls,
        tls_verify=router.tls_verify,
        tls_fingerprint=router.tls_fingerprint,
    )


class Sessions:
    """The router clients opened by the jobs of one service, so that stopping it cuts them all."""

    def __init__(self) -> None:
        self._clients: weakref.WeakSet[RouterClient] = weakref.WeakSet()
        self._stopped: str | None = None
        self._lock = threading.Lock()

    def add(self, client: RouterClient) -> None:
        """Keep the client (aborted at once when the service is already stopping)."""
        with self._lock:
            self._clients.add(client)
        if self._stopped is not None:
            client.abort(self._stopped)

    def abort(self, reason: str) -> None:
        """Cut every command in flight on these clients, and on any opened from now on."""
        self._stopped = reason
        with self._lock:
            clients = list(self._clients)
        for client in clients:
            client.abort(reason)


_opening = threading.local()


@contextlib.contextmanager
def opened_for(sessions: Sessions) -> Iterator[None]:
    """Clients made by `client_for` in this thread meanwhile belong to `sessions`."""
    previous = getattr(_opening, "sessions", None)
    _opening.sessions = sessions
    try:
        yield
    finally:
        _opening.sessions = previous


def client_for(router: Router, settings: RouterSettings) -> RouterClient:
    """A client for a stored router (its API password decrypted, never logged)."""
    client = RouterClient(endpoint_of(router), settings)
    sessions: Sessions | None = getattr(_opening, "sessions", None)
    if sessions is not None:
        sessions.add(client)
    return client
