"""The Daraja client: Safaricom's M-Pesa API over httpx. It knows nothing of the database.

One `DarajaClient` per shortcode; the OAuth token is fetched on first use and again shortly before
it expires (or when Daraja says it is no longer valid). Every failure is a `DarajaError` whose text
is one sentence without the credentials.
"""

from __future__ import annotations

import base64
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx

NAIROBI = ZoneInfo("Africa/Nairobi")
SANDBOX_URL = "https://sandbox.safaricom.co.ke"
PROCESSING = "500.001.1001"
"""Daraja's error code while an STK Push has no result yet."""


class DarajaError(Exception):
    """Daraja refused a request or could not be reached."""

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.status = status


def nairobi_stamp(moment: datetime | None = None) -> str:
    """YYYYMMDDHHmmss in Nairobi time, as Daraja expects its Timestamp."""
    return (moment or datetime.now(UTC)).astimezone(NAIROBI).strftime("%Y%m%d%H%M%S")


def stk_password(shortcode: str, passkey: str, stamp: str) -> str:
    """Password = base64(BusinessShortCode + Passkey + Timestamp)."""
    return base64.b64encode(f"{shortcode}{passkey}{stamp}".encode()).decode()


@dataclass(frozen=True)
class Credentials:
    consumer_key: str
    consumer_secret: str
    passkey: str


@dataclass(frozen=True)
class PushAccepted:
    """Daraja took an STK Push; its result comes later to the callback URL."""

    merchant_request_id: str
    checkout_request_id: str
    customer_message: str
    raw: dict[str, Any]


@dataclass(frozen=True)
class PushStatus:
    """What an STK Push Query said: `result_code` None while the customer has not answered."""

    checkout_request_id: str
    result_code: int | None
    result_desc: str
    raw: dict[str, Any]


