"""An operator's STK Push for a client and package, and following it to its end.

`wisp pay request` and the console's activation modal both ask for a payment through here: the
order is checked before Daraja is called, the push Daraja accepted is stored before anything else,
and each look at it applies a result that arrived (the receiver may be in another process) or asks
Daraja once the callback is overdue. Nothing here imports Textual.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from db.catalog import get_client, get_package
from db.config import Settings
from db.errors import UserError
from db.models import MpesaStatus, MpesaTransaction, Package, Router, RouterProvisioning
from db.mpesa import (
    apply,
    daraja_phone,
    get_transaction,
    mpesa_secrets,
    normalise_msisdn,
    record_push,
)
from scheduler.mpesa.daraja import DarajaClient, DarajaError
from scheduler.mpesa.receiver import callback_urls
from scheduler.mpesa.recovery import Recovery, query_push

MIN_TOKEN = 16
QUERY_EVERY = 5.0
"""Seconds between two STK Push Queries of one overdue push."""


def callback_urls_of(settings: Settings) -> dict[str, str]:
    """The public callback URLs Daraja is given; a one-sentence `UserError` naming what to set."""
    token = mpesa_secrets().callback_token
    if not settings.mpesa.callback_base_url:
        raise UserError(
            "set mpesa.callback_base_url to the public address Daraja reaches `wisp run` at."
        )
    if len(token) < MIN_TOKEN:
        raise UserError(
            f"WISP_MPESA_CALLBACK_TOKEN must hold a random secret of at least {MIN_TOKEN} "
            "characters."
        )
    return callback_urls(settings.mpesa.callback_base_url, token)


@dataclass(frozen=True)
class PushOrder:
    """Who is asked to pay, for what, on which phone: checked before Daraja is called."""

    client_id: int
    client: str
    package_id: int
    package: str
    phone: str
    amount: Decimal


def push_order(engine: Engine, client: str, package: str, phone: str | None = None) -> PushOrder:
    """The order for `client` on `package` at its price, to `phone` or the client's own phone."""
    with Session(engine) as session:
        buyer = get_client(session, client)
        bought = get_package(session, package)
    msisdn = normalise_msisdn(phone or buyer.phone)
    if msisdn is None:
        where = f"--phone {phone!r}" if phone else f"{buyer.username}'s phone"
        raise UserError(f"{where} is not a Kenyan mobile number (07..., 01... or 254...).")
    price = Decimal(bought.price)
    if price < 1 or price != price.to_integral_value():
        raise UserError(
            f"{bought.name} costs {price}; STK Push asks for whole shillings of at least 1."
        )
    return PushOrder(
        int(buyer.id or 0), buyer.username, int(bought.id or 0), bought.name, msisdn, price
    )


@dataclass(frozen=True)
class PushSent:
    """A push Daraja accepted, stored as an M-Pesa transaction pending its result."""

    row_id: int
    checkout_request_id: str
    order: PushOrder


def send_push(
    engine: Engine,
    settings: Settings,
    daraja: DarajaClient,
    order: PushOrder,
    *,
    origin: str = "operator",
    device: str | None = None,
) -> PushSent:
    """Ask Daraja to push the payment to the phone, and store the push it accepted (asked by
    `origin`: the operator, or the captive portal, from `device`)."""
    url = callback_urls_of(settings)["stk"]
    try:
        accepted = daraja.stk_push(
            phone=daraja_phone(order.phone),
            amount=order.amount,
            account_reference=order.client,
            description="Internet",
            callback_url=url,
        )
    except DarajaError as error:
        raise UserError(str(error)) from None
    row_id = record_push(
        engine,
        client_id=order.client_id,
        package_id=order.package_id,
        checkout_request_id=accepted.checkout_request_id,
        merchant_request_id=accepted.merchant_request_id,
        msisdn=order.phone,
        amount=order.amount,
        shortcode=settings.mpesa.shortcode,
        raw=accepted.raw,
        origin=origin,
        device=device,
    )
    return PushSent(row_id, accepted.checkout_request_id, order)


class PushWatch:
    """Looks at one push until it settles: paid (applied), not paid, or unmatched.

    A result stored but not applied is applied here (the receiver may be slower, or elsewhere);
    once the callback is overdue (`[mpesa] query_after`), Daraja is asked, at most every
    QUERY_EVERY seconds.
    """

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        daraja: DarajaClient | None,
        row_id: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.daraja = daraja
        self.row_id = row_id
        self.clock = clock
        self.started = clock()
        self._last_query = 0.0

    def look(self) -> MpesaTransaction:
        """The push's row now, after applying or asking Daraja when that is due."""
        row = get_transaction(self.engine, self.row_id)
        if row.status == MpesaStatus.RECEIVED:
            apply(self.engine, self.settings, self.row_id)
            return get_transaction(self.engine, self.row_id)
        if row.status == MpesaStatus.PENDING and self._query_due():
            self._last_query = self.clock()
            assert self.daraja is not None
            query_push(
                self.engine, self.settings, self.daraja, str(row.checkout_request_id), Recovery()
            )
            return get_transaction(self.engine, self.row_id)
        return row

    def _query_due(self) -> bool:
        now = self.clock()
        overdue = now - self.started >= self.settings.mpesa.query_after
        return self.daraja is not None and overdue and now - self._last_query >= QUERY_EVERY


def settled(row: MpesaTransaction) -> bool:
    """True once a push will not change by itself: applied, failed, expired or unmatched."""
    return row.status in (
        MpesaStatus.APPLIED,
        MpesaStatus.FAILED,
        MpesaStatus.EXPIRED,
        MpesaStatus.UNMATCHED,
    )


@dataclass(frozen=True)
class DeliveryJob:
    """The router account a paid push is delivered through."""

    job_id: int
    router: str


def delivery_job(
    engine: Engine, client_id: int | None, package_id: int | None
) -> DeliveryJob | None:
    """The client's router account for the package's router and service, if one is queued."""
    with Session(engine) as session:
        package = session.get(Package, package_id) if package_id else None
        if package is None:
            return None
        job = session.scalars(
            select(RouterProvisioning).where(
                col(RouterProvisioning.client_id) == client_id,
                col(RouterProvisioning.router_id) == package.router_id,
                col(RouterProvisioning.service_type) == package.type,
            )
        ).first()
        router = session.get(Router, package.router_id)
    if job is None:
        return None
    where = router.name if router else f"router {package.router_id}"
    return DeliveryJob(int(job.id or 0), where)
