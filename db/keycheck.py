"""Check WISP_SECRET_KEY against what the database already holds, before anything is touched.

A key that is well formed but not the one the stored passwords were encrypted with would fail
every job on a router whose password is stored, and would encrypt new client passwords that the
real key cannot read. The stored ciphertexts themselves are the canary: one of each kind is
decrypted when a command opens the database, and a mismatch stops the command in one sentence.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from db.config import SECRET_KEY_ENV
from db.secrets import SecretError, cipher

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

SAMPLES = (
    "SELECT password_encrypted FROM routers WHERE password_encrypted IS NOT NULL LIMIT 1",
    "SELECT router_password FROM router_provisionings WHERE router_password IS NOT NULL LIMIT 1",
)
"""One stored ciphertext of each kind (a router's API password, a client's account password), as
plain SQL that SQLAlchemy and the standard library's sqlite3 both run."""


def check_secret_key(engine: Engine) -> None:
    """Raise SecretError when WISP_SECRET_KEY is set but cannot read the stored passwords.

    With no key set nothing is checked here: reading a secret then fails on its own, with a
    sentence saying the key is missing. With nothing stored yet, any valid key is accepted.
    """
    if not os.environ.get(SECRET_KEY_ENV, "").strip():
        return
    with engine.connect() as connection:
        check_samples(lambda sql: connection.exec_driver_sql(sql).scalar())


def check_samples(scalar: Callable[[str], object]) -> None:
    """check_secret_key on samples read by `scalar`, which runs one of SAMPLES and returns its
    one value or None."""
    if not os.environ.get(SECRET_KEY_ENV, "").strip():
        return
    from cryptography.fernet import InvalidToken

    fernet = cipher()
    for token in (scalar(sql) for sql in SAMPLES):
        if not isinstance(token, str) or not token:
            continue
        try:
            fernet.decrypt(token.encode())
        except InvalidToken:
            raise SecretError(
                f"{SECRET_KEY_ENV} is not the key this database's passwords were encrypted with; "
                "nothing was done (restore the original key in the environment or .env)."
            ) from None
