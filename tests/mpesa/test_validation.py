"""[mpesa] refuse_unknown_accounts: a paybill payment to an account number that is no client's is
refused at C2B validation (C2B00012), so no money moves; off (the default), it is taken and left
unmatched. Through the Daraja simulator over HTTP, on every database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from db.config import Settings
from db.models import MpesaStatus
from scheduler.mpesa.receiver import INVALID_ACCOUNT
from tests.mpesa.conftest import receiving
from tests.mpesa.helpers import confirmation, payments, post, rows, shop
from tests.waiting import wait_for

PHONE = "254708374149"


@pytest.mark.parametrize("refuse", [True, False])
def test_a_payment_to_an_unknown_account_is_refused_only_when_asked(
    engine, sim, daraja, refuse, caplog
):
    shop(engine)
    settings = Settings()
    settings.mpesa.refuse_unknown_accounts = refuse
    state = sim[0]
    with receiving(engine, settings) as url:
        daraja.register_c2b(
            confirmation_url=f"{url}/c2b/confirmation", validation_url=f"{url}/c2b/validation"
        )
        with caplog.at_level("WARNING", logger="wisp.mpesa"):
            daraja.simulate_c2b(amount=Decimal(1500), msisdn=PHONE, bill_ref="ghost")
            daraja.simulate_c2b(amount=Decimal(1500), msisdn=PHONE, bill_ref=" JDoe ")
            if refuse:
                wait_for(lambda: [r.status for r in rows(engine)] == [MpesaStatus.APPLIED])
                # Daraja said no to the customer: the money never moved, nothing to pull later.
                assert [p.bill_ref for p in state.payments] == [" JDoe "]
                assert "no client has the account number 'ghost'" in caplog.text
            else:
                wait_for(
                    lambda: (
                        sorted(r.status for r in rows(engine))
                        == [MpesaStatus.APPLIED, MpesaStatus.UNMATCHED]
                    )
                )
                assert len(state.payments) == 2
        # The answer Daraja is given for it.
        answer = post(f"{url}/c2b/validation", json=confirmation("RKTQDM7W90", "1500", "nobody"))
    assert answer.status_code == 200
    assert answer.json() == (
        INVALID_ACCOUNT if refuse else {"ResultCode": 0, "ResultDesc": "Accepted"}
    )
    assert [p.reference for p in payments(engine) if p.reference] == [
        r.receipt for r in rows(engine) if r.status == MpesaStatus.APPLIED
    ]
