"""Package rules: rate-limit strings, profile names, validation, validity and units."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from db.shaping import (
    DURATION_UNITS,
    Shape,
    ShapeError,
    add_validity,
    build_rate_limit,
    format_bytes,
    format_rate,
    format_validity,
    parse_bytes,
    parse_duration_seconds,
    parse_rate,
    parse_rate_limit,
    parse_validity,
    router_profile_name,
    validate_shape,
)

K, M, G = 1_000, 1_000_000, 1_000_000_000
KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30


def burst(shape: Shape, direction: str, rate: int, threshold: int, seconds: int) -> Shape:
    """Give ``shape`` a burst in one direction."""
    return replace(
        shape,
        **{
            f"burst_{direction}_bps": rate,
            f"threshold_{direction}_bps": threshold,
            f"burst_time_{direction}_s": seconds,
        },
    )


def both_burst(shape: Shape, up: tuple[int, int, int], down: tuple[int, int, int]) -> Shape:
    """Give ``shape`` a burst in both directions: (burst rate, threshold, seconds) each."""
    return burst(burst(shape, "upload", *up), "download", *down)


# ------------------------------------------------------------------------------------------
# Strategies
# ------------------------------------------------------------------------------------------

WIDE_RATES = st.one_of(
    st.integers(2, 10**10),
    st.integers(2, 100_000).map(lambda n: n * K),
    st.integers(1, 10_000).map(lambda n: n * M),
    st.integers(1, 10).map(lambda n: n * G),
)


@st.composite
def shapes(draw, rates=WIDE_RATES, max_factor: int = 10, max_seconds: int = 3600) -> Shape:
    """Valid shapes: each direction with or without a burst, optional priority and min rates."""
    values: dict[str, int | None] = {}
    for direction in ("upload", "download"):
        rate = draw(rates)
        values[f"{direction}_bps"] = rate
        if draw(st.booleans()):
            values[f"burst_{direction}_bps"] = draw(st.integers(rate + 1, rate * max_factor))
            values[f"threshold_{direction}_bps"] = draw(st.integers(1, rate - 1))
            values[f"burst_time_{direction}_s"] = draw(st.integers(1, max_seconds))
    if draw(st.booleans()):
        values["priority"] = draw(st.integers(1, 8))
        if draw(st.booleans()):
            values["min_upload_bps"] = draw(st.integers(1, values["upload_bps"]))
            values["min_download_bps"] = draw(st.integers(1, values["download_bps"]))
    return Shape(**values)


# A deliberately tiny space, so that two draws are often equal or differ in a single field.
SMALL_SHAPES = shapes(rates=st.integers(2, 3), max_factor=2, max_seconds=2)


def name_of(shape: Shape, service: str = "hotspot", account: str = "personal", users=None) -> str:
    """Profile name with the common defaults."""
    return router_profile_name(
        service_type=service, account_type=account, shape=shape, shared_users=users
    )


# ------------------------------------------------------------------------------------------
# Rates, durations and bytes
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "bps"),
    [
        ("512k", 512 * K),
        ("512K", 512 * K),
        ("10M", 10 * M),
        ("10m", 10 * M),
        ("1G", G),
        ("1.5M", 1_500_000),
        ("2048k", 2_048_000),
        ("64000", 64_000),
        ("1234", 1234),
        (" 2M ", 2 * M),
    ],
)
def test_parse_rate_reads_routeros_rates(text, bps):
    assert parse_rate(text) == bps


@pytest.mark.parametrize(
    "text", ["0", "0M", "-1M", "-5", "", "M", "10X", "10Mb", "1.5", "1.2345k", "ten", "1 0M"]
)
def test_parse_rate_refuses_with_the_text(text):
    with pytest.raises(ShapeError, match=re.escape(repr(text))):
        parse_rate(text)


@pytest.mark.parametrize(
    ("bps", "text"),
    [
        (10 * M, "10M"),
        (512 * K, "512k"),
        (1_500_000, "1500k"),
        (1234, "1234"),
        (G, "1G"),
        (2_500_000_000, "2500M"),
        (64_000, "64k"),
        (1_000_001, "1000001"),
        (0, "0"),
    ],
)
def test_format_rate_is_the_shortest_exact_form(bps, text):
    assert format_rate(bps) == text


@pytest.mark.parametrize("bad", [-1, 1.5, True, "10M", None])
def test_format_rate_refuses_non_rates(bad):
    with pytest.raises(ShapeError, match="rate"):
        format_rate(bad)


@given(st.integers(1, 10**13))
def test_format_rate_round_trips(bps):
    assert parse_rate(format_rate(bps)) == bps


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("10", 10),
        ("10s", 10),
        ("1m", 60),
        ("1h30m", 5400),
        ("1d", 86_400),
        ("1w", 604_800),
        ("00:01:30", 90),
        ("0", 0),
        ("0s", 0),
        (16, 16),
    ],
)
def test_parse_duration_seconds(text, seconds):
    assert parse_duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["-1", "1.5s", "10x", "", "30s1m", "1m1m", "s", -3, "1:2"])
def test_parse_duration_seconds_refuses_junk(text):
    with pytest.raises(ShapeError, match="duration"):
        parse_duration_seconds(text)


@pytest.mark.parametrize(
    ("text", "n"),
    [
        ("5G", 5 * GIB),
        ("500M", 500 * MIB),
        ("1024k", MIB),
        ("1024K", MIB),
        ("123", 123),
        ("1.5G", 1_610_612_736),
        ("5GB", 5 * GIB),
        ("2T", 2 << 40),
    ],
)
def test_parse_bytes_uses_binary_multiples(text, n):
    assert parse_bytes(text) == n


@pytest.mark.parametrize("text", ["0", "-5G", "5X", "", "1.5", "G", "five"])
def test_parse_bytes_refuses(text):
    with pytest.raises(ShapeError, match="data limit"):
        parse_bytes(text)


@pytest.mark.parametrize(
    ("n", "text"),
    [(5 * GIB, "5G"), (MIB, "1M"), (1536, "1536"), (1 << 40, "1T"), (0, "0"), (3 * KIB, "3k")],
)
def test_format_bytes(n, text):
    assert format_bytes(n) == text


@given(st.integers(1, 1 << 50))
def test_bytes_round_trip(n):
    assert parse_bytes(format_bytes(n)) == n


# ------------------------------------------------------------------------------------------
# Rate-limit strings: real-world packages
# ------------------------------------------------------------------------------------------

PACKAGES = [
    # (description, shape, exact string RouterOS expects)
    ("1 Mbps hotspot", Shape(M, M), "1M/1M"),
    ("512 Kbps up, 1 Mbps down", Shape(512 * K, M), "512k/1M"),
    ("2/4 Mbps written in Kbps", Shape(2_048 * K, 4_096 * K), "2048k/4096k"),
    ("1.5/3 Mbps", Shape(1_500_000, 3 * M), "1500k/3M"),
    ("gigabit fibre", Shape(G, G), "1G/1G"),
    ("odd bits/s rate", Shape(128_001, 256_000), "128001/256k"),
    (
        "10 Mbps with symmetric burst",
        both_burst(Shape(10 * M, 10 * M), (20 * M, 8 * M, 16), (20 * M, 8 * M, 16)),
        "10M/10M 20M/20M 8M/8M 16/16",
    ),
    (
        "5/10 Mbps with burst",
        both_burst(Shape(5 * M, 10 * M), (10 * M, 4 * M, 10), (20 * M, 8 * M, 10)),
        "5M/10M 10M/20M 4M/8M 10/10",
    ),
    (
        "Kbps package with burst",
        both_burst(Shape(384 * K, M), (576 * K, 288 * K, 12), (1_500 * K, 750 * K, 12)),
        "384k/1M 576k/1500k 288k/750k 12/12",
    ),
    (
        "download-only burst",
        burst(Shape(2 * M, 5 * M), "download", 10 * M, 4 * M, 8),
        "2M/5M 0/10M 0/4M 0/8",
    ),
    (
        "upload-only burst",
        burst(Shape(M, 4 * M), "upload", 2 * M, 512 * K, 30),
        "1M/4M 2M/0 512k/0 30/0",
    ),
    (
        "priority and guaranteed minimum",
        Shape(10 * M, 10 * M, priority=8, min_upload_bps=M, min_download_bps=M),
        "10M/10M 0/0 0/0 0/0 8 1M/1M",
    ),
    (
        "every part",
        replace(
            both_burst(Shape(M, 2 * M), (2 * M, 768 * K, 16), (4 * M, 1_536 * K, 16)),
            priority=8,
            min_upload_bps=256 * K,
            min_download_bps=512 * K,
        ),
        "1M/2M 2M/4M 768k/1536k 16/16 8 256k/512k",
    ),
    ("priority only", Shape(3 * M, 6 * M, priority=1), "3M/6M 0/0 0/0 0/0 1"),
]


@pytest.mark.parametrize(("shape", "text"), [p[1:] for p in PACKAGES], ids=[p[0] for p in PACKAGES])
def test_build_rate_limit_for_real_packages(shape, text):
    assert build_rate_limit(shape) == text


@pytest.mark.parametrize(("shape", "text"), [p[1:] for p in PACKAGES], ids=[p[0] for p in PACKAGES])
def test_parse_rate_limit_reads_real_packages_back(shape, text):
    assert parse_rate_limit(text) == shape


def test_upload_is_rx_first_and_download_tx_second():
    shape = Shape(upload_bps=2 * M, download_bps=8 * M)
    assert build_rate_limit(shape) == "2M/8M"
    assert parse_rate_limit("2M/8M").download_bps == 8 * M


EXPORTS = [
    ("2M/2M", Shape(2 * M, 2 * M)),
    ("512k/1M", Shape(512 * K, M)),
    ("1M", Shape(M, M)),
    ("2048k/4096k", Shape(2_048 * K, 4_096 * K)),
    ("4000000/8000000", Shape(4 * M, 8 * M)),
    ("512K/1m", Shape(512 * K, M)),
    ("1.5M/3M", Shape(1_500_000, 3 * M)),
    (
        "10M/10M 20M/20M 8M/8M 16/16",
        both_burst(Shape(10 * M, 10 * M), (20 * M, 8 * M, 16), (20 * M, 8 * M, 16)),
    ),
    (
        "  5M/10M   10M/20M  4M/8M 10s/10s ",
        both_burst(Shape(5 * M, 10 * M), (10 * M, 4 * M, 10), (20 * M, 8 * M, 10)),
    ),
    (
        "10M/10M 20M/20M 8M/8M 1m/1m",
        both_burst(Shape(10 * M, 10 * M), (20 * M, 8 * M, 60), (20 * M, 8 * M, 60)),
    ),
    (
        "128k 256k 96k 10",
        both_burst(Shape(128 * K, 128 * K), (256 * K, 96 * K, 10), (256 * K, 96 * K, 10)),
    ),
    (
        "10M/10M 20M/20M 8M/8M",  # no burst time: RouterOS uses 1 s
        both_burst(Shape(10 * M, 10 * M), (20 * M, 8 * M, 1), (20 * M, 8 * M, 1)),
    ),
    ("10M/10M 0/0 0/0 0/0", Shape(10 * M, 10 * M)),
    (
        "10M/10M 0/0 0/0 0/0 8 1M/1M",
        Shape(10 * M, 10 * M, priority=8, min_upload_bps=M, min_download_bps=M),
    ),
    (
        "10M/10M 0 0 0 4 2M",
        Shape(10 * M, 10 * M, priority=4, min_upload_bps=2 * M, min_download_bps=2 * M),
    ),
    ("2M/5M 0/10M 0/4M 0/8", burst(Shape(2 * M, 5 * M), "download", 10 * M, 4 * M, 8)),
]


@pytest.mark.parametrize(("text", "shape"), EXPORTS, ids=[e[0] for e in EXPORTS])
def test_parse_rate_limit_reads_router_exports(text, shape):
    assert parse_rate_limit(text) == shape


UNREPRESENTABLE = [
    ("", "rate limit is empty"),
    ("   ", "rate limit is empty"),
    ("abc", "rate limit rate 'abc'"),
    ("10M/10M/10M", "must be one value or two values"),
    ("10M/", "must be one value or two values"),
    ("-1M/2M", "rate limit rate '-1M'"),
    ("0/0", "upload rate is 0"),
    ("10M/0", "download rate is 0"),
    ("10x/10M", "rate limit rate '10x'"),
    ("1.2345k/1M", "not a whole number"),
    ("64k 256k", "upload burst threshold is missing"),
    (
        "10M/10M 20M/20M 12M/12M 10/10",
        "upload burst threshold 12M must be below the upload rate 10M",
    ),
    ("10M/10M 5M/5M 2M/2M 10/10", "upload burst rate 5M must be above the upload rate 10M"),
    ("10M/10M 0/0 8M/8M 10/10", "upload burst threshold is set without the upload burst rate"),
    ("10M/10M 0/0 0/0 10/10", "upload burst time is set without the upload burst rate"),
    ("10M/10M 20M/20M 8M/8M 0/0", "upload burst time is 0"),
    ("10M/10M 20M/20M 8M/8M x/10", "burst time 'x'"),
    ("10M/10M 0/0 0/0 0/0 9", "priority must be between 1 and 8"),
    ("10M/10M 0/0 0/0 0/0 high", "rate limit priority 'high'"),
    ("10M/10M 0/0 0/0 0/0 8 20M/20M", "min upload rate 20M must not exceed the upload rate 10M"),
    ("10M/10M 0/0 0/0 0/0 8 0/0", "min upload rate 0 cannot be represented"),
    ("10M/10M 0/0 0/0 0/0 8 1M/0", "min download rate 0 cannot be represented"),
    ("1 2 3 4 5 6 7", "at most 6"),
]


@pytest.mark.parametrize(
    ("text", "reason"), UNREPRESENTABLE, ids=[u[0] or "empty" for u in UNREPRESENTABLE]
)
def test_parse_rate_limit_refuses_what_a_package_cannot_hold(text, reason):
    with pytest.raises(ShapeError, match=re.escape(reason)):
        parse_rate_limit(text)


@pytest.mark.parametrize("bad", [None, 10, b"10M/10M"])
def test_parse_rate_limit_refuses_non_text(bad):
    with pytest.raises(ShapeError, match="rate limit"):
        parse_rate_limit(bad)


@settings(max_examples=400)
@given(shapes())
def test_parse_rate_limit_round_trips_every_built_string(shape):
    text = build_rate_limit(shape)
    assert parse_rate_limit(text) == shape
    assert build_rate_limit(parse_rate_limit(text)) == text


@given(
    shapes(), st.lists(st.sampled_from([" ", "  ", "\t"]), min_size=1, max_size=6), st.booleans()
)
def test_parse_rate_limit_collapses_whitespace(shape, gaps, pad):
    parts = build_rate_limit(shape).split(" ")
    spaced = "".join(part + gaps[i % len(gaps)] for i, part in enumerate(parts)).rstrip()
    assert parse_rate_limit(f"  {spaced} " if pad else spaced) == shape


@given(shapes())
def test_build_rate_limit_shape_is_deterministic_and_grammatical(shape):
    text = build_rate_limit(shape)
    assert text == build_rate_limit(replace(shape))
    tokens = text.split(" ")
    assert len(tokens) in (1, 4, 5, 6)
    assert re.fullmatch(r"\d+[kMG]?/\d+[kMG]?", tokens[0])
    assert (len(tokens) > 1) == (shape.burst_enabled or shape.priority is not None)


def test_burst_enabled():
    assert not Shape(M, M).burst_enabled
    assert burst(Shape(M, M), "download", 2 * M, 500 * K, 5).burst_enabled
    assert burst(Shape(M, M), "upload", 2 * M, 500 * K, 5).burst_enabled
    assert not Shape(M, M, burst_download_bps=2 * M).burst_enabled


# ------------------------------------------------------------------------------------------
# Validation
# ------------------------------------------------------------------------------------------

BASE = Shape(10 * M, 10 * M)
DOWN_BURST = burst(BASE, "download", 20 * M, 8 * M, 10)

INVALID = [
    (Shape(0, 10 * M), "upload rate must be above 0, got 0"),
    (Shape(10 * M, -1), "download rate must be above 0, got -1"),
    (Shape(10.5, 10 * M), "upload rate must be a whole number"),
    (Shape(True, 10 * M), "upload rate must be a whole number"),
    (Shape(None, 10 * M), "upload rate must be a whole number"),
    (
        replace(BASE, burst_download_bps=20 * M),
        "download burst needs a burst rate, a burst threshold and a burst time together, "
        "missing: burst threshold, burst time",
    ),
    (
        replace(BASE, threshold_upload_bps=8 * M, burst_time_upload_s=10),
        "upload burst needs a burst rate, a burst threshold and a burst time together, "
        "missing: burst rate",
    ),
    (
        replace(DOWN_BURST, burst_download_bps=8 * M),
        "download burst rate 8M must be above the download rate 10M",
    ),
    (
        replace(DOWN_BURST, burst_download_bps=10 * M),
        "download burst rate 10M must be above the download rate 10M",
    ),
    (
        replace(DOWN_BURST, threshold_download_bps=12 * M),
        "download burst threshold 12M must be below the download rate 10M",
    ),
    (
        replace(DOWN_BURST, threshold_download_bps=10 * M),
        "download burst threshold 10M must be below the download rate 10M",
    ),
    (replace(DOWN_BURST, threshold_download_bps=0), "download burst threshold must be above 0"),
    (replace(DOWN_BURST, burst_time_download_s=0), "download burst time must be above 0, got 0"),
    (replace(DOWN_BURST, burst_time_download_s=-5), "download burst time must be above 0, got -5"),
    (replace(DOWN_BURST, burst_download_bps=-1), "download burst rate must be above 0"),
    (replace(BASE, priority=0), "priority must be between 1 and 8, got 0"),
    (replace(BASE, priority=9), "priority must be between 1 and 8, got 9"),
    (replace(BASE, priority="8"), "priority must be a whole number"),
    (
        replace(BASE, priority=8, min_upload_bps=11 * M, min_download_bps=M),
        "min upload rate 11M must not exceed the upload rate 10M",
    ),
    (
        replace(BASE, priority=8, min_upload_bps=M),
        "min download rate must be set together with the other direction's min rate",
    ),
    (
        replace(BASE, priority=8, min_upload_bps=0, min_download_bps=M),
        "min upload rate must be above 0",
    ),
    (
        replace(BASE, min_upload_bps=M, min_download_bps=M),
        "priority must be set when min rates are set",
    ),
]


@pytest.mark.parametrize(("shape", "reason"), INVALID, ids=[i[1][:60] for i in INVALID])
def test_validation_refuses_with_a_reason_naming_the_field(shape, reason):
    with pytest.raises(ShapeError, match=re.escape(reason)):
        validate_shape(shape)
    with pytest.raises(ShapeError, match=re.escape(reason)):
        build_rate_limit(shape)
    with pytest.raises(ShapeError, match=re.escape(reason)):
        name_of(shape)


def test_validation_refuses_a_non_shape():
    with pytest.raises(ShapeError, match="shape must be a Shape"):
        validate_shape("10M/10M")


def test_shape_error_is_a_value_error():
    assert issubclass(ShapeError, ValueError)


@given(shapes())
def test_generated_shapes_are_valid(shape):
    assert validate_shape(shape) is None


# ------------------------------------------------------------------------------------------
# Router profile names
# ------------------------------------------------------------------------------------------

NAMES = [
    ("seed example", "hotspot", "personal", Shape(10 * M, 10 * M), None, "HOTSPOT_10M_PERSONAL"),
    ("asymmetric", "hotspot", "personal", Shape(5 * M, 10 * M), None, "HOTSPOT_10M_5MUP_PERSONAL"),
    ("kbps pppoe", "pppoe", "business", Shape(512 * K, 2 * M), None, "PPPOE_2M_512KUP_BUSINESS"),
    ("odd rate", "pppoe", "personal", Shape(1_500_000, 1_500_000), None, "PPPOE_1500K_PERSONAL"),
    (
        "symmetric burst with devices",
        "hotspot",
        "personal",
        both_burst(Shape(10 * M, 10 * M), (20 * M, 8 * M, 16), (20 * M, 8 * M, 16)),
        3,
        "HOTSPOT_10M_B20M-8M-16S_PERSONAL_3DEV",
    ),
    (
        "asymmetric burst",
        "hotspot",
        "business",
        both_burst(Shape(5 * M, 10 * M), (10 * M, 4 * M, 10), (20 * M, 8 * M, 10)),
        None,
        "HOTSPOT_10M_5MUP_B20M-8M-10S_B10M-4M-10SUP_BUSINESS",
    ),
    (
        "download-only burst",
        "hotspot",
        "personal",
        burst(Shape(2 * M, 5 * M), "download", 10 * M, 4 * M, 8),
        None,
        "HOTSPOT_5M_2MUP_B10M-4M-8S_B0UP_PERSONAL",
    ),
    (
        "upload-only burst",
        "hotspot",
        "personal",
        burst(Shape(M, 4 * M), "upload", 2 * M, 512 * K, 30),
        None,
        "HOTSPOT_4M_1MUP_B0_B2M-512K-30SUP_PERSONAL",
    ),
    (
        "priority and min",
        "pppoe",
        "business",
        Shape(10 * M, 10 * M, priority=8, min_upload_bps=M, min_download_bps=M),
        None,
        "PPPOE_10M_P8_MIN1M_BUSINESS",
    ),
    (
        "asymmetric min",
        "pppoe",
        "business",
        Shape(2 * M, 4 * M, priority=2, min_upload_bps=512 * K, min_download_bps=M),
        None,
        "PPPOE_4M_2MUP_P2_MIN1M_MIN512KUP_BUSINESS",
    ),
    ("single device", "hotspot", "personal", Shape(M, M), 1, "HOTSPOT_1M_PERSONAL_1DEV"),
    ("case of the inputs", "Hotspot", "PERSONAL", Shape(M, M), None, "HOTSPOT_1M_PERSONAL"),
]


@pytest.mark.parametrize(
    ("service", "account", "shape", "users", "expected"),
    [n[1:] for n in NAMES],
    ids=[n[0] for n in NAMES],
)
def test_router_profile_name_examples(service, account, shape, users, expected):
    assert name_of(shape, service, account, users) == expected


def test_pppoe_names_ignore_shared_users_because_ppp_profiles_have_none():
    assert name_of(Shape(M, M), "pppoe", "personal", 5) == "PPPOE_1M_PERSONAL"


def test_swapping_upload_and_download_changes_the_name():
    assert name_of(Shape(5 * M, 10 * M)) != name_of(Shape(10 * M, 5 * M))


def test_service_account_and_devices_are_part_of_the_name():
    shape = Shape(M, M)
    names = {
        name_of(shape, service, account, users)
        for service in ("hotspot", "pppoe")
        for account in ("personal", "business")
        for users in (None, 1, 2)
        if service == "hotspot" or users is None
    }
    assert len(names) == 2 * 3 + 2


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"service_type": "wifi"}, "service type 'wifi' must be one of: hotspot, pppoe"),
        ({"account_type": "vip"}, "account type 'vip' must be one of: personal, business"),
        ({"shared_users": 0}, "shared users must be 1 or more, got 0"),
        ({"shared_users": 2.5}, "shared users must be a whole number"),
    ],
)
def test_router_profile_name_refusals(kwargs, reason):
    args = {"service_type": "hotspot", "account_type": "personal", "shape": Shape(M, M)}
    with pytest.raises(ShapeError, match=re.escape(reason)):
        router_profile_name(**(args | kwargs))


@settings(max_examples=300)
@given(SMALL_SHAPES, SMALL_SHAPES)
def test_same_name_exactly_when_same_shape(first, second):
    assert (name_of(first) == name_of(second)) == (first == second)


@settings(max_examples=100)
@given(st.lists(SMALL_SHAPES, min_size=2, max_size=40), st.integers(1, 4))
def test_names_identify_shapes_within_a_catalogue(catalogue, users):
    by_name: dict[str, Shape] = {}
    for shape in catalogue:
        assert by_name.setdefault(name_of(shape, users=users), shape) == shape
    assert len(by_name) == len(set(catalogue))


@given(
    shapes(),
    st.sampled_from(["hotspot", "pppoe"]),
    st.sampled_from(["personal", "business"]),
    st.one_of(st.none(), st.integers(1, 500)),
)
def test_names_are_safe_for_routeros_and_deterministic(shape, service, account, users):
    name = name_of(shape, service, account, users)
    assert re.fullmatch(r"[A-Z0-9_-]+", name)
    assert name.startswith(f"{service.upper()}_")
    assert name == name_of(replace(shape), service, account, users)


@given(
    shapes(), st.sampled_from(["upload_bps", "download_bps", "priority", "burst_time_download_s"])
)
def test_changing_one_shaping_field_changes_the_name(shape, field):
    current = getattr(shape, field)
    changed = replace(shape, **{field: (current or 0) + 1})
    try:
        validate_shape(changed)
    except ShapeError:
        return
    assert name_of(changed) != name_of(shape)


# ------------------------------------------------------------------------------------------
# Validity
# ------------------------------------------------------------------------------------------


def test_duration_units():
    assert DURATION_UNITS == ("minutes", "hours", "days", "months")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", (30, "days")),
        ("12h", (12, "hours")),
        ("45m", (45, "minutes")),
        ("1mo", (1, "months")),
        ("3months", (3, "months")),
        ("30 days", (30, "days")),
        ("1 Month", (1, "months")),
        ("90min", (90, "minutes")),
        ("2w", (14, "days")),
        (" 7 D ", (7, "days")),
    ],
)
def test_parse_validity(text, expected):
    assert parse_validity(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0d", "must be longer than 0"),
        ("-1d", "must be longer than 0"),
        ("", "is not a length with a unit"),
        ("abc", "is not a length with a unit"),
        ("5", "is not a length with a unit"),
        ("1.5d", "is not a length with a unit"),
        ("1M", "is ambiguous"),
        ("3 fortnights", "unknown unit 'fortnights'"),
    ],
)
def test_parse_validity_refuses(text, reason):
    with pytest.raises(ShapeError, match=re.escape(reason)):
        parse_validity(text)


@pytest.mark.parametrize(
    ("length", "unit", "text"),
    [
        (30, "days", "30 days"),
        (1, "months", "1 month"),
        (12, "hours", "12 hours"),
        (1, "minutes", "1 minute"),
        (1, "days", "1 day"),
        (6, "months", "6 months"),
    ],
)
def test_format_validity(length, unit, text):
    assert format_validity(length, unit) == text
    assert parse_validity(text) == (length, unit)


@pytest.mark.parametrize(
    ("length", "unit", "reason"),
    [
        (0, "days", "validity length must be above 0"),
        (-2, "hours", "validity length must be above 0"),
        (1, "weeks", "validity unit 'weeks' must be one of"),
        (1.5, "days", "validity length must be a whole number"),
    ],
)
def test_format_validity_refuses(length, unit, reason):
    with pytest.raises(ShapeError, match=re.escape(reason)):
        format_validity(length, unit)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "length", "unit", "end"),
    [
        (utc(2024, 5, 1, 10, 0), 45, "minutes", utc(2024, 5, 1, 10, 45)),
        (utc(2024, 5, 1, 23, 30), 1, "hours", utc(2024, 5, 2, 0, 30)),
        (utc(2024, 12, 25, 8), 30, "days", utc(2025, 1, 24, 8)),
        (utc(2024, 2, 28, 12), 1, "days", utc(2024, 2, 29, 12)),
        (utc(2023, 2, 28, 12), 1, "days", utc(2023, 3, 1, 12)),
        (utc(2024, 1, 15, 9), 1, "months", utc(2024, 2, 15, 9)),
        (utc(2024, 1, 31, 9), 1, "months", utc(2024, 2, 29, 9)),
        (utc(2023, 1, 31, 9), 1, "months", utc(2023, 2, 28, 9)),
        (utc(2100, 1, 31), 1, "months", utc(2100, 2, 28)),
        (utc(2000, 1, 31), 1, "months", utc(2000, 2, 29)),
        (utc(2024, 3, 31), 1, "months", utc(2024, 4, 30)),
        (utc(2024, 1, 31), 13, "months", utc(2025, 2, 28)),
        (utc(2024, 2, 29), 12, "months", utc(2025, 2, 28)),
        (utc(2024, 2, 29), 48, "months", utc(2028, 2, 29)),
        (utc(2023, 12, 15), 1, "months", utc(2024, 1, 15)),
        (utc(2024, 11, 30, 23, 59, 59), 3, "months", utc(2025, 2, 28, 23, 59, 59)),
    ],
)
def test_add_validity(start, length, unit, end):
    assert add_validity(start, length, unit) == end


def test_add_validity_months_follow_the_utc_calendar_and_keep_the_zone():
    nairobi = ZoneInfo("Africa/Nairobi")  # UTC+3, no DST
    start = datetime(2024, 1, 31, 2, 0, tzinfo=nairobi)  # 2024-01-30 23:00 UTC
    end = add_validity(start, 1, "months")
    assert end.tzinfo is nairobi
    assert end.astimezone(UTC) == utc(2024, 2, 29, 23, 0)
    assert end == datetime(2024, 3, 1, 2, 0, tzinfo=nairobi)


def test_add_validity_days_are_elapsed_time_across_dst():
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2024, 3, 30, 12, 0, tzinfo=berlin)  # CET, the night before the switch
    end = add_validity(start, 1, "days")
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(days=1)
    assert (end.hour, end.utcoffset()) == (13, timedelta(hours=2))


def test_add_validity_with_fixed_offset():
    start = datetime(2024, 6, 30, 20, tzinfo=timezone(timedelta(hours=-5)))  # 07-01 01:00 UTC
    end = add_validity(start, 2, "months")
    assert end.utcoffset() == timedelta(hours=-5)
    assert end.astimezone(UTC) == utc(2024, 9, 1, 1)


@pytest.mark.parametrize(
    ("start", "length", "unit", "reason"),
    [
        (datetime(2024, 1, 1), 1, "days", "must be a timezone-aware datetime"),
        ("2024-01-01", 1, "days", "must be a timezone-aware datetime"),
        (utc(2024, 1, 1), 0, "days", "validity length must be above 0"),
        (utc(2024, 1, 1), 1, "years", "validity unit 'years' must be one of"),
        (utc(9999, 12, 1), 1, "months", "runs past the year 9999"),
        (utc(9999, 12, 31), 2, "days", "runs past the year 9999"),
    ],
)
def test_add_validity_refuses(start, length, unit, reason):
    with pytest.raises(ShapeError, match=re.escape(reason)):
        add_validity(start, length, unit)


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    st.integers(1, 120),
)
def test_add_validity_months_land_on_the_same_or_last_day(start, months):
    end = add_validity(start, months, "months")
    assert (end.year * 12 + end.month) - (start.year * 12 + start.month) == months
    assert end.time() == start.time()
    assert end.day == start.day or (end.day < start.day and (end + timedelta(days=1)).day == 1)


@pytest.mark.parametrize("text", ["99999mo", "121mo", "3661d", "88000h", "5270500m"])
def test_a_validity_beyond_ten_years_is_refused_before_anything_uses_it(text):
    with pytest.raises(ShapeError, match="is longer than 10 years, the longest a package may last"):
        parse_validity(text)


def test_ten_years_is_still_a_validity():
    assert parse_validity("120mo") == (120, "months")
    assert parse_validity("3660d") == (3660, "days")
