"""A package's router profile name stands for one shape per router and service, and is never the
name of a profile on the router that is not ours: a clash gets a deterministic suffix, said why."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from db import catalog
from db.catalog import PackageSpec
from db.engine import session_scope
from db.profiles import record_profile
from db.types import utcnow
from tests import factories

HOME = "HOTSPOT_10M_PERSONAL"


def spec(name: str, **overrides: object) -> PackageSpec:
    values: dict[str, object] = dict(
        name=name, type="hotspot", router="r1", price="100", validity="30d", rate="10M"
    )
    values.update(overrides)
    return PackageSpec(**values)  # type: ignore[arg-type]


def create(
    engine: Engine,
    name: str,
    on_router: dict[str, dict[str, str]] | None = None,
    **overrides: object,
) -> catalog.NewPackage:
    with session_scope(engine) as session:
        return catalog.create_package(session, spec(name, **overrides), on_router=on_router)


def imported_home(engine: Engine) -> None:
    """What `wisp import` leaves: a package keeping the router's own name for a 5M/10M profile."""
    with session_scope(engine) as session:
        package = catalog.add_package(session, spec("HOTSPOT_10M_PERSONAL", upload="5M"))
        package.router_profile, package.imported_at = HOME, utcnow()
        session.add(package)


def test_a_package_shaped_unlike_an_imported_profile_of_its_name_gets_a_suffix(engine):
    factories.router(engine)
    imported_home(engine)
    added = create(engine, "Home 10M")
    assert added.package.router_profile == f"{HOME}_WC"
    assert added.profile_note == (
        f"profile {HOME}_WC instead of {HOME}: package 'HOTSPOT_10M_PERSONAL' of router r1 "
        f"already uses {HOME} with rate-limit 5M/10M, 1 device(s)"
    )


def test_same_inputs_give_the_same_name_and_packages_of_one_shape_share_it(engine):
    factories.router(engine)
    imported_home(engine)
    first = create(engine, "Home 10M").package.router_profile
    second = create(engine, "Home 10M promo", price="900", validity="7d").package.router_profile
    assert first == second == f"{HOME}_WC"
    other = create(engine, "Home 10M x2", devices=2).package.router_profile
    assert other == "HOTSPOT_10M_PERSONAL_2DEV"


def test_a_router_profile_that_is_not_ours_is_never_the_name_even_when_it_shapes_alike(engine):
    factories.router(engine)
    on_router = {
        HOME: {"name": HOME, "rate-limit": "10M/10M"},
        f"{HOME}_WC": {"name": f"{HOME}_WC", "rate-limit": "1M/1M"},
    }
    added = create(engine, "Home 10M", on_router)
    assert added.package.router_profile == f"{HOME}_WC2"
    assert added.profile_note is not None
    assert f"router r1 already has a hotspot profile {HOME} (rate-limit 10M/10M)" in (
        added.profile_note
    )
    assert f"profile {HOME}_WC (rate-limit 1M/1M)" in added.profile_note


def test_a_router_profile_that_is_ours_keeps_its_name(engine):
    router = factories.router(engine)
    record_profile(engine, router_id=router.id or 0, service="hotspot", name=HOME)
    added = create(engine, "Home 10M", {HOME: {"name": HOME, "rate-limit": "5M/5M"}})
    assert (added.package.router_profile, added.profile_note) == (HOME, None)


def test_hotspot_and_ppp_profiles_are_separate_names_and_other_routers_do_not_count(engine):
    factories.router(engine)
    factories.router(engine, "r2")
    imported_home(engine)
    ppp = create(engine, "Fibre", type="pppoe", on_router={"PPPOE_10M_PERSONAL": {}})
    assert ppp.package.router_profile == "PPPOE_10M_PERSONAL_WC"
    elsewhere = create(engine, "Home r2", router="r2")
    assert (elsewhere.package.router_profile, elsewhere.profile_note) == (HOME, None)
