"""The callback receiver over real HTTP on every database: stored, answered, applied once;
forged or malformed callbacks rejected with nothing stored or activated."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from db.config import Settings
from db.models import MpesaStatus
from db.mpesa import record_push
from scheduler.mpesa.receiver import callback_urls
from tests.mpesa.conftest import TOKEN, receiving
from tests.mpesa.helpers import confirmation, payments, post, rows, shop, stk_callback
from tests.waiting import wait_for

ACCEPTED = {"ResultCode": 0, "ResultDesc": "Accepted"}


def pushed(engine, checkout="ws_CO_100"):
    return record_push(
        engine,
        client_id=1,
        package_id=2,
        checkout_request_id=checkout,
        merchant_request_id="29115-34620561-1",
        msisdn="+254708374149",
        amount=Decimal(50),
        shortcode="174379",
        raw={},
    )


def statuses(engine):
    return [r.status for r in rows(engine)]


def test_callback_urls_carry_the_token_and_not_the_refused_words():
    urls = callback_urls("https://isp.example.net/", TOKEN)
    assert urls["stk"] == f"https://isp.example.net/hooks/{TOKEN}/stk"
    for url in urls.values():
        assert TOKEN in url and "mpesa" not in url and "safaricom" not in url


def test_a_paid_stk_callback_is_stored_answered_and_applied(engine, receiver):
    shop(engine)
    pushed(engine)
    answer = post(f"{receiver}/stk", json=stk_callback("ws_CO_100"))
    assert (answer.status_code, answer.json()) == (200, ACCEPTED)
    wait_for(lambda: statuses(engine) == [MpesaStatus.APPLIED])
    [payment] = payments(engine)
    assert (payment.reference, payment.amount) == ("NLJ7RT61SV", Decimal(50))


def test_a_cancelled_stk_callback_activates_nothing(engine, receiver):
    shop(engine)
    pushed(engine)
    answer = post(f"{receiver}/stk", json=stk_callback("ws_CO_100", code=1032))
    assert answer.json() == ACCEPTED
    assert statuses(engine) == [MpesaStatus.FAILED]
    assert payments(engine) == []


def test_the_same_callback_five_times_and_five_at_once_activates_once(engine, receiver):
    shop(engine)
    pushed(engine)
    payload = stk_callback("ws_CO_100")
    for _ in range(5):
        assert post(f"{receiver}/stk", json=payload).json() == ACCEPTED
    pushed(engine, "ws_CO_101")
    racing = stk_callback("ws_CO_101", receipt="NLJ7RT61SX")
    barrier = threading.Barrier(5)
    answers: list[int] = []

    def deliver() -> None:
        barrier.wait()
        answers.append(post(f"{receiver}/stk", json=racing).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [200] * 5
    wait_for(lambda: statuses(engine) == [MpesaStatus.APPLIED] * 2)
    assert sorted(p.reference for p in payments(engine)) == ["NLJ7RT61SV", "NLJ7RT61SX"]
    assert [r.deliveries for r in rows(engine)] == [5, 5]


def test_the_same_confirmation_five_times_and_five_at_once_pays_once(engine, receiver):
    shop(engine)
    url = f"{receiver}/c2b/confirmation"
    for _ in range(5):
        assert post(url, json=confirmation("RKTQDM7W50", "1500", "jdoe")).json() == ACCEPTED
    racing = confirmation("RKTQDM7W51", "1500", "jdoe")
    barrier = threading.Barrier(5)
    answers: list[int] = []

    def deliver() -> None:
        barrier.wait()
        answers.append(post(url, json=racing).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [200] * 5
    wait_for(lambda: statuses(engine) == [MpesaStatus.APPLIED] * 2)
    assert sorted(p.reference for p in payments(engine)) == ["RKTQDM7W50", "RKTQDM7W51"]
    assert [r.deliveries for r in rows(engine)] == [5, 5]
    assert [r.note for r in rows(engine)] == [
        "new: jdoe on Home 10M",
        "renewed: jdoe on Home 10M",
    ]


def test_c2b_matched_and_unmatched(engine, receiver):
    shop(engine)
    assert (
        post(f"{receiver}/c2b/validation", json=confirmation("RKTQDM7W60", "1500", "jdoe")).json()
        == ACCEPTED
    )
    answer = post(f"{receiver}/c2b/confirmation", json=confirmation("RKTQDM7W60", "1500", "jdoe"))
    assert answer.json() == ACCEPTED
    post(f"{receiver}/c2b/confirmation", json=confirmation("RKTQDM7W61", "1500", "ghost"))
    wait_for(lambda: statuses(engine) == [MpesaStatus.APPLIED, MpesaStatus.UNMATCHED])
    assert [p.reference for p in payments(engine)] == ["RKTQDM7W60"]


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/../wrong-token-0123456789/stk", stk_callback("ws_CO_100"), 404),
        ("/stk", stk_callback("ws_CO_unknown"), 400),
        ("/stk", b"{not json", 400),
        ("/stk", b'{"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_100"}}}', 400),
        ("/stk", b"x" * 100_000, 413),
        (
            "/c2b/confirmation",
            confirmation("RKTQDM7W62", "1500", "jdoe", BusinessShortCode="999999"),
            400,
        ),
        ("/c2b/confirmation", confirmation("RKTQDM7W63", "-1500", "jdoe"), 400),
        (
            "/c2b/validation",
            confirmation("RKTQDM7W64", "1500", "jdoe", BusinessShortCode="999999"),
            400,
        ),
    ],
)
def test_forged_and_malformed_callbacks_are_rejected_and_change_nothing(
    engine, receiver, path, body, status
):
    shop(engine)
    pushed(engine)
    url = f"{receiver}{path}"
    if path.startswith("/.."):
        url = receiver.rsplit("/", 1)[0] + "/wrong-token-0123456789/stk"
    if isinstance(body, bytes):
        answer = post(url, content=body, headers={"content-type": "application/json"})
    else:
        answer = post(url, json=body)
    assert answer.status_code == status
    assert answer.json()["ResultCode"] != 0
    assert statuses(engine) == [MpesaStatus.PENDING]
    assert payments(engine) == []


def test_a_huge_body_without_a_length_is_cut_off(engine, receiver):
    shop(engine)

    def chunks():
        for _ in range(100):
            yield b"x" * 1000

    answer = post(f"{receiver}/stk", content=chunks())
    assert answer.status_code == 413
    assert rows(engine) == []


def test_a_source_outside_the_allowlist_is_refused_and_logged(sqlite_engine, caplog):
    shop(sqlite_engine)
    settings = Settings()
    settings.mpesa.allowlist = "196.201.214.200, 196.201.212.0/24"
    with receiving(sqlite_engine, settings) as url, caplog.at_level("WARNING", logger="wisp.mpesa"):
        answer = post(f"{url}/c2b/confirmation", json=confirmation("RKTQDM7W65", "1500", "jdoe"))
    assert answer.status_code == 403
    assert rows(sqlite_engine) == []
    assert "source 127.0.0.1 is not in mpesa.allowlist" in caplog.text
    assert TOKEN not in caplog.text


def test_behind_a_local_reverse_proxy_the_forwarded_address_is_checked(sqlite_engine):
    shop(sqlite_engine)
    settings = Settings()
    settings.mpesa.allowlist = "196.201.214.200"
    with receiving(sqlite_engine, settings) as base:
        url = f"{base}/c2b/confirmation"
        refused = post(
            url,
            json=confirmation("RKTQDM7W66", "1500", "jdoe"),
            headers={"X-Forwarded-For": "203.0.113.9"},
        )
        accepted = post(
            url,
            json=confirmation("RKTQDM7W67", "1500", "jdoe"),
            headers={"X-Forwarded-For": "196.201.214.200"},
        )
    assert (refused.status_code, accepted.status_code) == (403, 200)
    assert [r.receipt for r in rows(sqlite_engine)] == ["RKTQDM7W67"]
