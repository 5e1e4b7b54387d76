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
from collections import OrderedDict

from cryptography.fernet import Fernet, InvalidToken

from db.config import SECRET_KEY_ENV
from db.errors import UserError

MASK = "********"
KEEP_SECRETS = 100_000
"""How many recently seen secrets a process masks (a long-running engine sees one per account)."""


class _KnownSecrets:
    """Recently seen secrets, indexed by length so masking costs O(len(text) x distinct lengths)."""

    def __init__(self, limit: int) -> None:
        self._order: OrderedDict[str, None] = OrderedDict()
        self._by_length: dict[int, set[str]] = {}
        self._limit = limit
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self._order)

    def add(self, value: str) -> None:
        with self._lock:
            if value in self._order:
                self._order.move_to_end(value)
                return
            self._order[value] = None
            self._by_length.setdefault(len(value), set()).add(value)
            if len(self._order) > self._limit:
                old, _ = self._order.popitem(last=False)
                self._by_length[len(old)].discard(old)

    def mask(self, text: str) -> str:
        with self._lock:
            lengths = sorted(
                (n for n, values in self._by_length.items() if values and n <= len(text)),
                reverse=True,
            )
            pieces, i, start = [], 0, 0
            while i < len(text):
                hit = next((n for n in lengths if text[i : i + n] in self._by_length[n]), 0)
                if hit:
                    pieces += [text[start:i], MASK]
                    i = start = i + hit
                else:
                    i += 1
        return text if not pieces else "".join(pieces) + text[start:]


_known = _KnownSecrets(KEEP_SECRETS)


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
        _known.add(value)


def mask(text: str) -> str:
    """Replace every known secret in `text` with a mask."""
    return _known.mask(text) if _known else text


class MaskSecretsFilter(logging.Filter):
    """A logging filter that masks known secrets in every record it passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _known:
            message = record.getMessage()
            masked = mask(message)
            if masked != message:
                record.msg, record.args = masked, None
            if record.exc_info and not record.exc_text:
                # Handlers print exc_text when it is set: a traceback's values are masked too.
                record.exc_text = mask(_TRACEBACKS.formatException(record.exc_info))
            if record.stack_info:
                record.stack_info = mask(record.stack_info)
        return True


_TRACEBACKS = logging.Formatter()


def install_log_filter() -> None:
    """Mask secrets on every handler of the root logger."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, MaskSecretsFilter) for f in handler.filters):
            handler.addFilter(MaskSecretsFilter())
