"""`wisp demo`'s world: a fresh database beside simulated routers, removed on close."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session

from console.demo import ACTIVATIONS, CLIENTS, PACKAGES, ROUTERS, start_demo
from db.models import Client, Package, Router, RouterProvisioning


def test_demo_builds_routers_packages_clients_and_queued_activations(tmp_path) -> None:  # type: ignore[no-untyped-def]
    demo = start_demo(tmp_path / "demo")
    try:
        with Session(demo.engine) as session:
            assert session.scalar(select(func.count()).select_from(Router)) == len(ROUTERS)
            assert session.scalar(select(func.count()).select_from(Package)) == len(PACKAGES)
            assert session.scalar(select(func.count()).select_from(Client)) == len(CLIENTS)
            jobs = session.scalars(select(RouterProvisioning.status)).all()
        assert len(jobs) == len(ACTIVATIONS) and set(jobs) == {"pending"}
        online = demo.fleet["nairobi-cbd"].rows("/ip/hotspot/active")
        assert online, "some users are already online"
    finally:
        demo.close()
    assert not (tmp_path / "demo").exists()
