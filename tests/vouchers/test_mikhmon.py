"""Mikhmon's conventions read back: batch comments, the expiry its first login writes, the terms in
a profile's on-login script; and a router seeded as Mikhmon leaves it, read over the API."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from scheduler.reconcile.mikhmon import (
    BatchComment,
    ExpiryMode,
    ProfileTerms,
    UserMode,
    VoucherState,
    parse_batch_comment,
    parse_expiry_comment,
    parse_on_login,
    read_voucher,
    user_mode,
)
from scheduler.routeros.client import RouterClient
from scheduler.sim import SimRouter
from scheduler.sim.seed import MIKHMON_PROFILES
from tests.scheduler.conftest import SIM_PASSWORD, endpoint

NAIROBI = ZoneInfo("Africa/Nairobi")

# The shape of the scripts Mikhmon's user-profile form writes (hotspot/adduserprofile.php):
# expiry mode "rem", price 5000, validity 1d, selling price 6000, lock disabled ...
REMOVE_SCRIPT = (
    ':put (",rem,5000,1d,6000,,Disable,"); {:local comment [ /ip hotspot user get [/ip hotspot '
    'user find where name="$user"] comment]; :local ucode [:pic $comment 0 2]; :if ($ucode = "vc" '
    'or $ucode = "up" or $comment = "") do={ :local date [ /system clock get date ];:local year '
    '[ :pick $date 7 11 ];:local month [ :pick $date 0 3 ]; /sys sch add name="$user" '
    'disable=no start-date=$date interval="1d"; :delay 5s; :local exp [ /sys sch get [ /sys sch '
    'find where name="$user" ] next-run]; :local getxp [len $exp]; :if ($getxp = 15) do={ :local '
    'd [:pic $exp 0 6]; :local t [:pic $exp 7 16]; :local s ("/"); :local exp ("$d$s$year $t"); '
    '/ip hotspot user set comment="$exp" [find where name="$user"];}; :if ($getxp = 8) do={ /ip '
    'hotspot user set comment="$date $exp" [find where name="$user"];}; :if ($getxp > 15) do={ '
    '/ip hotspot user set comment="$exp" [find where name="$user"];};:delay 5s; /sys sch remove '
    '[find where name="$user"]}}'
)
# ... "ntfc" (notice and record the sale) with the MAC lock, which appends its own command ...
NOTICE_RECORD_LOCKED = (
    ':put (",ntfc,20,2d12h,25,,Enable,"); {:local comment [ /ip hotspot user get [/ip hotspot '
    'user find where name="$user"] comment]; :local ucode [:pic $comment 0 2]; /sys sch add '
    'name="$user" disable=no start-date=$date interval="2d12h"; :local mac $"mac-address"; '
    ':local time [/system clock get time ]; /system script add name="$date-|-$time-|-$user-|-20-|-'
    '$address-|-$mac-|-2d12h-|-KES20-|-$comment" owner="$month$year" source="$date" '
    'comment="mikhmon"; [:local mac $"mac-address"; /ip hotspot user set mac-address=$mac [find '
    "where name=$user]]}}"
)
# ... and "None" as expiry mode with a price: a short script with the noexp marker.
NO_EXPIRY = ':put (",,1000,,,noexp,Disable,"); [:local mac $"mac-address"]'


@pytest.mark.parametrize(
    ("comment", "expected"),
    [
        (
            "vc-482-01.05.26-kiosk stage",
            BatchComment(
                "vc-482-01.05.26-kiosk stage", UserMode.CODE, 482, date(2026, 1, 5), "kiosk stage"
            ),
        ),
        (
            "up-107-12.31.25-",
            BatchComment("up-107-12.31.25-", UserMode.USER_PASS, 107, date(2025, 12, 31), ""),
        ),
        (
            "vc-999-02.28.26-agent 3 - kibera",
            BatchComment(
                "vc-999-02.28.26-agent 3 - kibera",
                UserMode.CODE,
                999,
                date(2026, 2, 28),
                "agent 3 - kibera",
            ),
        ),
    ],
)
def test_batch_comments_give_mode_number_date_and_note(comment, expected):
    assert parse_batch_comment(comment) == expected


@pytest.mark.parametrize(
    "comment",
    [
        None,
        "",
        "jan/05/2026 14:03:11",
        "vc-482-13.05.26-bad month",
        "vc-482-02.30.26-no such day",
        "vc-kiosk",  # Mikhmon's single-user form: a mode, no batch
        "xy-482-01.05.26-other tool",
        "M-Pesa QA1B2C3D4E 0712345678",
        "wisp-console:17",
    ],
)
def test_other_comments_are_no_batch(comment):
    assert parse_batch_comment(comment) is None


def test_expiry_comments_are_router_local_time():
    assert parse_expiry_comment("jan/05/2026 14:03:11", NAIROBI) == datetime(
        2026, 1, 5, 14, 3, 11, tzinfo=NAIROBI
    )
    moment = parse_expiry_comment("dec/31/2025 23:59:59", NAIROBI)
    assert moment is not None and moment.astimezone(UTC) == datetime(
        2025, 12, 31, 20, 59, 59, tzinfo=UTC
    )
    assert parse_expiry_comment("Feb/28/2026 00:00:00", UTC) == datetime(2026, 2, 28, tzinfo=UTC)
    # RouterOS 7.10 and later print the scheduler's next-run in ISO; the same script writes that.
    assert parse_expiry_comment("2026-01-05 14:03:11", NAIROBI) == datetime(
        2026, 1, 5, 14, 3, 11, tzinfo=NAIROBI
    )


@pytest.mark.parametrize(
    "comment",
    [
        None,
        "",
        "   ",
        "vc-482-01.05.26-kiosk",
        "jan/05/2026",
        "jan/05 14:03:11",
        "foo/05/2026 14:03:11",
        "feb/30/2026 10:00:00",
        "jan/05/2026 25:00:00",
        "exp jan/05/2026 14:03:11",
    ],
)
def test_anything_else_is_no_expiry(comment):
    assert parse_expiry_comment(comment, NAIROBI) is None


def test_the_remove_script_gives_price_validity_and_selling_price():
    assert parse_on_login(REMOVE_SCRIPT) == ProfileTerms(
        expiry_mode=ExpiryMode.REMOVE,
        price=Decimal("5000"),
        validity=86400,
        selling_price=Decimal("6000"),
        lock_user=False,
    )


def test_a_recording_notice_script_with_the_mac_lock():
    terms = parse_on_login(NOTICE_RECORD_LOCKED)
    assert terms == ProfileTerms(
        ExpiryMode.NOTICE_RECORD, Decimal("20"), 216000, Decimal("25"), True
    )
    assert terms.expiry_mode.records_sales and not terms.expiry_mode.removes


def test_a_profile_without_expiry_keeps_its_price():
    assert parse_on_login(NO_EXPIRY) == ProfileTerms(
        ExpiryMode.NONE, Decimal("1000"), None, None, False
    )


@pytest.mark.parametrize(
    ("put", "mode", "validity"),
    [
        (':put (",ntf,20,12h,0,,Disable,")', ExpiryMode.NOTICE, 43200),
        (':put (",remc,250,30d,300,,Disable,")', ExpiryMode.REMOVE_RECORD, 2592000),
        (':put (",rem,100,1w,,,Enable,")', ExpiryMode.REMOVE, 604800),
        (':put (",0,50,1d,50,,Disable,")', ExpiryMode.NONE, None),
        (':put (",rem,50,1h30m,50,,Disable,")', ExpiryMode.REMOVE, 5400),
    ],
)
def test_expiry_modes_and_validities(put, mode, validity):
    terms = parse_on_login(put + "; {}")
    assert terms is not None
    assert (terms.expiry_mode, terms.validity) == (mode, validity)


def test_blank_or_unreadable_amounts_are_none_not_zero():
    terms = parse_on_login(':put (",rem,,1d,abc,,Disable,")')
    assert terms is not None and terms.price is None and terms.selling_price is None
    assert parse_on_login(':put (",rem,0,1d,0,,Disable,")').price == Decimal("0")


@pytest.mark.parametrize(
    "script",
    [
        None,
        "",
        ':log info "user logged in"',
        ':put (",forever,50,1d,50,,Disable,")',  # unknown expiry mode
        ':put (",rem,50")',  # cut short
    ],
)
def test_other_scripts_are_not_mikhmon_s(script):
    assert parse_on_login(script) is None


def test_a_user_mikhmon_did_not_comment_takes_its_mode_from_the_password():
    assert user_mode("abcd12", "abcd12") is UserMode.CODE
    assert user_mode("abcde", "52913") is UserMode.USER_PASS


NOW = datetime(2026, 1, 5, 12, 0, tzinfo=NAIROBI)


@pytest.mark.parametrize(
    ("row", "state"),
    [
        ({"comment": "vc-482-01.05.26-k", "uptime": "0s"}, VoucherState.UNUSED),
        (
            {"comment": "vc-482-01.05.26-k", "uptime": "0s", "disabled": "true"},
            VoucherState.REVOKED,
        ),
        ({"comment": "vc-482-01.05.26-k", "uptime": "3m"}, VoucherState.IN_USE),  # script's delay
        ({"comment": "jan/06/2026 09:00:00", "uptime": "1h"}, VoucherState.IN_USE),
        ({"comment": "jan/05/2026 11:59:59", "uptime": "1h"}, VoucherState.EXPIRED),
        ({"comment": "jan/06/2026 09:00:00", "limit-uptime": "1s"}, VoucherState.EXPIRED),
        ({"comment": "jan/06/2026 09:00:00", "disabled": "true"}, VoucherState.EXPIRED),
        (
            {"comment": "vc-482-01.05.26-k", "uptime": "2h", "limit-uptime": "2h"},
            VoucherState.EXPIRED,
        ),
    ],
)
def test_voucher_states(row, state):
    voucher = read_voucher({"name": "abcd12", "password": "abcd12", **row}, NAIROBI, NOW)
    assert voucher is not None and voucher.state is state and voucher.mode is UserMode.CODE


def test_users_without_mikhmon_comments_are_not_vouchers():
    assert read_voucher({"name": "kamau100", "comment": "M-Pesa QA1"}, NAIROBI, NOW) is None


# A router seeded as Mikhmon leaves it, read over the API.


def read_router(
    router: SimRouter,
) -> tuple[list[dict[str, str]], list[dict[str, str]], list[dict[str, str]]]:
    with RouterClient(endpoint(router)) as client:
        return (
            client.print("/ip/hotspot/user"),
            client.print("/ip/hotspot/user/profile"),
            client.print("/ip/hotspot/active"),
        )


@pytest.mark.parametrize("version", ["6.45.1", "7.18.2"])
def test_a_mikhmon_seeded_router_parses_user_by_user(version):
    with SimRouter(password=SIM_PASSWORD, ros_version=version, seed_mikhmon=50) as router:
        users, profiles, active = read_router(router)
    zone = datetime.now().astimezone().tzinfo  # the simulated router keeps this machine's time
    now = datetime.now(zone)

    terms = {row["name"]: parse_on_login(row.get("on-login")) for row in profiles}
    assert terms.pop("default") is None
    assert set(terms) == {profile[0] for profile in MIKHMON_PROFILES}
    assert terms["KES50-1day"] == ProfileTerms(
        ExpiryMode.REMOVE, Decimal(50), 86400, Decimal(50), False
    )
    assert terms["KES20-12h"] == ProfileTerms(
        ExpiryMode.NOTICE, Decimal(20), 43200, Decimal(25), True
    )
    assert terms["KES250-1week"] == ProfileTerms(
        ExpiryMode.NOTICE_RECORD, Decimal(250), 604800, Decimal(300), False
    )

    assert len(users) == 50
    vouchers = [read_voucher(row, zone, now) for row in users]
    assert all(voucher is not None for voucher in vouchers)
    by_state = {state: [v for v in vouchers if v and v.state is state] for state in VoucherState}
    assert (
        by_state[VoucherState.UNUSED]
        and by_state[VoucherState.IN_USE]
        and by_state[VoucherState.EXPIRED]
    )
    assert not by_state[VoucherState.REVOKED]
    for voucher in by_state[VoucherState.UNUSED]:
        assert voucher.batch is not None and voucher.uptime == 0 and voucher.expires is None
        assert (voucher.name == voucher.password) is (voucher.batch.mode is UserMode.CODE)
        assert voucher.batch.generated <= now.date()
    for voucher in by_state[VoucherState.IN_USE]:
        validity = terms[voucher.profile].validity
        assert voucher.expires is not None and now < voucher.expires < now + timedelta(
            seconds=validity
        )
        assert voucher.uptime > 0
    for voucher in by_state[VoucherState.EXPIRED]:
        assert voucher.expires is not None and voucher.expires < now
    batches = {v.batch.name for v in vouchers if v and v.batch}
    assert 2 <= len(batches) <= 4
    assert {name.split("-")[0] for name in batches} == {"vc", "up"}

    online = {row["user"] for row in active}
    in_use = {v.name for v in by_state[VoucherState.IN_USE]}
    assert online and online <= in_use
    dates = [row["comment"] for row in users if parse_expiry_comment(row["comment"], zone)]
    assert all(("/" in text) is (version == "6.45.1") for text in dates)


def test_the_seed_is_the_same_for_the_same_number():
    def summary() -> list[tuple[str, str, str, str]]:
        with SimRouter(password=SIM_PASSWORD, seed_mikhmon=30) as router:
            users, _, _ = read_router(router)
        return [(u["name"], u["password"], u["profile"], u.get("disabled", "")) for u in users]

    assert summary() == summary()


def test_wisp_sim_takes_the_number_of_mikhmon_vouchers():
    import argparse

    from scheduler.sim.cli import configure_parser

    parser = argparse.ArgumentParser()
    configure_parser(parser)
    assert parser.parse_args(["--seed-mikhmon", "40"]).seed_mikhmon == 40
    assert parser.parse_args([]).seed_mikhmon == 0
