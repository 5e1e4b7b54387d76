"""A walk-in who paid by paybill (not the portal's STK Push) and was matched to no client: the
receipt code entered at the portal gives the payment to the payer's phone number and the hotspot
package of exactly its amount, and logs the device in; a second device, or an amount that is
no package's price, is refused in one sentence and the payment stays for the operator."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlmodel import Session, col

from db.models import MpesaStatus, MpesaTransaction, SystemLog
from scheduler.mpesa.receiver import callback_urls
from tests.mpesa.conftest import TOKEN
from tests.mpesa.helpers import confirmation
from tests.portal.conftest import Shop
from tests.portal.flow import follow
from tests.portal.test_codes import FIRST, SECOND, log_in
from tests.waiting import wait_for


def paid_by_paybill(shop: Shop, receipt: str, amount: str, account: str) -> None:
    """Daraja confirms a paybill payment with an account number no client has."""
    url = callback_urls(str(shop.settings.mpesa.callback_base_url), TOKEN)["confirmation"]
    body = confirmation(receipt, amount, account, BusinessShortCode=shop.settings.mpesa.shortcode)
    httpx.post(url, json=body, timeout=30).raise_for_status()
    wait_for(lambda: row(shop, receipt).status == MpesaStatus.UNMATCHED)


def row(shop: Shop, receipt: str) -> MpesaTransaction:
    with Session(shop.engine) as session:
        found = session.scalars(
            select(MpesaTransaction).where(col(MpesaTransaction.receipt) == receipt)
        ).first()
        assert found is not None
        return found


def test_a_paybill_payment_nobody_matched_is_claimed_by_its_receipt_code(shop: Shop) -> None:
    paid_by_paybill(shop, "QKP1PAYB1L", "50.00", "my phone")
    phone, hotspot_url = shop.walk_in(FIRST)
    start = phone.get(hotspot_url)
    # Claimed and applied at once; the page follows the account to the router, then logs in.
    login = follow(phone, phone.submit(start.form("/receipt"), receipt="qkp1payb1l"), "Connecting")
    assert phone.post_login(login.forms[0]).status_code == 302
    users = [(s["user"], s["mac-address"]) for s in shop.router.rows("/ip/hotspot/active")]
    assert users == [("c0708374149", FIRST)]
    [user] = [u for u in shop.router.rows("/ip/hotspot/user") if u["name"] == "c0708374149"]
    assert user["mac-address"] == FIRST, "a one-device package is bound to the device"
    claimed = row(shop, "QKP1PAYB1L")
    assert claimed.status == MpesaStatus.APPLIED
    with Session(shop.engine) as session:
        said = list(session.scalars(select(col(SystemLog.message))))
    assert (
        "M-Pesa transaction 1 (QKP1PAYB1L) assigned by the payer at the portal to c0708374149 on "
        "Day." in said
    )
    assert log_in(shop, SECOND, "receipt", "QKP1PAYB1L") == (
        "This payment is already in use on 1 device, all that Day allows. Back to packages"
    )


def test_a_paybill_amount_that_is_no_price_here_stays_for_the_operator(shop: Shop) -> None:
    paid_by_paybill(shop, "QKP2PAYB1L", "70.00", "c0708374149")
    assert log_in(shop, FIRST, "receipt", "QKP2PAYB1L") == (
        "Payment QKP2PAYB1L of KSh 70 is not the price of one package here; show the message "
        "to the attendant. Back to packages"
    )
    assert row(shop, "QKP2PAYB1L").status == MpesaStatus.UNMATCHED
    assert shop.router.rows("/ip/hotspot/active") == []
