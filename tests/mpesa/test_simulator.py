"""The Daraja simulator, driven by the product's Daraja client over real HTTP."""

from __future__ import annotations

import base64
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from scheduler.mpesa.daraja import Credentials, DarajaClient, DarajaError, stk_password
from scheduler.mpesa_sim.app import SANDBOX_PASSKEY, SANDBOX_SHORTCODE
from tests.waiting import wait_for

PHONE = "254708374149"


def push(daraja: DarajaClient, url: str, phone: str = PHONE, amount: int = 50):
    return daraja.stk_push(
        phone=phone,
        amount=Decimal(amount),
        account_reference="alice",
        description="Internet",
        callback_url=f"{url}/hook/stk",
    )


def test_token_needs_the_consumer_key_and_secret(sim, daraja):
    assert daraja.token()
    wrong = DarajaClient(sim[1].url, SANDBOX_SHORTCODE, Credentials("x", "y", SANDBOX_PASSKEY))
    with pytest.raises(DarajaError, match="Invalid Authentication"):
        wrong.token()
    answer = httpx.post(f"{sim[1].url}/mpesa/stkpush/v1/processrequest", json={})
    assert answer.status_code == 401
    assert answer.json()["errorMessage"] == "Invalid Access Token"


def test_the_password_is_base64_of_shortcode_passkey_and_timestamp():
    expected = base64.b64encode(b"174379" + SANDBOX_PASSKEY.encode() + b"20160216165627").decode()
    assert stk_password("174379", SANDBOX_PASSKEY, "20160216165627") == expected


def test_a_push_with_a_wrong_passkey_is_refused(sim):
    client = DarajaClient(
        sim[1].url,
        SANDBOX_SHORTCODE,
        Credentials("test-consumer-key", "test-consumer-secret", "nope"),
    )
    with pytest.raises(DarajaError, match="Invalid Password"):
        push(client, "http://127.0.0.1:1")


@pytest.mark.parametrize(
    ("code", "desc"),
    [(0, "processed successfully"), (1032, "cancelled by user"), (1037, "cannot be reached")],
)
def test_a_push_calls_back_with_its_result(sim, daraja, collector, code, desc):
    state, _ = sim
    seen, served = collector
    state.outcomes[PHONE] = code
    accepted = push(daraja, served.url)
    assert accepted.checkout_request_id.startswith("ws_CO_")
    assert daraja.stk_query(accepted.checkout_request_id).result_code is None  # still processing
    wait_for(lambda: len(seen.paths("/hook/stk")) == 1)
    callback = seen.paths("/hook/stk")[0]["Body"]["stkCallback"]
    assert callback["CheckoutRequestID"] == accepted.checkout_request_id
    assert callback["MerchantRequestID"] == accepted.merchant_request_id
    assert callback["ResultCode"] == code
    assert desc in callback["ResultDesc"]
    status = daraja.stk_query(accepted.checkout_request_id)
    assert (status.result_code, desc in status.result_desc) == (code, True)
    if code == 0:
        items = {i["Name"]: i["Value"] for i in callback["CallbackMetadata"]["Item"]}
        assert items["Amount"] == 50
        assert len(items["MpesaReceiptNumber"]) == 10
        assert items["PhoneNumber"] == int(PHONE)
        stamp = datetime.strptime(str(items["TransactionDate"]), "%Y%m%d%H%M%S")
        # Nairobi time: three hours ahead of UTC.
        utc = datetime.now(UTC).replace(tzinfo=None)
        assert abs(stamp - utc - timedelta(hours=3)) < timedelta(minutes=1)
    else:
        assert "CallbackMetadata" not in callback


def test_a_dropped_callback_still_pays_and_the_query_and_pull_see_it(sim, daraja, collector):
    state, _ = sim
    seen, served = collector
    state.outcomes[PHONE] = 0
    state.drop_rate = 1.0
    accepted = push(daraja, served.url)
    wait_for(lambda: daraja.stk_query(accepted.checkout_request_id).result_code is not None)
    assert daraja.stk_query(accepted.checkout_request_id).result_code == 0
    assert seen.paths("/hook/stk") == []
    daraja.pull_register(nominated_number="0722000000", callback_url=f"{served.url}/pull")
    now = datetime.now(UTC)
    pulled = daraja.pull(now - timedelta(hours=1), now + timedelta(minutes=1))
    assert [(p["billreference"], p["amount"], p["msisdn"]) for p in pulled] == [
        ("alice", "50.0", int(PHONE))
    ]


def test_c2b_simulate_calls_validation_then_confirmation(sim, daraja, collector):
    seen, served = collector
    daraja.register_c2b(
        confirmation_url=f"{served.url}/t/confirmation", validation_url=f"{served.url}/t/validation"
    )
    daraja.simulate_c2b(amount=Decimal(100), msisdn=PHONE, bill_ref="Alice ")
    wait_for(lambda: len(seen.paths("/t/confirmation")) == 1)
    validation = seen.paths("/t/validation")[0]
    confirmation = seen.paths("/t/confirmation")[0]
    assert validation["TransID"] == confirmation["TransID"]
    assert confirmation["TransAmount"] == "100.00"
    assert confirmation["BusinessShortCode"] == SANDBOX_SHORTCODE
    assert confirmation["BillRefNumber"] == "Alice "
    assert confirmation["MSISDN"] == PHONE
    assert confirmation["TransactionType"] == "Pay Bill"
    assert len(confirmation["TransTime"]) == 14


def test_a_rejected_validation_stops_the_payment(sim, daraja, collector):
    seen, served = collector
    seen.validation_answer = {"ResultCode": "C2B00012", "ResultDesc": "Rejected"}
    daraja.register_c2b(
        confirmation_url=f"{served.url}/t/confirmation", validation_url=f"{served.url}/t/validation"
    )
    daraja.simulate_c2b(amount=Decimal(100), msisdn=PHONE, bill_ref="nobody")
    wait_for(lambda: len(seen.paths("/t/validation")) == 1)
    wait_for(lambda: len(sim[0].callbacks) == 1)
    assert seen.paths("/t/confirmation") == []
    assert sim[0].payments == []


def test_register_url_refuses_the_words_daraja_refuses(daraja):
    with pytest.raises(DarajaError, match="ConfirmationURL"):
        daraja.register_c2b(
            confirmation_url="https://isp.example/mpesa/confirm",
            validation_url="https://isp.example/v",
        )


def test_wisp_sim_mpesa_serves_the_api():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "console.cli",
            "sim-mpesa",
            "--port",
            str(port),
            "--callback-delay",
            "100ms",
            "--drop-callbacks",
            "0.1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:

        def up() -> bool:
            try:
                answer = httpx.get(
                    f"http://127.0.0.1:{port}/oauth/v1/generate",
                    params={"grant_type": "client_credentials"},
                    auth=("k", "s"),
                )
            except httpx.HTTPError:
                return False
            return answer.status_code == 200 and bool(answer.json()["access_token"])

        wait_for(up)
    finally:
        process.terminate()
        process.wait(10)
    assert f"Daraja simulator on http://127.0.0.1:{port}" in (
        process.stdout.read() if process.stdout else ""
    )
