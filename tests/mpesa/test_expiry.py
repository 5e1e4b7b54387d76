"""STK pushes left unanswered: after mpesa.push_expiry (a day by default) each is queried once
more, then closed as expired, so recovery stops asking Daraja about it; a success is never
downgraded. Real HTTP to the Daraja simulator, on every database."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from db.config import Settings
from db.models import MpesaStatus
from db.mpesa import expire_push, pushes_to_query, record_push
from db.types import utcnow
from scheduler.mpesa.recovery import Recovery, expire_pushes, recover
from tests.cli.conftest import Wisp
from tests.mpesa.helpers import payments, post, rows, shop, stk_callback
from tests.waiting import wait_for

PHONE = "254708374149"
ACCEPTED = {"ResultCode": 0, "ResultDesc": "Accepted"}


def pushed(engine, checkout: str) -> int:
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


def status_of(engine) -> dict[str, str]:
    return {str(r.checkout_request_id): r.status for r in rows(engine)}


def paid_at_daraja_callback_lost(sim, daraja) -> str:
    """A push the customer paid whose callback never came: only a query can tell."""
    state = sim[0]
    state.outcomes[PHONE] = 0
    state.drop_rate = 1.0
    sent = daraja.stk_push(
        phone=PHONE,
        amount=Decimal(50),
        account_reference="jdoe",
        description="Internet",
        callback_url="http://127.0.0.1:9/nowhere",
    )
    checkout = sent.checkout_request_id
    wait_for(lambda: state.pushes[checkout].result_code == 0)
    return checkout


def test_an_unanswered_push_expires_after_a_day_and_a_paid_one_is_applied(
    engine, sim, daraja, receiver, tmp_path
):
    shop(engine)
    settings = Settings()
    pushed(engine, "ws_CO_silent")  # Daraja has no result for it (the phone never rang)
    paid = paid_at_daraja_callback_lost(sim, daraja)
    pushed(engine, paid)

    within_the_day = Recovery()
    expire_pushes(engine, settings, daraja, within_the_day, now=utcnow() + timedelta(hours=23))
    assert (within_the_day.queried, within_the_day.expired) == (0, 0)
    assert set(status_of(engine).values()) == {MpesaStatus.PENDING}

    a_day_on = Recovery()
    expire_pushes(engine, settings, daraja, a_day_on, now=utcnow() + timedelta(days=1, minutes=1))
    assert (a_day_on.queried, a_day_on.answered, a_day_on.expired) == (2, 1, 1)
    assert status_of(engine) == {"ws_CO_silent": MpesaStatus.EXPIRED, paid: MpesaStatus.APPLIED}
    [expired] = [r for r in rows(engine) if r.status == MpesaStatus.EXPIRED]
    assert expired.note == "no callback, and no result from Daraja after 24 h."
    assert len(payments(engine)) == 1

    # Recovery no longer asks Daraja about it, and a second expiry round changes nothing.
    assert pushes_to_query(engine, timedelta(0)) == []
    report = recover(engine, settings, daraja, query_older_than=timedelta(0))
    assert (report.queried, report.expired) == (0, 0)
    again = Recovery()
    expire_pushes(engine, settings, daraja, again, now=utcnow() + timedelta(days=2))
    assert (again.queried, again.expired) == (0, 0)

    # Shown as such in `wisp pay list`.
    config = tmp_path / "config.toml"
    url = engine.url.render_as_string(hide_password=False)
    config.write_text(f"[database]\nurl = {json.dumps(url)}\n")
    listed = Wisp(config).ok("pay", "list", "--status", "expired", "--json").json()
    assert [(r["checkout_request_id"], r["status"]) for r in listed] == [
        ("ws_CO_silent", "expired")
    ]

    # Money that moved after all (a very late callback) is still taken: expired is not final.
    late = stk_callback(str(expired.checkout_request_id), receipt="NLJ7RT61ZZ")
    assert post(f"{receiver}/stk", json=late).json() == ACCEPTED
    wait_for(lambda: status_of(engine)["ws_CO_silent"] == MpesaStatus.APPLIED)
    assert len(payments(engine)) == 2


def test_expiry_never_downgrades_a_push_settled_meanwhile(engine, sim, daraja, receiver):
    shop(engine)
    pushed(engine, "ws_CO_late")
    # The callback arrives between the round's listing and its closing of the push.
    late = stk_callback("ws_CO_late", receipt="NLJ7RT61ZY")
    assert post(f"{receiver}/stk", json=late).json() == ACCEPTED
    wait_for(lambda: status_of(engine)["ws_CO_late"] == MpesaStatus.APPLIED)
    [row] = rows(engine)
    assert expire_push(engine, int(row.id or 0), "no callback") is False
    assert status_of(engine) == {"ws_CO_late": MpesaStatus.APPLIED}
    assert len(payments(engine)) == 1
