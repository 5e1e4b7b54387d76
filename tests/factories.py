"""Small factories for test data, going through the same functions the CLI uses."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from db import catalog
from db.config import ActivationSettings, Settings
from db.engine import session_scope
from db.models import Client, Package, Router


def router(
    engine: Engine,
    name: str = "r1",
    *,
    host: str = "127.0.0.1",
    port: int = 8728,
    username: str = "admin",
    password: str = "secret-pw",
) -> Router:
    with session_scope(engine) as session:
        return catalog.add_router(
            session, name=name, host=host, port=port, username=username, password=password
        )


def package(
    engine: Engine,
    name: str = "Home 10M",
    *,
    router: str = "r1",
    type: str = "hotspot",
    rate: str = "10M",
    validity: str = "30d",
    price: str = "1500",
    **extra: object,
) -> Package:
    spec = catalog.PackageSpec(
        name=name, type=type, router=router, price=price, validity=validity, rate=rate, **extra
    )  # type: ignore[arg-type]
    with session_scope(engine) as session:
        return catalog.add_package(session, spec)


def client(
    engine: Engine, username: str = "jdoe", *, full_name: str = "John Doe", **extra: object
) -> Client:
    with session_scope(engine) as session:
        return catalog.add_client(session, username=username, full_name=full_name, **extra)  # type: ignore[arg-type]


def setup(engine: Engine, *, router_port: int = 8728, password: str = "secret-pw") -> None:
    """One router r1, a hotspot package "Home 10M", a PPPoE package "Fibre 20M", client jdoe."""
    router(engine, port=router_port, password=password)
    package(engine)
    package(engine, "Fibre 20M", type="pppoe", rate="20M", upload="10M")
    client(engine)


def clock_from_payment() -> Settings:
    """Settings whose subscriptions start their clock at payment, not at delivery."""
    return Settings(activation=ActivationSettings(validity_starts="payment"))
