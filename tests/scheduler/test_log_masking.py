"""Passwords never reach the log, in whatever form the router client's words are written there."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from sqlalchemy.engine import Engine

from db import secrets
from db.queue import Job
from scheduler.engine.plan import account_for
from scheduler.routeros.actions import ProfileSpec
from scheduler.sim import SimRouter
from tests import factories
from tests.scheduler.bulk import queue_accounts
from tests.scheduler.conftest import write_config
from tests.scheduler.processes import run_wisp

API_PASSWORD = "Rtr\\pw'\"9x"
CLIENT_PASSWORDS = ["a", "ab", 'q"=', "x'\\", "=p=w=d", "s3'cr\"et\\=x", "ünï'cødé"]


def test_verbose_run_masks_every_password_word_and_every_encoding_of_a_password(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    with SimRouter(password=API_PASSWORD) as sim:
        factories.setup(sqlite_engine, router_port=sim.port, password=API_PASSWORD)
        names = queue_accounts(
            sqlite_engine,
            router="r1",
            package="Home 10M",
            count=len(CLIENT_PASSWORDS),
            passwords=CLIENT_PASSWORDS,
        )
        config = write_config(tmp_path / "config.toml", str(sqlite_engine.url))
        run = run_wisp(config, "-v", "run", "--once")
        users = {row["name"]: row.get("password") for row in sim.rows("/ip/hotspot/user")}
    assert run.returncode == 0, run.stderr[-2000:]
    assert users == dict(zip(names, CLIENT_PASSWORDS, strict=True))
    log = run.stderr
    # Every password word the client sent (login and accounts) was logged, and masked.
    words = re.findall(r"=(?:password|response)=(.{0,8})", log)
    assert len(words) >= 1 + len(CLIENT_PASSWORDS)
    assert set(words) == {secrets.MASK}
    for password in [API_PASSWORD, *CLIENT_PASSWORDS]:
        if len(password) >= 4:  # shorter ones are too common to look for outside their word
            for shown in secrets.encodings(password):
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
    for shown in secrets.encodings(secret):
        assert secrets.mask(f"comment={shown}!") == f"comment={secrets.MASK}!", shown


def test_a_voucher_named_by_its_code_is_named_in_the_log_and_a_password_is_not() -> None:
    """A code-mode voucher's password is its account name (printed on its card, shown in the
    console): planning it leaves the log able to name the account. A password of its own, a
    user-pass voucher's PIN included, is masked from the moment it is read."""
    profile = ProfileSpec("hotspot", "HOTSPOT_5M", "5M/5M")

    def job(name: str, password: str, job_id: int) -> Job:
        return Job(
            id=job_id,
            revision=1,
            router_id=1,
            client_id=None,
            package_id=1,
            subscription_id=None,
            service_type="hotspot",
            action="activate",
            router_username=name,
            router_password=secrets.encrypt(password, masked=False),
            router_profile=profile.name,
            attempts=0,
        )

    voucher = account_for(job("KBQ7X4P2", "KBQ7X4P2", 1), profile, None)
    pin = account_for(job("KBR8Y5Q3", "40917735", 2), profile, None)
    assert voucher.password == "KBQ7X4P2" and pin.password == "40917735"
    said = secrets.mask("job 1 completed: KBQ7X4P2 activate; job 2: KBR8Y5Q3 with 40917735")
    assert said == f"job 1 completed: KBQ7X4P2 activate; job 2: KBR8Y5Q3 with {secrets.MASK}"
