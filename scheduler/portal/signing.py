"""Signed tokens: what the portal hands the customer's browser and reads back (the hotspot's
variables, a payment's page) carries an HMAC-SHA256 keyed by WISP_PORTAL_SECRET, so it cannot be
forged or altered, and a payment page cannot be found by guessing. Each carries the time it was
made and is refused past its purpose's lifetime, so an address kept in a phone's history or
shared later shows nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable
from typing import Any

from db.errors import UserError

SECRET_ENV = "WISP_PORTAL_SECRET"
MIN_SECRET = 16


LIFETIMES = {"hotspot": 3600.0, "payment": 2 * 3600.0}
"""Seconds a token is good for: the hotspot's variables (a visit to the portal), and a payment's
page (its prompt is answered or given up within minutes; the receipt code reconnects later)."""


class BadSignature(Exception):
    """A token that was not made here, or was changed."""


class Expired(BadSignature):
    """A token made here, older than its purpose's lifetime."""


def portal_secret() -> bytes:
    """The signing key from the environment; a one-sentence `UserError` when it is unfit."""
    secret = os.environ.get(SECRET_ENV, "")
    if len(secret) < MIN_SECRET:
        raise UserError(
            f"{SECRET_ENV} must hold a random secret of at least {MIN_SECRET} characters "
            "(in the environment or .env)."
        )
    return secret.encode()


class Signer:
    """Signs and reads JSON values for one purpose (a token for one is refused by another)."""

    def __init__(self, secret: bytes, clock: Callable[[], float] = time.time) -> None:
        self._secret = secret
        self._clock = clock

    def mac(self, purpose: str, text: str) -> str:
        digest = hmac.new(self._secret, f"{purpose}\n{text}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:20]).decode().rstrip("=")

    def sign(self, purpose: str, value: Any) -> str:
        body = json.dumps([int(self._clock()), value], separators=(",", ":"), sort_keys=True)
        encoded = base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")
        return f"{encoded}.{self.mac(purpose, encoded)}"

    def read(self, purpose: str, token: str) -> Any:
        encoded, _, signature = (token or "").partition(".")
        if not encoded or not hmac.compare_digest(signature, self.mac(purpose, encoded)):
            raise BadSignature(purpose)
        try:
            made, value = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
            age = self._clock() - float(made)
        except (ValueError, TypeError):
            raise BadSignature(purpose) from None
        if not -60 <= age <= LIFETIMES.get(purpose, 0):
            raise Expired(purpose)
        return value
