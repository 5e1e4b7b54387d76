"""The portal's pages: packages, pay with M-Pesa, the payment followed to its end, voucher and
receipt code; each ends, when it can, in the page that logs the device in at the hotspot."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from db import portal
from db.catalog import Refused
from db.errors import UserError
from db.models import MpesaStatus, MpesaTransaction, Package
from db.mpesa import get_transaction
from db.portal import PortalRefusal
from scheduler.mpesa.push import push_order, send_push
from scheduler.portal.csrf import FIELD
from scheduler.portal.hotspot import Hotspot, NotFromHotspot, from_query, login_fields
from scheduler.portal.signing import BadSignature, Expired
from scheduler.portal.site import Portal, portal_of

logger = logging.getLogger("wisp.portal")
CANCELLED, TIMED_OUT = 1032, 1037
MAX_FORM = 4096
NOT_FROM_HOTSPOT = (
    "Open this page from the hotspot's login page: connect to the Wi-Fi and try again."
)
PAYMENT_PAGE_EXPIRED = (
    'This payment page has expired. If you paid, connect to the Wi-Fi and use "I already '
    'paid" with the M-Pesa code from your SMS.'
)


def link(request: Request, path: str) -> str:
    """An address within the portal, wherever it is mounted."""
    return f"{request.scope.get('root_path', '')}{path}"


def page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    site = portal_of(request)
    context |= {"csrf_field": FIELD, "csrf": site.csrf.token(request), "link": _linker(request)}
    response = site.templates.TemplateResponse(request, name, context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    site.csrf.keep(request, response)
    return response


def _linker(request: Request) -> Callable[[str], str]:
    return lambda path: link(request, path)


def message(request: Request, text: str, status: int, hotspot_token: str = "") -> Response:
    return page(request, "message.html", status, text=text, h=hotspot_token)


# -- the hotspot's variables ----------------------------------------------------------------------


def hotspot_token(site: Portal, hotspot: Hotspot) -> str:
    return site.signer.sign("hotspot", hotspot.as_dict())


def read_hotspot(site: Portal, token: str) -> Hotspot:
    try:
        return Hotspot(**site.signer.read("hotspot", token))
    except (BadSignature, TypeError):
        raise NotFromHotspot("token") from None


async def read_form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM:
        return {}
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


# -- pages -----------------------------------------------------------------------------------------


def packages(request: Request) -> Response:
    """The landing page: the router's packages, a voucher box and a receipt box."""
    site = portal_of(request)
    query = request.query_params
    if "h" in query:
        try:
            hotspot = read_hotspot(site, query["h"])
        except NotFromHotspot:
            return message(request, NOT_FROM_HOTSPOT, 400)
    else:
        router = query.get("router") or site.settings.portal.router
        if not router:
            return message(request, NOT_FROM_HOTSPOT, 400)
        try:
            hotspot = from_query(query, router, site.allowed_hosts(router))
        except (NotFromHotspot, Refused):
            return message(request, NOT_FROM_HOTSPOT, 400)
    offers = portal.offers(site.engine, hotspot.router)
    token = hotspot_token(site, hotspot)
    return page(request, "packages.html", offers=offers, h=token)


def pay_form(request: Request) -> Response:
    """The phone number form for one package."""
    site = portal_of(request)
    try:
        hotspot = read_hotspot(site, request.query_params.get("h", ""))
        package = portal.router_package(
            site.engine, hotspot.router, int(request.query_params.get("package", "0"))
        )
    except (NotFromHotspot, ValueError):
        return message(request, NOT_FROM_HOTSPOT, 400)
    except PortalRefusal as refusal:
        return message(request, str(refusal), 404)
    return _phone_page(request, request.query_params["h"], package.id, package.name, "", "")


def _phone_page(
    request: Request,
    h: str,
    package_id: int | None,
    name: str,
    phone: str,
    error: str,
    status: int = 200,
) -> Response:
    return page(
        request,
        "phone.html",
        status,
        h=h,
        package_id=package_id,
        package=name,
        phone=phone,
        error=error,
    )


