"""Payloads shaped as Daraja sends them, and a shop to pay into."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.models import MpesaTransaction, Payment
from tests import factories

SHORTCODE = "174379"
PATIENCE = 60.0
"""Seconds a test waits for an answer: on a loaded machine an answer may wait behind an
activation, and no test here is about speed."""


def post(url: str, **kwargs: Any) -> httpx.Response:
    """POST as Daraja does, waiting as long as a busy machine needs."""
    return httpx.post(url, timeout=PATIENCE, **kwargs)


def shop(engine: Engine) -> None:
    """Router r1; Home 10M (1500, hotspot), Day 5M (50, hotspot, 1 day); client jdoe (+254708374149)."""
    factories.router(engine)
    factories.package(engine)
    factories.package(engine, "Day 5M", rate="5M", validity="1d", price="50")
    factories.client(engine, phone="0708374149")


def confirmation(receipt: str, amount: str, bill_ref: str, **extra: Any) -> dict[str, Any]:
    return {
        "TransactionType": "Pay Bill",
        "TransID": receipt,
        "TransTime": "20261130101500",
        "TransAmount": amount,
        "BusinessShortCode": SHORTCODE,
        "BillRefNumber": bill_ref,
        "InvoiceNumber": "",
        "OrgAccountBalance": "49197.00",
        "ThirdPartyTransID": "",
        "MSISDN": "254708374149",
        "FirstName": "John",
        "MiddleName": "",
        "LastName": "Doe",
        **extra,
    }


def stk_callback(
    checkout: str, code: int = 0, receipt: str = "NLJ7RT61SV", amount: float = 50.0
) -> dict[str, Any]:
    callback: dict[str, Any] = {
        "MerchantRequestID": "29115-34620561-1",
        "CheckoutRequestID": checkout,
        "ResultCode": code,
        "ResultDesc": "The service request is processed successfully."
        if code == 0
        else "Request cancelled by user",
    }
    if code == 0:
        callback["CallbackMetadata"] = {
            "Item": [
                {"Name": "Amount", "Value": amount},
                {"Name": "MpesaReceiptNumber", "Value": receipt},
                {"Name": "Balance"},
                {"Name": "TransactionDate", "Value": 20261130101500},
                {"Name": "PhoneNumber", "Value": 254708374149},
            ]
        }
    return {"Body": {"stkCallback": callback}}


def payments(engine: Engine) -> list[Payment]:
    with Session(engine) as session:
        return list(session.scalars(select(Payment).order_by(Payment.id)))  # type: ignore[arg-type]


def rows(engine: Engine) -> list[MpesaTransaction]:
    with Session(engine) as session:
        return list(session.scalars(select(MpesaTransaction).order_by(MpesaTransaction.id)))  # type: ignore[arg-type]


def credit(engine: Engine, username: str = "jdoe") -> Decimal:
    from db.models import Client

    with Session(engine) as session:
        return session.scalars(
            select(Client.credit).where(func.lower(Client.username) == username)  # type: ignore[arg-type]
        ).one()
