"""The simulated Daraja API: a Starlette app over one `Daraja` state.

Endpoints and shapes follow Safaricom's Daraja documentation:

- GET  /oauth/v1/generate?grant_type=client_credentials   Basic consumer key:secret -> token
- POST /mpesa/stkpush/v1/processrequest                    STK Push; the result is sent to
                                                           CallBackURL after the callback delay
- POST /mpesa/stkpushquery/v1/query                        the result of a push, once decided
- POST /mpesa/c2b/v1/registerurl                           validation and confirmation URLs
- POST /mpesa/c2b/v1/simulate                              a customer paying the paybill or till
- POST /pulltransactions/v1/register, /pulltransactions/v1/query

Results of a push: per phone number (`outcomes`), else chosen at random among 0 (paid), 1032
(cancelled by the user) and 1037 (the phone could not be reached). A callback may be dropped at
random (`drop_rate`) while the payment itself still happens: the query and the pull see it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import random
import secrets
import string
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

logger = logging.getLogger("wisp.sim_mpesa")

NAIROBI = ZoneInfo("Africa/Nairobi")
SANDBOX_SHORTCODE = "174379"
SANDBOX_PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"
RESULTS = {
    0: "The service request is processed successfully.",
    1: "The balance is insufficient for the transaction.",
    1032: "Request cancelled by user",
    1037: "DS timeout user cannot be reached",
    2001: "The initiator information is invalid.",
}
RANDOM_RESULTS = (0, 1032, 1037)


def nairobi_stamp(moment: datetime | None = None) -> str:
    """YYYYMMDDHHmmss in Nairobi time, as Daraja writes and expects it."""
    return (moment or datetime.now(UTC)).astimezone(NAIROBI).strftime("%Y%m%d%H%M%S")


def receipt_number(rng: random.Random) -> str:
    """A receipt like M-Pesa's: ten capitals and digits, starting with a letter."""
    alphabet = string.ascii_uppercase + string.digits
    return rng.choice(string.ascii_uppercase) + "".join(rng.choice(alphabet) for _ in range(9))


@dataclass
class Push:
    """One STK Push and what became of it."""

    merchant_request_id: str
    checkout_request_id: str
    shortcode: str
    amount: Decimal
    phone: str
    account_reference: str
    callback_url: str
    requested_at: datetime
    result_code: int | None = None
    receipt: str | None = None
    decided_at: datetime | None = None
    callback_dropped: bool = False
    callbacks_sent: int = 0


@dataclass
class Payment:
    """A completed payment into a shortcode (STK or C2B), as Pull Transactions lists it."""

    receipt: str
    shortcode: str
    amount: Decimal
    msisdn: str
    bill_ref: str
    at: datetime
    kind: str  # "c2b-pay-bill-debit" | "c2b-buy-goods-debit"


@dataclass
class Daraja:
    """The simulator's state; tests reach into it, the HTTP API changes it."""

    consumer_key: str | None = None
    consumer_secret: str | None = None
    passkeys: dict[str, str] = field(default_factory=lambda: {SANDBOX_SHORTCODE: SANDBOX_PASSKEY})
    callback_delay: float = 2.0
    drop_rate: float = 0.0
    outcomes: dict[str, int] = field(default_factory=dict)
    seed: int | None = None
    token_seconds: int = 3599

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.lock = threading.Lock()
        self.tokens: dict[str, datetime] = {}
        self.pushes: dict[str, Push] = {}
        self.c2b_urls: dict[str, dict[str, str]] = {}
        self.pull_urls: dict[str, dict[str, str]] = {}
        self.payments: list[Payment] = []
        self.callbacks: list[dict[str, Any]] = []
        """Every callback sent: url, payload, the receiver's status and answer."""
        self._counter = 0

    def _next(self) -> int:
        with self.lock:
            self._counter += 1
            return self._counter

    def outcome_for(self, phone: str) -> int:
        if phone in self.outcomes:
            return self.outcomes[phone]
        return self.rng.choice(RANDOM_RESULTS)

    def record(self, payment: Payment) -> None:
        with self.lock:
            self.payments.append(payment)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {
            "requestId": f"{secrets.randbelow(10**8)}-{secrets.randbelow(10**8)}-1",
            "errorCode": code,
            "errorMessage": message,
        },
        status_code=status,
    )