async def pay(request: Request) -> Response:
    """The phone number posted: the push is asked for away from the event loop."""
    return await run_in_threadpool(_pay, request, await read_form(request))


def _pay(request: Request, form: dict[str, str]) -> Response:
    """Ask for the STK Push and send the customer to the page that follows it."""
    site = portal_of(request)
    if not site.csrf.valid(request, form):
        return message(request, "This form has expired; go back and try again.", 403)
    try:
        hotspot = read_hotspot(site, form.get("h", ""))
        package = portal.router_package(site.engine, hotspot.router, int(form.get("package", "0")))
    except (NotFromHotspot, ValueError):
        return message(request, NOT_FROM_HOTSPOT, 400)
    except PortalRefusal as refusal:
        return message(request, str(refusal), 404)
    typed = form.get("phone", "")[:32]
    try:
        phone = portal.walkin_phone(typed)
    except PortalRefusal as refusal:
        return _phone_page(request, form["h"], package.id, package.name, typed, str(refusal), 400)
    if not site.limits.allow(phone, hotspot.mac):
        return _phone_page(
            request,
            form["h"],
            package.id,
            package.name,
            typed,
            "Too many payment requests; wait a few minutes and try again.",
            429,
        )
    try:
        row_id = _push(site, phone, package, hotspot)
    except UserError as error:
        logger.warning("portal STK Push for %s failed: %s", package.name, error)
        return _phone_page(
            request,
            form["h"],
            package.id,
            package.name,
            typed,
            "M-Pesa could not be reached just now; try again in a minute.",
            503,
        )
    token = site.signer.sign("payment", {"row": row_id, "h": hotspot.as_dict()})
    return RedirectResponse(link(request, f"/payment/{token}"), status_code=303)


def _push(site: Portal, phone: str, package: Package, hotspot: Hotspot) -> int:
    """The walk-in client (made now on a first payment), its device, then the push itself."""
    client = portal.walkin_client(site.engine, phone)
    order = push_order(site.engine, client.username, package.name, phone)
    sent = send_push(
        site.engine, site.settings, site.daraja(), order, origin="portal", device=hotspot.mac
    )
    return sent.row_id


def payment(request: Request) -> Response:
    """One payment followed: waiting, paid (then the login), cancelled, timed out."""
    site = portal_of(request)
    try:
        value = site.signer.read("payment", request.path_params["token"])
        hotspot = Hotspot(**value["h"])
        row_id = int(value["row"])
    except Expired:
        return message(request, PAYMENT_PAGE_EXPIRED, 410)
    except (BadSignature, TypeError, KeyError, ValueError):
        return message(request, "There is no such payment page.", 404)
    before = get_transaction(site.engine, row_id)
    row = site.watch(before).look()
    if before.status != MpesaStatus.APPLIED and row.status == MpesaStatus.APPLIED and site.wake:
        site.wake()  # this look applied it: the router account is written now, not at next drain
    return _payment_page(request, site, hotspot, row)


def _payment_page(
    request: Request, site: Portal, hotspot: Hotspot, row: MpesaTransaction
) -> Response:
    h = hotspot_token(site, hotspot)
    refresh = site.settings.portal.refresh_seconds
    if row.status in (MpesaStatus.PENDING, MpesaStatus.RECEIVED):
        return page(request, "payment.html", state="waiting", refresh=refresh, row=row, h=h)
    if row.status == MpesaStatus.APPLIED:
        return _paid(request, site, hotspot, row, h)
    if row.status == MpesaStatus.UNMATCHED:
        return page(request, "payment.html", state="unmatched", row=row, h=h)
    state = "cancelled" if row.result_code == CANCELLED else "timed out"
    if row.status == MpesaStatus.FAILED and row.result_code not in (CANCELLED, TIMED_OUT):
        state = "failed"
    return page(
        request,
        "payment.html",
        state=state,
        row=row,
        h=h,
        package_id=row.package_id,
        phone="0" + (row.msisdn or "")[-9:],
    )