class DarajaClient:
    """Calls Daraja for one shortcode (paybill, or till with its store number as `shortcode`)."""

    def __init__(
        self,
        base_url: str,
        shortcode: str,
        credentials: Credentials,
        *,
        till: str | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.shortcode = shortcode
        self.till = till
        self._credentials = credentials
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> DarajaClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- plumbing ------------------------------------------------------------------------------

    def token(self) -> str:
        with self._lock:
            if self._token and self._token[1] > time.monotonic():
                return self._token[0]
            pair = f"{self._credentials.consumer_key}:{self._credentials.consumer_secret}"
            basic = base64.b64encode(pair.encode()).decode()
            data = self._send(
                "GET",
                "/oauth/v1/generate",
                params={"grant_type": "client_credentials"},
                headers={"Authorization": f"Basic {basic}"},
            )
            token = str(data.get("access_token") or "")
            if not token:
                raise DarajaError("Daraja gave no access token.")
            life = float(str(data.get("expires_in") or "3599"))
            self._token = (token, time.monotonic() + max(life - 60, 1))
            return token

    def _call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        for attempt in (1, 2):
            try:
                return self._send(
                    "POST", path, json=body, headers={"Authorization": f"Bearer {self.token()}"}
                )
            except DarajaError as error:
                if error.status == 401 and attempt == 1:
                    with self._lock:
                        self._token = None
                    continue
                raise
        raise AssertionError("unreachable")

    def _send(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise DarajaError(
                f"Daraja at {self.base_url} cannot be reached ({type(exc).__name__}: {exc})."
            ) from None
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise DarajaError(
                f"Daraja answered {path} with HTTP {response.status_code} and no JSON object.",
                status=response.status_code,
            )
        if response.status_code >= 400:
            code = str(data.get("errorCode") or "")
            message = str(data.get("errorMessage") or data.get("error_description") or "refused")
            raise DarajaError(
                f"Daraja refused {path}: {message} ({code or response.status_code}).",
                code=code or None,
                status=response.status_code,
            )
        return data

    def _password_fields(self) -> dict[str, str]:
        stamp = nairobi_stamp()
        return {
            "BusinessShortCode": self.shortcode,
            "Password": stk_password(self.shortcode, self._credentials.passkey, stamp),
            "Timestamp": stamp,
        }

    # -- STK Push (M-Pesa Express) -------------------------------------------------------------

    def stk_push(
        self,
        *,
        phone: str,
        amount: Decimal,
        account_reference: str,
        description: str,
        callback_url: str,
    ) -> PushAccepted:
        """Ask the customer's phone (2547XXXXXXXX) to pay `amount` (whole shillings)."""
        body = {
            **self._password_fields(),
            "TransactionType": "CustomerBuyGoodsOnline" if self.till else "CustomerPayBillOnline",
            "Amount": int(amount),
            "PartyA": phone,
            "PartyB": self.till or self.shortcode,
            "PhoneNumber": phone,
            "CallBackURL": callback_url,
            "AccountReference": account_reference[:12],
            "TransactionDesc": description[:13],
        }
        data = self._call("/mpesa/stkpush/v1/processrequest", body)
        if str(data.get("ResponseCode")) != "0" or not data.get("CheckoutRequestID"):
            raise DarajaError(
                f"Daraja did not accept the push: {data.get('ResponseDescription') or data}."
            )
        return PushAccepted(
            merchant_request_id=str(data.get("MerchantRequestID") or ""),
            checkout_request_id=str(data["CheckoutRequestID"]),
            customer_message=str(data.get("CustomerMessage") or ""),
            raw=data,
        )

    def stk_query(self, checkout_request_id: str) -> PushStatus:
        """The result of a push; `result_code` None while it is still being processed."""
        body = {**self._password_fields(), "CheckoutRequestID": checkout_request_id}
        try:
            data = self._call("/mpesa/stkpushquery/v1/query", body)
        except DarajaError as error:
            if error.code == PROCESSING:
                return PushStatus(checkout_request_id, None, str(error), {})
            raise
        code = data.get("ResultCode")
        return PushStatus(
            checkout_request_id=str(data.get("CheckoutRequestID") or checkout_request_id),
            result_code=int(str(code)) if code not in (None, "") else None,
            result_desc=str(data.get("ResultDesc") or ""),
            raw=data,
        )

    # -- C2B -----------------------------------------------------------------------------------

    def register_c2b(
        self, *, confirmation_url: str, validation_url: str, response_type: str = "Completed"
    ) -> dict[str, Any]:
        """Register where Daraja posts C2B validations and confirmations for this shortcode."""
        return self._call(
            "/mpesa/c2b/v1/registerurl",
            {
                "ShortCode": self.till or self.shortcode,
                "ResponseType": response_type,
                "ConfirmationURL": confirmation_url,
                "ValidationURL": validation_url,
            },
        )

    def simulate_c2b(self, *, amount: Decimal, msisdn: str, bill_ref: str) -> dict[str, Any]:
        """The sandbox's customer payment (paybill with an account number, or till)."""
        return self._call(
            "/mpesa/c2b/v1/simulate",
            {
                "ShortCode": self.till or self.shortcode,
                "CommandID": "CustomerBuyGoodsOnline" if self.till else "CustomerPayBillOnline",
                "Amount": int(amount),
                "Msisdn": msisdn,
                "BillRefNumber": bill_ref,
            },
        )

    # -- Pull Transactions ---------------------------------------------------------------------

    def pull_register(self, *, nominated_number: str, callback_url: str) -> dict[str, Any]:
        return self._call(
            "/pulltransactions/v1/register",
            {
                "ShortCode": self.till or self.shortcode,
                "RequestType": "Pull",
                "NominatedNumber": nominated_number,
                "CallBackURL": callback_url,
            },
        )

    def pull(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Every transaction into the shortcode from `start` to `end`, page by page."""
        found: list[dict[str, Any]] = []
        while True:
            data = self._call(
                "/pulltransactions/v1/query",
                {
                    "ShortCode": self.till or self.shortcode,
                    "StartDate": f"{start.astimezone(NAIROBI):%Y-%m-%d %H:%M:%S}",
                    "EndDate": f"{end.astimezone(NAIROBI):%Y-%m-%d %H:%M:%S}",
                    "OffSetValue": str(len(found)),
                },
            )
            pages = data.get("Response") or []
            batch = [
                item
                for page in pages
                if isinstance(page, list)
                for item in page
                if isinstance(item, dict)
            ]
            found += batch
            if len(batch) < 1000:
                return found
