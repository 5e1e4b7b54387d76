"""Import reads shapes back exactly (or refuses), and reads expiry dates only in known formats."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from db.catalog import apply_shaping, package_shape
from db.models import Package
from db.shaping import ShapeError, build_rate_limit
from scheduler.reconcile.comment_dates import FORMATS, expiry_from_comment
from scheduler.reconcile.import_plan import profile_import
from scheduler.reconcile.sides import same_shape
from tests.db.test_shaping import shapes

NAIROBI = ZoneInfo("Africa/Nairobi")


def holdable(shape) -> bool:
    """Package fields hold rates in whole kbit/s and have no priority or minimum rates."""
    rates = [v for k, v in vars(shape).items() if k.endswith("_bps") and v is not None]
    return (
        shape.priority is None
        and shape.min_upload_bps is None
        and all(v % 1000 == 0 for v in rates)
    )


@settings(max_examples=300, deadline=None)
@given(shapes(), st.integers(min_value=1, max_value=20))
def test_a_profile_imports_to_exactly_its_shape_or_is_refused(shape, devices):
    text = build_rate_limit(shape)
    row = {"name": "P", "rate-limit": text, "shared-users": str(devices)}
    try:
        imported = profile_import("hotspot", row)
    except ShapeError:
        assert not holdable(shape)
        return
    package = Package(
        type="hotspot",
        name="P",
        duration_length=1,
        duration_unit="days",
        router_profile="",
        rate_limit="",
        bandwidth_value=0,
    )
    apply_shaping(package, imported.shape)
    assert same_shape(package_shape(package), text)
    if holdable(shape):
        assert package_shape(package) == shape
    assert imported.device_limit == devices


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "unlimited"),
        ("256k/2M 0/0 0/0 0/0 4 128k/1M", "priority or minimum rates"),
        ("1500/1500", "whole number of kbit/s"),
        ("64k 256k", "burst threshold is missing"),
    ],
)
def test_profiles_a_package_cannot_hold_are_refused_with_the_reason(text, reason):
    with pytest.raises(ShapeError, match=reason):
        profile_import("hotspot", {"name": "P", "rate-limit": text})


def test_unlimited_shared_users_are_refused():
    with pytest.raises(ShapeError, match="shared users 'unlimited'"):
        profile_import("hotspot", {"name": "P", "rate-limit": "2M/5M", "shared-users": "unlimited"})


def test_real_exports_with_routeros_default_priority_import():
    imported = profile_import("pppoe", {"name": "P", "rate-limit": "10M/10M 0/0 0/0 0/0 8 10M/10M"})
    assert (imported.shape.upload_bps, imported.device_limit) == (10_000_000, None)


@pytest.mark.parametrize(
    ("comment", "expected"),
    [
        ("jan/05/2026 10:00:00", datetime(2026, 1, 5, 10, 0, tzinfo=NAIROBI)),
        ("2026-01-05 10:00:00", datetime(2026, 1, 5, 10, 0, tzinfo=NAIROBI)),
        ("2026-01-05", datetime(2026, 1, 6, 0, 0, tzinfo=NAIROBI)),
        ("exp 2026-12-31", datetime(2027, 1, 1, 0, 0, tzinfo=NAIROBI)),
        ("expires 31/12/2026", datetime(2027, 1, 1, 0, 0, tzinfo=NAIROBI)),
        ("Expiry: 31.12.2026 18:00", datetime(2026, 12, 31, 18, 0, tzinfo=NAIROBI)),
        ("valid until DEC/31/2026", datetime(2027, 1, 1, 0, 0, tzinfo=NAIROBI)),
        ("M-Pesa QA1B2C3 exp=2026-12-31 0712345678", datetime(2027, 1, 1, 0, 0, tzinfo=NAIROBI)),
    ],
)
def test_expiry_dates_in_known_formats_are_read_in_the_operators_zone(comment, expected):
    assert expiry_from_comment(comment, NAIROBI) == expected


@pytest.mark.parametrize(
    "comment",
    [
        None,
        "",
        "paid 2026-01-01",
        "vc-123-04.05.21",
        "exp 31/02/2026",
        "exp 2026-12-311",
        "exp 12/31/2026",
        "2026-01-05 25:00:00",
        "M-Pesa QA12345678 0712345678",
    ],
)
def test_anything_else_is_left_alone_rather_than_guessed(comment):
    assert expiry_from_comment(comment, NAIROBI) is None


def test_every_documented_example_is_recognised():
    for example in FORMATS:
        assert expiry_from_comment(example.split(" (")[0], NAIROBI) is not None, example
