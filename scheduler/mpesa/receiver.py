"""The callback receiver: Daraja's STK results and C2B validations and confirmations.

A thin Starlette layer over `db.mpesa`: each request is checked (source address, the secret token
in its path, body size, structure, our shortcode, a push we made), stored, and only then answered
`{"ResultCode": 0, "ResultDesc": "Accepted"}`; the intake (scheduler.mpesa.intake) stores
callbacks in groups and applies the payments after the answer. Paths
carry the token and never the words Daraja refuses ("mpesa", "safaricom").
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from db.config import Settings
from db.mpesa import (
    Arrival,
    Invalid,
    UnknownPush,
    is_client_account,
    parse_c2b,
    parse_stk_callback,
)
from scheduler.mpesa.intake import Intake

logger = logging.getLogger("wisp.mpesa")

PREFIX = "/hooks"
ACCEPTED = {"ResultCode": 0, "ResultDesc": "Accepted"}
INVALID_ACCOUNT = {"ResultCode": "C2B00012", "ResultDesc": "Rejected"}
"""Daraja's answer for an invalid account number: the payment does not go through."""


def callback_paths(token: str) -> dict[str, str]:
    """The receiver's paths for a token."""
    return {
        "stk": f"{PREFIX}/{token}/stk",
        "validation": f"{PREFIX}/{token}/c2b/validation",
        "confirmation": f"{PREFIX}/{token}/c2b/confirmation",
        "pull": f"{PREFIX}/{token}/pull",
    }


def callback_urls(base_url: str, token: str) -> dict[str, str]:
    """The full URLs Daraja is given: the public base address and the paths."""
    base = base_url.rstrip("/")
    return {name: base + path for name, path in callback_paths(token).items()}


class Rejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _rejection(status: int, reason: str, *, validation: bool = False) -> JSONResponse:
    code: Any = "C2B00016" if validation else 1
    return JSONResponse({"ResultCode": code, "ResultDesc": f"Rejected: {reason}"}, status)


def build_app(settings: Settings, intake: Intake, token: str) -> Starlette:
    """The receiver for its settings, the intake that stores (and applies) what it accepts, and
    the callback token."""
    if len(token) < 16:
        raise ValueError("the callback token must be at least 16 characters")
    mpesa = settings.mpesa
    networks = [ipaddress.ip_network(n, strict=False) for n in mpesa.allowed_networks()]
    ours = {mpesa.shortcode} | ({mpesa.till} if mpesa.till else set())

    def checked(
        handler: Callable[[Request, dict[str, Any]], Awaitable[Response]], *, validation: bool
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            source = request.client.host if request.client else "unknown"
            try:
                _check_source(source, networks)
                if not hmac.compare_digest(
                    str(request.path_params.get("token", "")).encode(), token.encode()
                ):
                    raise Rejected(404, "unknown path")
                body = await _read(request, mpesa.max_body)
                try:
                    payload = json.loads(body)
                except (ValueError, UnicodeDecodeError):
                    raise Rejected(400, "the body is not JSON") from None
                return await handler(request, payload)
            except Rejected as rejected:
                logger.warning(
                    "M-Pesa callback %s from %s rejected: %s",
                    request.url.path.replace(token, "<token>"),
                    source,
                    rejected.reason,
                )
                return _rejection(rejected.status, rejected.reason, validation=validation)
            except Invalid as invalid:
                logger.warning(
                    "M-Pesa callback %s from %s rejected: %s",
                    request.url.path.replace(token, "<token>"),
                    source,
                    invalid,
                )
                return _rejection(400, str(invalid), validation=validation)

        return endpoint

    async def stk(request: Request, payload: dict[str, Any]) -> Response:
        result = parse_stk_callback(payload)
        try:
            await intake.store(Arrival(result, payload))
        except UnknownPush as unknown:
            raise Rejected(400, str(unknown)) from None
        return JSONResponse(ACCEPTED)

    async def validation(request: Request, payload: dict[str, Any]) -> Response:
        payment = parse_c2b(payload)
        if payment.shortcode not in ours:
            raise Rejected(400, f"shortcode {payment.shortcode} is not ours")
        if mpesa.refuse_unknown_accounts and payment.bill_ref:
            known = await run_in_threadpool(is_client_account, intake.engine, payment.bill_ref)
            if not known:
                logger.warning(
                    "M-Pesa payment %s of %s refused at validation: no client has the account "
                    "number %r",
                    payment.receipt,
                    payment.amount,
                    payment.bill_ref,
                )
                return JSONResponse(INVALID_ACCOUNT)
        return JSONResponse(ACCEPTED)

    async def confirmation(request: Request, payload: dict[str, Any]) -> Response:
        payment = parse_c2b(payload)
        if payment.shortcode not in ours:
            raise Rejected(400, f"shortcode {payment.shortcode} is not ours")
        await intake.store(Arrival(payment, payload))
        return JSONResponse(ACCEPTED)

    async def pulled(request: Request, payload: dict[str, Any]) -> Response:
        # Pull Transactions is polled (`wisp pay reconcile`, the recovery timer); what Daraja
        # posts to the Pull registration's URL is noted only.
        logger.info("M-Pesa Pull notification received (%d keys)", len(payload))
        return JSONResponse(ACCEPTED)

    routes = [
        Route(PREFIX + "/{token}/pull", checked(pulled, validation=False), methods=["POST"]),
        Route(PREFIX + "/{token}/stk", checked(stk, validation=False), methods=["POST"]),
        Route(
            PREFIX + "/{token}/c2b/validation",
            checked(validation, validation=True),
            methods=["POST"],
        ),
        Route(
            PREFIX + "/{token}/c2b/confirmation",
            checked(confirmation, validation=False),
            methods=["POST"],
        ),
    ]
    return Starlette(routes=routes)


def _check_source(source: str, networks: list[Any]) -> None:
    if not networks:
        logger.info("M-Pesa callback from %s (no allowlist set)", source)
        return
    try:
        address = ipaddress.ip_address(source)
    except ValueError:
        raise Rejected(403, f"source {source} is not an address") from None
    if not any(address in network for network in networks):
        raise Rejected(403, f"source {source} is not in mpesa.allowlist")


async def _read(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Rejected(413, f"the body is larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Rejected(413, f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
