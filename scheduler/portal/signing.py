"""Signed tokens: what the portal hands the customer's browser and reads back (the hotspot's
variables, a payment's page) carries an HMAC-SHA256 keyed by WISP_PORTAL_SECRET, so it cannot be
forged or altered, and a payment page cannot be found by guessing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from typing import Any

from db.errors import UserError

SECRET_ENV = "WISP_PORTAL_SECRET"
MIN_SECRET = 16


class BadSignature(Exception):
    """A token that was not made here, or was changed."""


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

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def mac(self, purpose: str, text: str) -> str:
        digest = hmac.new(self._secret, f"{purpose}\n{text}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:20]).decode().rstrip("=")

    def sign(self, purpose: str, value: Any) -> str:
        body = json.dumps(value, separators=(",", ":"), sort_keys=True)
        encoded = base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")
        return f"{encoded}.{self.mac(purpose, encoded)}"

    def read(self, purpose: str, token: str) -> Any:
        encoded, _, signature = (token or "").partition(".")
        if not encoded or not hmac.compare_digest(signature, self.mac(purpose, encoded)):
            raise BadSignature(purpose)
        try:
            return json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
        except ValueError:
            raise BadSignature(purpose) from None