def _paid(
    request: Request, site: Portal, hotspot: Hotspot, row: MpesaTransaction, h: str
) -> Response:
    try:
        delivery = portal.delivered_login(
            site.engine, int(row.client_id or 0), int(row.package_id or 0), hotspot.mac
        )
    except PortalRefusal as refusal:
        return message(request, str(refusal), 403, h)
    if delivery.login is None:
        refresh = site.settings.portal.refresh_seconds
        return page(request, "payment.html", state="paid", refresh=refresh, row=row, h=h)
    return login_page(request, hotspot, delivery.login, h, receipt=row.receipt or "")


def login_page(
    request: Request, hotspot: Hotspot, login: portal.Login, h: str, receipt: str = ""
) -> Response:
    """The page that posts the login to the hotspot, and from there to the page first asked for."""
    if not hotspot.can_log_in:
        return page(request, "connected.html", login=login, receipt=receipt, h=h)
    fields = login_fields(hotspot, login.username, login.password)
    return page(
        request, "login.html", action=hotspot.link_login_only, fields=fields, receipt=receipt
    )


class TooManyTries(PortalRefusal):
    """Too many wrong codes from one device."""


def _check_tries(site: Portal, hotspot: Hotspot) -> None:
    if hotspot.mac and site.limits.wrong_codes.full(hotspot.mac):
        raise TooManyTries("Too many wrong codes; wait a few minutes and try again.")


def _wrong_code(site: Portal, hotspot: Hotspot) -> None:
    if hotspot.mac:
        site.limits.wrong_codes.allow(hotspot.mac)


async def voucher(request: Request) -> Response:
    """A voucher code posted: looked up away from the event loop."""
    return await run_in_threadpool(_voucher, request, await read_form(request))


def _voucher(request: Request, form: dict[str, str]) -> Response:
    """A voucher code: straight to the hotspot login with it."""
    site = portal_of(request)
    if not site.csrf.valid(request, form):
        return message(request, "This form has expired; go back and try again.", 403)
    try:
        hotspot = read_hotspot(site, form.get("h", ""))
        _check_tries(site, hotspot)
        login = portal.voucher_login(site.engine, hotspot.router, form.get("code", "")[:64])
    except NotFromHotspot:
        return message(request, NOT_FROM_HOTSPOT, 400)
    except TooManyTries as refusal:
        return message(request, str(refusal), 429, form.get("h", ""))
    except PortalRefusal as refusal:
        _wrong_code(site, hotspot)
        return message(request, str(refusal), 404, form.get("h", ""))
    return login_page(request, hotspot, login, form["h"])


async def receipt(request: Request) -> Response:
    """A receipt code posted: looked up away from the event loop."""
    return await run_in_threadpool(_receipt, request, await read_form(request))


def _receipt(request: Request, form: dict[str, str]) -> Response:
    """An M-Pesa receipt code: the package it paid for, on at most its number of devices."""
    site = portal_of(request)
    if not site.csrf.valid(request, form):
        return message(request, "This form has expired; go back and try again.", 403)
    try:
        hotspot = read_hotspot(site, form.get("h", ""))
        _check_tries(site, hotspot)
        try:
            paid = portal.paid_by_receipt(
                site.engine,
                hotspot.router,
                form.get("receipt", "")[:32],
                site.settings,
                hotspot.mac,
            )
        except PortalRefusal:
            _wrong_code(site, hotspot)
            raise
        if paid.claimed and site.wake:
            site.wake()  # applied just now: the router account is written now, not at next drain
        delivery = portal.delivered_login(site.engine, paid.client_id, paid.package_id, hotspot.mac)
    except NotFromHotspot:
        return message(request, NOT_FROM_HOTSPOT, 400)
    except TooManyTries as refusal:
        return message(request, str(refusal), 429, form.get("h", ""))
    except PortalRefusal as refusal:
        return message(request, str(refusal), 403, form.get("h", ""))
    if delivery.login is None:  # not on the router yet: the page that follows it until it is
        token = site.signer.sign("payment", {"row": paid.transaction_id, "h": hotspot.as_dict()})
        return RedirectResponse(link(request, f"/payment/{token}"), status_code=303)
    return login_page(request, hotspot, delivery.login, form["h"])
