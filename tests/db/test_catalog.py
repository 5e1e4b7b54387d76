"""Routers, packages and clients: the rules an operator meets when creating them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from db import catalog
from db.catalog import PackageSpec, Refused
from db.engine import session_scope
from db.models import Package, Router
from db.shaping import Shape
from tests import factories


def spec(**overrides) -> PackageSpec:
    values = dict(name="P", type="hotspot", router="r1", price="100", validity="1d", rate="10M")
    values.update(overrides)
    return PackageSpec(**values)


def add(engine, **overrides) -> Package:
    with session_scope(engine) as session:
        return catalog.add_package(session, spec(**overrides))


def test_package_shows_the_rate_limit_string_with_client_upload_first(sqlite_engine):
    factories.router(sqlite_engine)
    package = add(
        sqlite_engine,
        rate="10M",
        upload="2M",
        burst="20M",
        burst_threshold="8M",
        burst_time="10s",
        upload_burst="4M",
        upload_burst_threshold="1500k",
        upload_burst_time="10s",
    )
    assert package.rate_limit == "2M/10M 4M/20M 1500k/8M 10/10"
    assert (package.bandwidth_value, package.bandwidth_unit, package.upload_value) == (
        10,
        "Mbps",
        2,
    )
    assert catalog.package_shape(package) == Shape(
        upload_bps=2_000_000,
        download_bps=10_000_000,
        burst_upload_bps=4_000_000,
        burst_download_bps=20_000_000,
        threshold_upload_bps=1_500_000,
        threshold_download_bps=8_000_000,
        burst_time_upload_s=10,
        burst_time_download_s=10,
    )


def test_seed_style_profile_name(sqlite_engine):
    factories.router(sqlite_engine)
    assert add(sqlite_engine, rate="10M").router_profile == "HOTSPOT_10M_PERSONAL"


def test_profile_name_changes_exactly_when_shaping_changes(sqlite_engine):
    factories.router(sqlite_engine)
    base = add(sqlite_engine, name="a", price="100")
    same_shape = add(sqlite_engine, name="b", price="999", validity="30d")
    faster = add(sqlite_engine, name="c", rate="20M")
    devices = add(sqlite_engine, name="d", devices=3)
    business = add(sqlite_engine, name="e", account_type="business")
    assert base.router_profile == same_shape.router_profile
    assert (
        len(
            {
                base.router_profile,
                faster.router_profile,
                devices.router_profile,
                business.router_profile,
            }
        )
        == 4
    )
    with session_scope(sqlite_engine) as session:
        package = session.get(Package, base.id)
        catalog.apply_shaping(
            package,
            Shape(
                upload_bps=10_000_000,
                download_bps=10_000_000,
                burst_upload_bps=20_000_000,
                burst_download_bps=20_000_000,
                threshold_upload_bps=8_000_000,
                threshold_download_bps=8_000_000,
                burst_time_upload_s=10,
                burst_time_download_s=10,
            ),
        )
        assert package.router_profile != base.router_profile
        assert package.rate_limit == "10M/10M 20M/20M 8M/8M 10/10"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"rate": "fast"}, "fast"),
        ({"rate": "0"}, "rate"),
        ({"burst": "5M", "burst_threshold": "2M", "burst_time": "10s"}, "burst rate"),
        ({"burst": "20M", "burst_threshold": "12M", "burst_time": "10s"}, "threshold"),
        ({"burst": "20M"}, "all three of --burst, --burst-threshold and --burst-time"),
        ({"validity": "0d"}, "validity"),
        ({"validity": "forever"}, "forever"),
        ({"price": "-5"}, "price '-5' must be zero or more"),
        ({"price": "abc"}, "price 'abc' is not a number"),
        ({"type": "pppoe", "devices": 2}, "hotspot packages only"),
        ({"type": "wifi"}, "package type 'wifi' must be hotspot or pppoe"),
        ({"router": "nowhere"}, "there is no router named 'nowhere'"),
        ({"data_limit": "lots"}, "lots"),
    ],
)
def test_invalid_packages_are_refused_with_a_reason(sqlite_engine, overrides, reason):
    factories.router(sqlite_engine)
    with pytest.raises(Refused, match=reason):
        add(sqlite_engine, **overrides)
    with session_scope(sqlite_engine) as session:
        assert session.scalars(select(Package)).all() == []


def test_router_password_is_stored_encrypted_and_read_back(sqlite_engine):
    factories.router(sqlite_engine, password="Tr0ub4dor&3")
    with session_scope(sqlite_engine) as session:
        router = session.scalars(select(Router)).one()
        assert "Tr0ub4dor" not in (router.password_encrypted or "")
        assert catalog.router_password(router) == "Tr0ub4dor&3"


def test_router_password_by_environment_reference(sqlite_engine, monkeypatch):
    with session_scope(sqlite_engine) as session:
        router = catalog.add_router(session, name="r9", host="10.0.0.1", password_env="R9_PASSWORD")
        assert router.password_encrypted is None
        monkeypatch.setenv("R9_PASSWORD", "from-env-pw")
        assert catalog.router_password(router) == "from-env-pw"


def test_duplicate_names_are_refused(sqlite_engine):
    factories.setup(sqlite_engine)
    with pytest.raises(Refused, match="a router named 'r1' already exists"):
        factories.router(sqlite_engine)
    with pytest.raises(Refused, match="a client with username 'jdoe' already exists"):
        factories.client(sqlite_engine)
    with pytest.raises(Refused, match="a package named 'Home 10M' already exists"):
        factories.package(sqlite_engine)


def test_a_name_that_differs_only_by_spaces_is_a_duplicate_not_a_database_error(engine):
    factories.setup(engine)
    with pytest.raises(Refused, match="a router named 'r1' already exists"):
        factories.router(engine, name=" r1 ")
    with pytest.raises(Refused, match="a package named 'Home 10M' already exists"):
        factories.package(engine, "Home 10M ")


def test_client_username_must_be_a_valid_router_login(sqlite_engine):
    with pytest.raises(Refused, match="username 'john doe' must be"):
        factories.client(sqlite_engine, "john doe")
