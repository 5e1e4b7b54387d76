"""Secrets at rest: router API passwords and clients' router passwords.

They are encrypted with Fernet (AES-128-CBC + HMAC) under a key taken from WISP_SECRET_KEY (the
environment or `.env`); there is no plaintext fallback. Every secret this process decrypts or
encrypts is remembered so that logging can mask it wherever it turns up.
"""

from __future__ import annotations

import logging
import os
import secrets as _random
import string
import threading

from cryptography.fernet import Fernet, InvalidToken

from db.config import SECRET_KEY_ENV
from db.errors import UserError

MASK = "********"
_known: set[str] = set()
_known_lock = threading.Lock()


class SecretError(UserError):
    """A secret cannot be used: missing key, wrong key, or missing environment variable."""


def new_key() -> str:
    """A fresh key for WISP_SECRET_KEY."""
    return Fernet.generate_key().decode()


def _fernet() -> Fernet:
    key = os.environ.get(SECRET_KEY_ENV, "").strip()
    if not key:
        raise SecretError(
            f"{SECRET_KEY_ENV} is not set; passwords cannot be encrypted or read without it "
            "(run `wisp init` to create a .env holding one)."
        )
    try:
        return Fernet(key.encode())
    except ValueError:
        raise SecretError(
            f"{SECRET_KEY_ENV} is not a valid key (it must be 32 url-safe base64-encoded bytes)."
        ) from None


def encrypt(plain: str) -> str:
    """Encrypt a secret for storage."""
    remember(plain)
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    """Decrypt a stored secret."""
    try:
        plain = _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretError(
            f"a stored password cannot be decrypted with this {SECRET_KEY_ENV} (was the key changed?)."
        ) from None
    remember(plain)
    return plain


def from_env(variable: str) -> str:
    """Read a secret that is referenced by the name of an environment variable."""
    value = os.environ.get(variable)
    if not value:
        raise SecretError(
            f"environment variable {variable} (holding a router password) is not set."
        )
    remember(value)
    return value


def generate_password(length: int = 10) -> str:
    """A client login password that is easy to read out over the phone (no 0/O, 1/l/I)."""
    alphabet = "".join(c for c in string.ascii_lowercase + string.digits if c not in "01lo")
    password = "".join(_random.choice(alphabet) for _ in range(length))
    remember(password)
    return password


def remember(value: str) -> None:
    """Mark a value as secret so that log output masks it."""
    if value and len(value) >= 4:
        with _known_lock:
            _known.add(value)


def mask(text: str) -> str:
    """Replace every known secret in `text` with a mask."""
    if not _known:
        return text
    with _known_lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, MASK)
    return text


class MaskSecretsFilter(logging.Filter):
    """A logging filter that masks known secrets in every record it passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _known:
            message = record.getMessage()
            masked = mask(message)
            if masked != message:
                record.msg, record.args = masked, None
        return True


def install_log_filter() -> None:
    """Mask secrets on every handler of the root logger."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, MaskSecretsFilter) for f in handler.filters):
            handler.addFilter(MaskSecretsFilter())
