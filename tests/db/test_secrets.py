"""Secrets at rest and in logs: encrypted with the environment's key, never written in clear."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from db import logs, secrets
from db.engine import session_scope
from db.models import SystemLog


def test_encryption_round_trips_and_hides_the_value():
    token = secrets.encrypt("s3cret-pass")
    assert "s3cret" not in token
    assert secrets.decrypt(token) == "s3cret-pass"


def test_missing_key_is_a_clear_error_not_plaintext(monkeypatch):
    monkeypatch.delenv("WISP_SECRET_KEY")
    with pytest.raises(secrets.SecretError, match="WISP_SECRET_KEY is not set"):
        secrets.encrypt("anything")


def test_wrong_key_is_reported(monkeypatch):
    token = secrets.encrypt("value-1234")
    monkeypatch.setenv("WISP_SECRET_KEY", secrets.new_key())
    with pytest.raises(secrets.SecretError, match="cannot be decrypted with this WISP_SECRET_KEY"):
        secrets.decrypt(token)


def test_logs_never_contain_a_secret_even_when_passed_in(engine, caplog):
    client_password = secrets.generate_password()
    api_password = "R0uterAdm1n!"
    secrets.remember(api_password)
    with caplog.at_level(logging.INFO), session_scope(engine) as session:
        logs.info(
            session,
            "Router",
            f"login as admin with {api_password} failed",
            {
                "password": "plain-in-context",
                "nested": {"api_key": "k-123"},
                "note": f"pw={client_password}",
                "list": [client_password],
            },
        )
    with session_scope(engine) as session:
        entry = session.scalars(select(SystemLog)).one()
    stored = f"{entry.message} {entry.context}"
    for secret in (client_password, api_password, "plain-in-context", "k-123"):
        assert secret not in stored
        assert secret not in caplog.text
    assert entry.context["password"] == secrets.MASK
    assert entry.context["nested"]["api_key"] == secrets.MASK


def test_log_filter_masks_known_secrets_in_any_record(caplog):
    secrets.remember("hunter2-long")
    handler = logging.StreamHandler()
    handler.addFilter(secrets.MaskSecretsFilter())
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "connecting with %s", ("hunter2-long",), None
    )
    handler.filter(record)
    assert record.getMessage() == f"connecting with {secrets.MASK}"


def test_masking_prefers_the_longest_secret_and_forgets_the_oldest_beyond_its_limit():
    known = secrets._KnownSecrets(limit=3)
    for value in ("abcd", "abcdefgh", "zzzz", "yyyy"):
        known.add(value)
    assert (
        known.mask("x abcdefgh y abcd") == f"x {secrets.MASK} y abcd"
    )  # "abcd" was forgotten first
    assert known.mask("zzzz-yyyy") == f"{secrets.MASK}-{secrets.MASK}"


def test_log_filter_masks_known_secrets_in_tracebacks():
    secrets.remember("s3cr3t-in-traceback")
    handler = logging.StreamHandler()
    handler.addFilter(secrets.MaskSecretsFilter())
    try:
        raise RuntimeError("login failed with s3cr3t-in-traceback")
    except RuntimeError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    handler.filter(record)
    shown = logging.Formatter().format(record)
    assert "s3cr3t-in-traceback" not in shown
    assert f"login failed with {secrets.MASK}" in shown


def test_init_beside_an_open_dotenv_makes_it_private_when_it_adds_the_key(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env_file = tmp_path / ".env"
    env_file.write_text("WISP_DATABASE_ECHO=false\n")
    env_file.chmod(0o644)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WISP_")}
    result = subprocess.run(
        [sys.executable, "-m", "console.cli", "init"],
        cwd=tmp_path,
        env={**environment, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "WISP_SECRET_KEY=" in env_file.read_text()
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
