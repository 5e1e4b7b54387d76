"""Store first, match, apply once: the rules of db.mpesa on every database."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlmodel import Session, col

from db.activation import ActivationService
from db.config import Settings
from db.models import MpesaStatus, SystemLog
from db.mpesa import (
    Arrival,
    Invalid,
    UnknownPush,
    apply,
    apply_many,
    apply_received,
    nairobi_time,
    normalise_msisdn,
    parse_c2b,
    parse_stk_callback,
    record_push,
    store_c2b,
    store_many,
    store_stk_result,
)
from tests.mpesa.helpers import confirmation, credit, payments, rows, shop, stk_callback

SETTINGS = Settings()


def pay_c2b(engine, payload):
    stored = store_c2b(engine, parse_c2b(payload), payload)
    return apply(engine, SETTINGS, stored.id)


def push(engine, checkout="ws_CO_1", amount="50", package_id=2):
    return record_push(
        engine,
        client_id=1,
        package_id=package_id,
        checkout_request_id=checkout,
        merchant_request_id="29115-34620561-1",
        msisdn="+254708374149",
        amount=Decimal(amount),
        shortcode="174379",
        raw={"ResponseCode": "0"},
    )


def test_phone_numbers_and_nairobi_times():
    assert normalise_msisdn("254708374149") == "+254708374149"
    assert normalise_msisdn(254708374149) == "+254708374149"
    assert normalise_msisdn("0708 374 149") == "+254708374149"
    assert normalise_msisdn("0110123456") == "+254110123456"
    assert normalise_msisdn("12345") is None
    assert nairobi_time("20191219102115") == datetime(2019, 12, 19, 7, 21, 15, tzinfo=UTC)
    assert nairobi_time("garbage") is None


def test_a_c2b_payment_to_the_username_activates_its_package(engine):
    shop(engine)
    done = pay_c2b(engine, confirmation("RKTQDM7W6S", "1500.00", " JDoe "))
    assert (done.status, done.outcome) == (MpesaStatus.APPLIED, "new")
    [payment] = payments(engine)
    assert (payment.reference, payment.amount, payment.method) == ("RKTQDM7W6S", 1500, "mpesa")
    [row] = rows(engine)
    assert (row.kind, row.msisdn, row.bill_ref, row.client_id, row.package_id) == (
        "c2b",
        "+254708374149",
        "JDoe",
        1,
        1,
    )
    assert row.transaction_time == datetime(2026, 11, 30, 7, 15, tzinfo=UTC)
    assert row.raw["callback"]["TransID"] == "RKTQDM7W6S"


def test_an_unknown_account_number_is_left_unmatched(engine):
    shop(engine)
    done = pay_c2b(engine, confirmation("RKTQDM7W6T", "1500.00", "nobody"))
    assert done.status == MpesaStatus.UNMATCHED
    assert "no client has the account number 'nobody'" in done.note
    assert payments(engine) == []


def test_the_amount_picks_the_package_of_that_price_on_the_clients_router(engine):
    shop(engine)
    ActivationService(engine).activate(
        "jdoe", "Home 10M", payment_ref="CASH1", amount=Decimal(1500)
    )
    done = pay_c2b(engine, confirmation("RKTQDM7W6U", "50", "jdoe"))
    assert done.status == MpesaStatus.APPLIED
    assert rows(engine)[0].package_id == 2  # Day 5M, after the running Home 10M
    assert done.outcome == "scheduled"


def test_overpayment_is_kept_as_credit_and_underpayment_held_as_credit(engine):
    shop(engine)
    ActivationService(engine).activate(
        "jdoe", "Home 10M", payment_ref="CASH1", amount=Decimal(1500)
    )
    over = pay_c2b(engine, confirmation("RKTQDM7W6V", "1700", "jdoe"))
    assert (over.status, over.outcome) == (MpesaStatus.APPLIED, "renewed")
    assert credit(engine) == Decimal("200")
    under = pay_c2b(engine, confirmation("RKTQDM7W6W", "1000", "jdoe"))
    assert (under.status, under.outcome) == (MpesaStatus.APPLIED, "credit")
    assert credit(engine) == Decimal("1200")


def test_the_same_confirmation_five_times_pays_once(engine):
    shop(engine)
    payload = confirmation("RKTQDM7W6X", "1500", "jdoe")
    results = [pay_c2b(engine, payload) for _ in range(5)]
    assert [r.status for r in results] == [MpesaStatus.APPLIED] * 5
    assert len(payments(engine)) == 1
    [row] = rows(engine)
    assert row.deliveries == 5


def test_five_concurrent_confirmations_pay_once(engine):
    shop(engine)
    payload = confirmation("RKTQDM7W6Y", "1500", "jdoe")
    errors: list[BaseException] = []
    barrier = threading.Barrier(5)

    def deliver() -> None:
        try:
            barrier.wait()
            pay_c2b(engine, payload)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(payments(engine)) == 1
    [row] = rows(engine)
    assert (row.status, row.deliveries) == (MpesaStatus.APPLIED, 5)


def test_a_paid_push_applies_to_its_client_and_package(engine):
    shop(engine)
    push(engine)
    payload = stk_callback("ws_CO_1")
    stored = store_stk_result(engine, parse_stk_callback(payload), payload)
    assert stored.fresh and stored.status == MpesaStatus.RECEIVED
    done = apply(engine, SETTINGS, stored.id)
    assert (done.status, done.outcome) == (MpesaStatus.APPLIED, "new")
    [payment] = payments(engine)
    assert (payment.reference, payment.package_id) == ("NLJ7RT61SV", 2)
    again = store_stk_result(engine, parse_stk_callback(payload), payload)
    assert not again.fresh
    assert apply(engine, SETTINGS, again.id).status == MpesaStatus.APPLIED
    assert len(payments(engine)) == 1


def test_a_cancelled_push_fails_and_is_never_downgraded_from_paid(engine):
    shop(engine)
    push(engine, "ws_CO_2")
    cancelled = stk_callback("ws_CO_2", code=1032)
    stored = store_stk_result(engine, parse_stk_callback(cancelled), cancelled)
    assert stored.status == MpesaStatus.FAILED
    assert apply(engine, SETTINGS, stored.id).status == MpesaStatus.FAILED
    assert "cancelled by the customer" in rows(engine)[0].note
    assert payments(engine) == []
    # A paid push stays paid whatever comes after it.
    push(engine, "ws_CO_3")
    paid = stk_callback("ws_CO_3", receipt="NLJ7RT61SW")
    store_stk_result(engine, parse_stk_callback(paid), paid)
    late = stk_callback("ws_CO_3", code=1037)
    assert store_stk_result(engine, parse_stk_callback(late), late).status == MpesaStatus.RECEIVED


def test_a_result_for_a_push_we_never_made_is_refused(engine):
    shop(engine)
    payload = stk_callback("ws_CO_forged")
    with pytest.raises(UnknownPush):
        store_stk_result(engine, parse_stk_callback(payload), payload)
    assert rows(engine) == []


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"Body": {}},
        {"Body": {"stkCallback": {"CheckoutRequestID": "x", "ResultCode": "zero"}}},
        {"Body": {"stkCallback": {"CheckoutRequestID": "x", "ResultCode": 0}}},
        stk_callback("x", receipt="bad receipt!"),
        stk_callback("x", amount=-5),
    ],
)
def test_malformed_stk_callbacks_are_invalid(payload):
    with pytest.raises(Invalid):
        parse_stk_callback(payload)


@pytest.mark.parametrize(
    "payload",
    [
        [],
        confirmation("RKTQDM7W6Z", "abc", "jdoe"),
        confirmation("RKTQDM7W6Z", "NaN", "jdoe"),
        confirmation("", "10", "jdoe"),
        {**confirmation("RKTQDM7W6Z", "10", "jdoe"), "BusinessShortCode": None},
    ],
)
def test_malformed_c2b_bodies_are_invalid(payload):
    with pytest.raises(Invalid):
        parse_c2b(payload)


def test_the_operator_assigns_an_unmatched_payment_once(engine):
    from db.catalog import Refused
    from db.mpesa import assign

    shop(engine)
    unmatched = pay_c2b(engine, confirmation("RKTQDM7W80", "50", "J DOE 2"))
    assert unmatched.status == MpesaStatus.UNMATCHED
    done = assign(engine, SETTINGS, unmatched.id, "jdoe")
    assert (done.status, done.outcome) == (MpesaStatus.APPLIED, "new")
    [row] = rows(engine)
    assert (row.client_id, row.package_id, row.status) == (1, 2, "applied")  # Day 5M at 50
    with pytest.raises(Refused, match="is applied; only an unmatched one"):
        assign(engine, SETTINGS, unmatched.id, "jdoe")
    assert len(payments(engine)) == 1


def test_a_row_that_cannot_be_applied_does_not_hold_up_the_others(engine, monkeypatch):
    import db.mpesa

    shop(engine)
    payloads = [confirmation(f"RKTQDM7X{n}0", "1500.00", "jdoe") for n in range(3)]
    ids = [store_c2b(engine, parse_c2b(p), p).id for p in payloads]
    applying = db.mpesa._apply_in

    def broken_for_the_second(session, service, transaction_id):
        if transaction_id == ids[1]:
            raise RuntimeError("something unforeseen")
        return applying(session, service, transaction_id)

    monkeypatch.setattr(db.mpesa, "_apply_in", broken_for_the_second)
    done = apply_many(engine, SETTINGS, ids)
    assert [d.id for d in done] == [ids[0], ids[2]]
    assert [r.status for r in rows(engine)] == ["applied", "received", "applied"]
    monkeypatch.setattr(db.mpesa, "_apply_in", applying)
    [again] = apply_received(engine, SETTINGS)
    assert (again.id, again.status) == (ids[1], MpesaStatus.APPLIED)
    assert len(payments(engine)) == 3


def test_a_group_of_confirmations_stores_each_receipt_once_and_counts_every_delivery(engine):
    shop(engine)
    known = confirmation("RKTQKNOWN1", "1500", "jdoe")
    before = store_c2b(engine, parse_c2b(known), known)
    a, b = confirmation("RKTQGROUPA", "1500", "jdoe"), confirmation("RKTQGROUPB", "50", "x")
    group = [a, known, b, a, known, a]
    stored = store_many(engine, [Arrival(parse_c2b(p), p) for p in group])

    by_receipt = {row.receipt: row for row in rows(engine)}
    assert {r: row.deliveries for r, row in by_receipt.items()} == {
        "RKTQKNOWN1": 3,
        "RKTQGROUPA": 3,
        "RKTQGROUPB": 1,
    }
    ids = [by_receipt[p["TransID"]].id for p in group]
    assert [s.id for s in stored] == ids
    assert [s.fresh for s in stored] == [True, False, True, False, False, False]
    assert ids[1] == before.id and ids[0] < ids[2]  # new rows in the order they came
    assert all(s.status == MpesaStatus.RECEIVED for s in stored)
    row = by_receipt["RKTQGROUPB"]
    assert (row.amount, row.bill_ref, row.msisdn, row.source, row.kind) == (
        Decimal("50.00"),
        "x",
        "+254708374149",
        "callback",
        "c2b",
    )
    assert row.raw == {"callback": b}
    with Session(engine) as session:
        stored_logs = session.scalars(
            select(SystemLog.message).where(col(SystemLog.message).like("M-Pesa RKTQ%"))
        ).all()
    assert stored_logs == [
        "M-Pesa RKTQKNOWN1 (callback): 1500.00 from +254708374149 to 174379, account jdoe.",
        "M-Pesa RKTQGROUPA (callback): 1500.00 from +254708374149 to 174379, account jdoe.",
        "M-Pesa RKTQGROUPB (callback): 50.00 from +254708374149 to 174379, account x.",
    ]


def test_the_applier_grows_its_batches_while_they_stay_short_and_shrinks_them_when_long():
    from scheduler.mpesa.intake import APPLY_BATCH, APPLY_SECONDS, next_batch

    assert next_batch(8, 8, APPLY_SECONDS / 4) == 16  # a full batch that went fast: double
    assert next_batch(8, 3, APPLY_SECONDS / 4) == 8  # not full: it says nothing of more rows
    assert next_batch(APPLY_BATCH, APPLY_BATCH, 0.001) == APPLY_BATCH
    assert next_batch(64, 64, APPLY_SECONDS * 2) == 32  # too long: scaled to fit
    assert next_batch(4, 1, APPLY_SECONDS * 10) == 1
