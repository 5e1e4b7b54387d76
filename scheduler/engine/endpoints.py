"""From a stored router to a router client: its endpoint, with the API password decrypted."""

from __future__ import annotations

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


def client_for(router: Router, settings: RouterSettings) -> RouterClient:
    """A client for a stored router (its API password decrypted, never logged)."""
    return RouterClient(endpoint_of(router), settings)