class Refusal(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.response = _error(status, code, message)


def _authorised(state: Daraja, request: Request) -> None:
    header = request.headers.get("authorization", "")
    token = header[7:] if header.startswith("Bearer ") else ""
    expires = state.tokens.get(token)
    if expires is None or expires < datetime.now(UTC):
        raise Refusal(401, "404.001.03", "Invalid Access Token")


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise Refusal(400, "400.002.02", "Bad Request - Invalid Body") from None
    if not isinstance(body, dict):
        raise Refusal(400, "400.002.02", "Bad Request - Invalid Body")
    return body


def _need(body: dict[str, Any], *names: str) -> None:
    for name in names:
        if body.get(name) in (None, ""):
            raise Refusal(400, "400.002.02", f"Bad Request - Invalid {name}")


def _amount(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise Refusal(400, "400.002.02", "Bad Request - Invalid Amount") from None
    if not amount.is_finite() or amount < 1 or amount != amount.to_integral_value():
        raise Refusal(400, "400.002.02", "Bad Request - Invalid Amount")
    return amount


def _phone(value: Any, name: str) -> str:
    text = str(value)
    if not (text.isdigit() and text.startswith("254") and len(text) == 12):
        raise Refusal(400, "400.002.02", f"Bad Request - Invalid {name}")
    return text


def _password(state: Daraja, body: dict[str, Any]) -> str:
    """Check Password = base64(BusinessShortCode + Passkey + Timestamp); return the shortcode."""
    _need(body, "BusinessShortCode", "Password", "Timestamp")
    shortcode, stamp = str(body["BusinessShortCode"]), str(body["Timestamp"])
    passkey = state.passkeys.get(shortcode)
    if passkey is None:
        raise Refusal(400, "400.002.02", "Bad Request - Invalid BusinessShortCode")
    try:
        sent = base64.b64decode(str(body["Password"]), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        sent = ""
    if sent != shortcode + passkey + stamp:
        raise Refusal(400, "400.002.02", "Bad Request - Invalid Password")
    try:
        when = datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=NAIROBI)
    except ValueError:
        raise Refusal(400, "400.002.02", "Bad Request - Invalid Timestamp") from None
    if abs(datetime.now(UTC) - when) > timedelta(hours=1):
        raise Refusal(400, "400.002.02", "Bad Request - Invalid Timestamp")
    return shortcode


def build_app(state: Daraja) -> Starlette:
    """The Daraja API over `state`."""
    tasks: set[asyncio.Task[None]] = set()

    def later(coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def post(url: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        entry: dict[str, Any] = {"url": url, "payload": payload, "status": None, "answer": None}
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.post(url, json=payload)
            entry["status"] = response.status_code
            try:
                entry["answer"] = response.json()
            except ValueError:
                entry["answer"] = response.text
        except httpx.HTTPError as exc:
            entry["answer"] = f"{type(exc).__name__}: {exc}"
            logger.warning("callback to %s failed: %s", url, entry["answer"])
        with state.lock:
            state.callbacks.append(entry)
        return entry["answer"] if isinstance(entry["answer"], dict) else None

    async def token(request: Request) -> JSONResponse:
        if request.query_params.get("grant_type") != "client_credentials":
            return _error(400, "400.008.02", "Invalid grant type passed")
        header = request.headers.get("authorization", "")
        try:
            key, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            key = secret = ""
        if not header.startswith("Basic ") or not key or not secret:
            return _error(400, "400.008.01", "Invalid Authentication passed")
        if state.consumer_key is not None and (key, secret) != (
            state.consumer_key,
            state.consumer_secret,
        ):
            return _error(400, "400.008.01", "Invalid Authentication passed")
        access = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(28))
        state.tokens[access] = datetime.now(UTC) + timedelta(seconds=state.token_seconds)
        return JSONResponse({"access_token": access, "expires_in": str(state.token_seconds)})

    async def stk_push(request: Request) -> JSONResponse:
        try:
            _authorised(state, request)
            body = await _json(request)
            shortcode = _password(state, body)
            _need(
                body,
                "TransactionType",
                "Amount",
                "PartyA",
                "PartyB",
                "PhoneNumber",
                "CallBackURL",
                "AccountReference",
                "TransactionDesc",
            )
            if body["TransactionType"] not in ("CustomerPayBillOnline", "CustomerBuyGoodsOnline"):
                raise Refusal(400, "400.002.02", "Bad Request - Invalid TransactionType")
            amount = _amount(body["Amount"])
            phone = _phone(body["PhoneNumber"], "PhoneNumber")
            _phone(body["PartyA"], "PartyA")
            url = str(body["CallBackURL"])
            if not url.startswith(("http://", "https://")):
                raise Refusal(400, "400.002.02", "Bad Request - Invalid CallBackURL")
            if len(str(body["AccountReference"])) > 12:
                raise Refusal(400, "400.002.02", "Bad Request - Invalid AccountReference")
        except Refusal as refusal:
            return refusal.response
        n = state._next()
        now = datetime.now(UTC)
        push = Push(
            merchant_request_id=f"{29115 + n}-{34620561 + n}-1",
            checkout_request_id=f"ws_CO_{now.astimezone(NAIROBI):%d%m%Y%H%M%S}{n:09d}",
            shortcode=shortcode,
            amount=amount,
            phone=phone,
            account_reference=str(body["AccountReference"]),
            callback_url=url,
            requested_at=now,
        )
        with state.lock:
            state.pushes[push.checkout_request_id] = push
        later(_answer_push(push))
        return JSONResponse(
            {
                "MerchantRequestID": push.merchant_request_id,
                "CheckoutRequestID": push.checkout_request_id,
                "ResponseCode": "0",
                "ResponseDescription": "Success. Request accepted for processing",
                "CustomerMessage": "Success. Request accepted for processing",
            }
        )

    async def _answer_push(push: Push) -> None:
        await asyncio.sleep(state.callback_delay)
        decide(push)
        if push.callback_dropped:
            logger.info("callback of %s dropped", push.checkout_request_id)
            return
        await send_stk_callback(push)

    def decide(push: Push) -> None:
        with state.lock:
            if push.result_code is not None:
                return
            push.result_code = state.outcome_for(push.phone)
            push.decided_at = datetime.now(UTC)
            push.callback_dropped = state.rng.random() < state.drop_rate
            if push.result_code == 0:
                push.receipt = receipt_number(state.rng)
        if push.result_code == 0 and push.receipt:
            state.record(
                Payment(
                    push.receipt,
                    push.shortcode,
                    push.amount,
                    push.phone,
                    push.account_reference,
                    push.decided_at or datetime.now(UTC),
                    "c2b-pay-bill-debit",
                )
            )

    async def send_stk_callback(push: Push) -> None:
        push.callbacks_sent += 1
        await post(push.callback_url, stk_callback(push))

    async def stk_query(request: Request) -> JSONResponse:
        try:
            _authorised(state, request)
            body = await _json(request)
            _password(state, body)
            _need(body, "CheckoutRequestID")
        except Refusal as refusal:
            return refusal.response
        push = state.pushes.get(str(body["CheckoutRequestID"]))
        if push is None:
            return _error(
                500,
                "500.001.1001",
                "Unable to lock subscriber, a transaction is already in process for the current subscriber",
            )
        if push.result_code is None:
            return _error(500, "500.001.1001", "The transaction is being processed")
        return JSONResponse(
            {
                "ResponseCode": "0",
                "ResponseDescription": "The service request has been accepted successsfully",
                "MerchantRequestID": push.merchant_request_id,
                "CheckoutRequestID": push.checkout_request_id,
                "ResultCode": str(push.result_code),
                "ResultDesc": RESULTS.get(push.result_code, "Failed"),
            }
        )

    async def register_url(request: Request) -> JSONResponse:
        try:
            _authorised(state, request)
            body = await _json(request)
            _need(body, "ShortCode", "ResponseType", "ConfirmationURL", "ValidationURL")
            if body["ResponseType"] not in ("Completed", "Cancelled"):
                raise Refusal(400, "400.002.02", "Bad Request - Invalid ResponseType")
            for name in ("ConfirmationURL", "ValidationURL"):
                lowered = str(body[name]).lower()
                if "mpesa" in lowered or "safaricom" in lowered:
                    raise Refusal(400, "400.002.02", f"Bad Request - Invalid {name}")
        except Refusal as refusal:
            return refusal.response
        state.c2b_urls[str(body["ShortCode"])] = {
            "confirmation": str(body["ConfirmationURL"]),
            "validation": str(body["ValidationURL"]),
            "response_type": str(body["ResponseType"]),
        }
        return JSONResponse(
            {
                "OriginatorCoversationID": f"{state._next()}-{secrets.randbelow(10**7)}-1",
                "ResponseCode": "0",
                "ResponseDescription": "Success",
            }
        )

    async def simulate(request: Request) -> JSONResponse:
        try:
            _authorised(state, request)
            body = await _json(request)
            _need(body, "ShortCode", "CommandID", "Amount", "Msisdn")
            if body["CommandID"] not in ("CustomerPayBillOnline", "CustomerBuyGoodsOnline"):
                raise Refusal(400, "400.002.02", "Bad Request - Invalid CommandID")
            amount = _amount(body["Amount"])
            msisdn = _phone(body["Msisdn"], "Msisdn")
            shortcode = str(body["ShortCode"])
            if shortcode not in state.c2b_urls:
                raise Refusal(400, "400.002.02", "Bad Request - Invalid ShortCode")
        except Refusal as refusal:
            return refusal.response
        paybill = body["CommandID"] == "CustomerPayBillOnline"
        receipt = receipt_number(state.rng)
        payload = {
            "TransactionType": "Pay Bill" if paybill else "Buy Goods",
            "TransID": receipt,
            "TransTime": nairobi_stamp(),
            "TransAmount": f"{amount:.2f}",
            "BusinessShortCode": shortcode,
            "BillRefNumber": str(body.get("BillRefNumber") or "") if paybill else "",
            "InvoiceNumber": "",
            "OrgAccountBalance": "",
            "ThirdPartyTransID": "",
            "MSISDN": msisdn,
            "FirstName": str(body.get("FirstName") or "John"),
            "MiddleName": "",
            "LastName": "",
        }
        later(_c2b(shortcode, payload, amount, msisdn, paybill))
        return JSONResponse(
            {
                "OriginatorCoversationID": f"{state._next()}-{secrets.randbelow(10**7)}-1",
                "ResponseCode": "0",
                "ResponseDescription": "Accept the service request successfully.",
            }
        )

    async def _c2b(
        shortcode: str, payload: dict[str, Any], amount: Decimal, msisdn: str, paybill: bool
    ) -> None:
        urls = state.c2b_urls[shortcode]
        verdict = await post(urls["validation"], payload)
        if verdict is None:
            proceed = urls["response_type"] == "Completed"
        else:
            proceed = str(verdict.get("ResultCode")) == "0"
        if not proceed:
            return
        payment = Payment(
            str(payload["TransID"]),
            shortcode,
            amount,
            msisdn,
            str(payload["BillRefNumber"]),
            datetime.now(UTC),
            "c2b-pay-bill-debit" if paybill else "c2b-buy-goods-debit",
        )
        state.record(payment)
        if state.rng.random() < state.drop_rate:
            logger.info("confirmation of %s dropped", payment.receipt)
            return
        confirmed = dict(payload, OrgAccountBalance="49197.00")
        await post(urls["confirmation"], confirmed)

    async def pull_register(request: Request) -> JSONResponse:
        try:
            _authorised(state, request)
            body = await _json(request)
            _need(body, "ShortCode", "RequestType", "NominatedNumber", "CallBackURL")
        except Refusal as refusal:
            return refusal.response
        state.pull_urls[str(body["ShortCode"])] = {"callback": str(body["CallBackURL"])}
        return JSONResponse(
            {
                "ResponseRefID": f"{state._next()}-{secrets.randbelow(10**7)}-1",
                "ResponseStatus": "1000",
                "ShortCode": str(body["ShortCode"]),
                "ResponseDescription": "ShortCode Registered Successfully",
            }
        )

    async def pull_query(request: Request) -> JSONResponse:
        try:
            _authorised(state, request)
            body = await _json(request)
            _need(body, "ShortCode", "StartDate", "EndDate")
            shortcode = str(body["ShortCode"])
            if shortcode not in state.pull_urls:
                raise Refusal(400, "400.002.02", "Bad Request - ShortCode not registered")
            start = _pull_date(str(body["StartDate"]))
            end = _pull_date(str(body["EndDate"]))
            offset = int(str(body.get("OffSetValue") or "0"))
        except (Refusal, ValueError) as refusal:
            if isinstance(refusal, Refusal):
                return refusal.response
            return _error(400, "400.002.02", "Bad Request - Invalid OffSetValue")
        with state.lock:
            found = [
                p
                for p in state.payments
                # Daraja's dates are to the second: a payment in the window's last second is in it.
                if p.shortcode == shortcode
                and start <= p.at.astimezone(NAIROBI).replace(microsecond=0) <= end
            ]
        page = found[offset : offset + 1000]
        return JSONResponse(
            {
                "ResponseRefID": f"{state._next()}-{secrets.randbelow(10**7)}-1",
                "ResponseCode": "1000",
                "ResponseMessage": "Success",
                "Response": [
                    [
                        {
                            "transactionId": p.receipt,
                            "trxDate": p.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                            "msisdn": int(p.msisdn),
                            "sender": "UNKNOWN",
                            "transactiontype": p.kind,
                            "billreference": p.bill_ref,
                            "amount": f"{p.amount:.1f}",
                            "organizationname": "WISP Console Simulated Shortcode",
                        }
                        for p in page
                    ]
                ],
            }
        )

    app = Starlette(
        routes=[
            Route("/oauth/v1/generate", token, methods=["GET"]),
            Route("/mpesa/stkpush/v1/processrequest", stk_push, methods=["POST"]),
            Route("/mpesa/stkpushquery/v1/query", stk_query, methods=["POST"]),
            Route("/mpesa/c2b/v1/registerurl", register_url, methods=["POST"]),
            Route("/mpesa/c2b/v1/simulate", simulate, methods=["POST"]),
            Route("/pulltransactions/v1/register", pull_register, methods=["POST"]),
            Route("/pulltransactions/v1/query", pull_query, methods=["POST"]),
        ]
    )
    app.state.daraja = state
    return app


def _pull_date(text: str) -> datetime:
    """Pull Transactions dates: `2020-08-04 8:36:00` in Nairobi time."""
    for form in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(text.strip(), form).replace(tzinfo=NAIROBI)
        except ValueError:
            continue
    raise Refusal(400, "400.002.02", "Bad Request - Invalid date")


def stk_callback(push: Push) -> dict[str, Any]:
    """The result callback Daraja posts to CallBackURL."""
    code = push.result_code if push.result_code is not None else 1037
    callback: dict[str, Any] = {
        "MerchantRequestID": push.merchant_request_id,
        "CheckoutRequestID": push.checkout_request_id,
        "ResultCode": code,
        "ResultDesc": RESULTS.get(code, "Failed"),
    }
    if code == 0:
        callback["CallbackMetadata"] = {
            "Item": [
                {"Name": "Amount", "Value": float(push.amount)},
                {"Name": "MpesaReceiptNumber", "Value": push.receipt},
                {
                    "Name": "TransactionDate",
                    "Value": int(nairobi_stamp(push.decided_at or push.requested_at)),
                },
                {"Name": "PhoneNumber", "Value": int(push.phone)},
            ]
        }
    return {"Body": {"stkCallback": callback}}
