"""Check WISP_SECRET_KEY against what the database already holds, before anything is touched.

A key that is well formed but not the one the stored passwords were encrypted with would fail
every job on a router whose password is stored, and would encrypt new client passwords that the
real key cannot read. The stored ciphertexts themselves are the canary: one of each kind is
decrypted when a command opens the database, and a mismatch stops the command in one sentence.
"""

from __future__ import annotations

import os

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select
from sqlalchemy.engine import Engine

from db.config import SECRET_KEY_ENV
from db.models import J, R
from db.secrets import SecretError


def check_secret_key(engine: Engine) -> None:
    """Raise SecretError when WISP_SECRET_KEY is set but cannot read the stored passwords.

    With no key set nothing is checked here: reading a secret then fails on its own, with a
    sentence saying the key is missing. With nothing stored yet, any valid key is accepted.
    """
    key = os.environ.get(SECRET_KEY_ENV, "").strip()
    if not key:
        return
    try:
        fernet = Fernet(key.encode())
    except ValueError:
        raise SecretError(
            f"{SECRET_KEY_ENV} is not a valid key (it must be 32 url-safe base64-encoded bytes)."
        ) from None
    with engine.connect() as connection:
        samples = [
            connection.scalar(
                select(R.c.password_encrypted).where(R.c.password_encrypted.is_not(None)).limit(1)
            ),
            connection.scalar(
                select(J.c.router_password).where(J.c.router_password.is_not(None)).limit(1)
            ),
        ]
    for token in filter(None, samples):
        try:
            fernet.decrypt(token.encode())
        except InvalidToken:
            raise SecretError(
                f"{SECRET_KEY_ENV} is not the key this database's passwords were encrypted with; "
                "nothing was done (restore the original key in the environment or .env)."
            ) from None
