"""Passwords never reach the log, in whatever form the router client's words are written there."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db import secrets
from db.models import Package, RouterProvisioning
from db.types import utcnow
from scheduler.sim import SimRouter
from tests import factories
from tests.scheduler.conftest import write_config

ROOT = Path(__file__).resolve().parents[2]
API_PASSWORD = "Rtr\\pw'\"9x"
CLIENT_PASSWORDS = ["a", "ab", 'q"=', "x'\\", "=p=w=d", "s3'cr\"et\\=x", "ünï'cødé"]


def encodings(value: str) -> set[str]:
    """Ways a value can be written in a log line: as is, in a Python repr, in JSON."""
    backslashed = value.replace("\\", "\\\\")
    return {
        value,
        repr(value)[1:-1],
        backslashed.replace("'", "\\'"),
        backslashed.replace('"', '\\"'),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
    }


def queue_with_passwords(engine: Engine, passwords: list[str]) -> None:
    with Session(engine) as session:
        package = session.scalars(select(Package).where(Package.name == "Home 10M")).one()
    now = utcnow()
    with engine.begin() as connection:
        connection.execute(
            insert(RouterProvisioning.__table__),  # type: ignore[attr-defined]
            [
                {
                    "router_id": package.router_id,
                    "package_id": package.id,
                    "service_type": "hotspot",
                    "action": "activate",
                    "router_username": f"user{n}",
                    "router_password": secrets.encrypt(password),
                    "router_profile": package.router_profile,
                    "status": "pending",
                    "attempts": 0,
                    "revision": 1,
                    "next_attempt_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for n, password in enumerate(passwords)
            ],
        )


def test_verbose_run_masks_every_password_word_and_every_encoding_of_a_password(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    with SimRouter(password=API_PASSWORD) as sim:
        factories.setup(sqlite_engine, router_port=sim.port, password=API_PASSWORD)
        queue_with_passwords(sqlite_engine, CLIENT_PASSWORDS)
        config = write_config(tmp_path / "config.toml", str(sqlite_engine.url))
        run = subprocess.run(
            [sys.executable, "-m", "console.cli", "-v", "run", "--once"],
            cwd=ROOT,
            env={**os.environ, "WISP_CONFIG": str(config)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        users = {row["name"]: row.get("password") for row in sim.rows("/ip/hotspot/user")}
    assert run.returncode == 0, run.stderr[-2000:]
    assert users == {f"user{n}": p for n, p in enumerate(CLIENT_PASSWORDS)}
    log = run.stderr
    # Every password word the client sent (login and accounts) was logged, and masked.
    words = re.findall(r"=(?:password|response)=(.{0,8})", log)
    assert len(words) >= 1 + len(CLIENT_PASSWORDS)
    assert set(words) == {secrets.MASK}
    for password in [API_PASSWORD, *CLIENT_PASSWORDS]:
        if len(password) >= 4:  # shorter ones are too common to look for outside their word
            for shown in encodings(password):
                assert shown not in log, f"{shown!r} is in the log"


def test_the_log_filter_masks_password_words_of_any_content_and_length() -> None:
    handler = logging.StreamHandler()
    handler.addFilter(secrets.MaskSecretsFilter())
    for value in ["a", "ab", "abc", API_PASSWORD, "p=q", 'x"', "' or '", "with space"]:
        sent = f"=password={value}"
        for line in (f"<--- {sent!r}", f"<--- {json.dumps(sent)}", f"words: {(sent, '=x=y')!r}"):
            record = logging.LogRecord("librouteros", logging.DEBUG, __file__, 1, line, None, None)
            handler.filter(record)
            shown = record.getMessage()
            assert f"=password={secrets.MASK}" in shown, shown
            assert value not in shown.replace("=password=", ""), shown


def test_a_remembered_secret_is_masked_in_its_escaped_forms() -> None:
    secret = "s3'cr\"et\\=x"
    secrets.remember(secret)
    for shown in encodings(secret):
        assert secrets.mask(f"comment={shown}!") == f"comment={secrets.MASK}!", shown
