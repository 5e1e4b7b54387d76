"""Secrets at rest: router API passwords and clients' router passwords.

They are encrypted with Fernet (AES-128-CBC + HMAC) under a key taken from WISP_SECRET_KEY (the
environment or `.env`); there is no plaintext fallback. Every secret this process decrypts or
encrypts is remembered so that logging can mask it wherever it turns up.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets as _random
import string
import threading
from collections import Counter, OrderedDict
from typing import TYPE_CHECKING

from db.config import SECRET_KEY_ENV
from db.errors import UserError

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

MASK = "********"
MIN_SECRET = 4
"""Shorter secrets are masked only inside their =password= word: anywhere else, masking every
"ab" would garble the log and tell the length and letters of the password all the same."""
KEEP_SECRETS = 100_000
"""How many recently seen secrets a process masks (a long-running engine sees one per account)."""


def encodings(value: str) -> set[str]:
    """The forms a secret takes in a log line: as is, inside a Python repr (either quote, which
    escapes backslashes and that quote) and inside JSON (ASCII or not)."""
    backslashed = value.replace("\\", "\\\\")
    return {
        value,
        repr(value)[1:-1],
        backslashed.replace("'", "\\'"),
        backslashed.replace('"', '\\"'),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
    }


SECRET_WORDS = ("password", "response")
"""API attributes that carry a secret: a password (login, accounts) and a login's MD5 response."""
_NAMES = "|".join(SECRET_WORDS)
# A quoted word, as a repr or JSON writes it: the value runs to the closing quote, past escapes.
_QUOTED_WORD = re.compile(rf"""(?P<q>['"])=(?P<key>{_NAMES})=(?:\\.|(?!(?P=q)).)*(?P=q)""")
# A bare word: the value runs to the next blank (an unquoted word has nothing to end it sooner).
_BARE_WORD = re.compile(rf"""=(?P<key>{_NAMES})=(?!{re.escape(MASK)}(?:\s|$|['"]))\S+""")


def mask_words(text: str) -> str:
    """Mask the value of every =password= (and =response=) API word, whatever it holds."""
    if "=" not in text:
        return text
    text = _QUOTED_WORD.sub(lambda m: f"{m['q']}={m['key']}={MASK}{m['q']}", text)
    return _BARE_WORD.sub(lambda m: f"={m['key']}={MASK}", text)


class _KnownSecrets:
    """Recently seen secrets, each in its every encoding, indexed by length so masking costs
    O(len(text) x distinct lengths)."""

    def __init__(self, limit: int) -> None:
        self._order: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        self._forms: Counter[str] = Counter()
        self._by_length: dict[int, set[str]] = {}
        self._lengths: list[int] = []
        """The lengths of the forms known, longest first (kept with `_by_length`)."""
        self._limit = limit
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self._order)

    def add(self, value: str) -> None:
        with self._lock:
            if value in self._order:
                self._order.move_to_end(value)
                return
            forms = tuple(form for form in encodings(value) if len(form) >= MIN_SECRET)
            self._order[value] = forms
            for form in forms:
                self._forms[form] += 1
                self._by_length.setdefault(len(form), set()).add(form)
            if len(self._order) > self._limit:
                _, old = self._order.popitem(last=False)
                for form in old:
                    self._forms[form] -= 1
                    if not self._forms[form]:
                        del self._forms[form]
                        self._by_length[len(form)].discard(form)
            self._lengths = sorted((n for n, v in self._by_length.items() if v), reverse=True)

    def mask(self, text: str) -> str:
        size = len(text)
        with self._lock:
            lengths = [n for n in self._lengths if n <= size]
            # Most texts hold no secret: every piece of each length known, cut and looked up in
            # C, tells so before any position is examined one by one.
            if all(
                self._by_length[n].isdisjoint(
                    map(text.__getitem__, map(slice, range(size - n + 1), range(n, size + 1)))
                )
                for n in lengths
            ):
                return text
            pieces, i, start = [], 0, 0
            while i < size:
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
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def cipher() -> Fernet:
    """WISP_SECRET_KEY's cipher; SecretError when the key is missing or not a key.

    cryptography is imported here, when a secret is first used: the commands that log but never
    touch one (`wisp jobs`) do not pay for it."""
    from cryptography.fernet import Fernet

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


def encrypt(plain: str, *, masked: bool = True) -> str:
    """Encrypt a secret for storage; log output masks it from now on unless not `masked` (a
    voucher code is printed on paper and named in logs: thousands of them would only slow
    every log line)."""
    if masked:
        remember(plain)
    return cipher().encrypt(plain.encode()).decode()


def decrypt(token: str, *, masked: bool = True) -> str:
    """Decrypt a stored secret; log output masks it from now on unless not `masked` (the
    caller then decides, as `encrypt`'s do)."""
    from cryptography.fernet import InvalidToken

    try:
        plain = cipher().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretError(
            f"a stored password cannot be decrypted with this {SECRET_KEY_ENV} (was the key changed?)."
        ) from None
    if masked:
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
    """Mark a value as secret so that log output masks it (in every encoding of it)."""
    if value and len(value) >= MIN_SECRET:
        _known.add(value)


def mask(text: str) -> str:
    """Replace every known secret (in any of its encodings) and every =password= word's value
    in `text` with a mask."""
    text = mask_words(text)
    return _known.mask(text) if _known else text


class MaskSecretsFilter(logging.Filter):
    """A logging filter that masks known secrets in every record it passes."""

    def filter(self, record: logging.LogRecord) -> bool:
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
