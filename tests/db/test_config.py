"""Configuration: a TOML file, environment overrides, and one-sentence errors naming file and key."""

from __future__ import annotations

import pytest

from db.config import ConfigError, load_settings


def write(tmp_path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_defaults_apply_without_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.database.url == "sqlite:///wisp.db"
    assert settings.console.timezone == "Africa/Nairobi"
    assert settings.queue.max_attempts == 5


def test_file_values_and_environment_overrides(tmp_path, monkeypatch):
    path = write(tmp_path, '[queue]\nmax_attempts = 8\n[database]\nurl = "sqlite:///a.db"\n')
    monkeypatch.setenv("WISP_DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("WISP_QUEUE_BACKOFF_BASE", "2.5")
    settings = load_settings(path)
    assert settings.queue.max_attempts == 8
    assert settings.queue.backoff_base == 2.5
    assert settings.database.url == "postgresql://u@h/db"


def test_dotenv_beside_the_config_is_loaded_without_overriding_the_environment(
    tmp_path, monkeypatch
):
    path = write(tmp_path, "")
    (tmp_path / ".env").write_text("WISP_QUEUE_MAX_ATTEMPTS=3\nWISP_QUEUE_BATCH_SIZE=9\n")
    monkeypatch.setenv("WISP_QUEUE_BATCH_SIZE", "11")
    settings = load_settings(path)
    assert (settings.queue.max_attempts, settings.queue.batch_size) == (3, 11)
    monkeypatch.delenv("WISP_QUEUE_MAX_ATTEMPTS")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[queue\nmax_attempts = 1", r"config.toml: not valid TOML"),
        (
            "[queue]\nmax_attemps = 3\n",
            r"config.toml: unknown key queue.max_attemps \(known in \[queue\]: max_attempts",
        ),
        ("[queues]\n", r"config.toml: unknown section \[queues\]"),
        (
            '[queue]\nmax_attempts = "five"\n',
            r"config.toml: queue.max_attempts must be a whole number, not 'five'",
        ),
        ("[database]\necho = 1\n", r"config.toml: database.echo must be true or false, not 1"),
        (
            '[console]\ntimezone = "Mars/Olympus"\n',
            r"config.toml: console.timezone 'Mars/Olympus' is not a known time zone",
        ),
        (
            '[scheduler]\nexpiry_action = "delete"\n',
            r"config.toml: scheduler.expiry_action must be one of deactivate, remove",
        ),
        (
            "[queue]\nmax_attempts = 0\n",
            r"config.toml: queue.max_attempts must be from 1 to 100, not 0\.$",
        ),
        (
            '[routers]\nencoding = "utf-9"\n',
            r"routers.encoding 'utf-9' is not a character set Python knows",
        ),
        (
            '[routers]\nencoding = "utf-16"\n',
            r"routers.encoding 'utf-16' does not keep ASCII as it is",
        ),
        (
            "[routers]\ncommand_timeout = -1\n",
            r"routers.command_timeout must be from 0.1 to 600 seconds, not -1.0",
        ),
        ("[queue]\nbackoff_max = inf\n", r"queue.backoff_max must be a number, not inf"),
        ("[queue]\nbackoff_base = nan\n", r"queue.backoff_base must be a number, not nan"),
        (
            "[queue]\nbackoff_base = -100\n",
            r"queue.backoff_base must be from 0.1 to 3600 seconds, not -100.0",
        ),
        (
            "[queue]\nbackoff_base = 60\nbackoff_max = 30\n",
            r"queue.backoff_max \(30\) must not be below queue.backoff_base \(60\)",
        ),
        (
            "[queue]\nlease_seconds = 100000000000000000000\n",
            r"not valid TOML|queue.lease_seconds must be from 1 to 86400 seconds",
        ),
        (
            "[queue]\nlease_seconds = 100000000000\n",
            r"queue.lease_seconds must be from 1 to 86400 seconds, not 100000000000",
        ),
        (
            "[scheduler]\ndrain_interval = 0\n",
            r"scheduler.drain_interval must be from 0.01 to 3600 seconds, not 0.0",
        ),
        (
            '[activation]\npayment_methods = ["mpesa", "a-method-name-far-too-long"]\n',
            r"payment_methods has 'a-method-name-far-too-long'; a method is at most 16",
        ),
    ],
)
def test_malformed_config_names_the_file_and_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(write(tmp_path, text))


def test_bad_environment_value_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("WISP_QUEUE_MAX_ATTEMPTS", "many")
    with pytest.raises(
        ConfigError,
        match="environment variable WISP_QUEUE_MAX_ATTEMPTS: queue.max_attempts must be a whole number",
    ):
        load_settings(write(tmp_path, ""))


def test_explicit_missing_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="nope.toml: the config file does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_the_example_config_is_valid_and_documents_every_setting():
    from dataclasses import fields
    from pathlib import Path

    from db.config import SECTIONS, Settings

    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    settings = load_settings(example)
    text = example.read_text()
    for section in SECTIONS:
        assert f"[{section}]" in text
        for f in fields(getattr(settings, section)):
            assert f"\n{f.name} = " in text or f"[{section}.{f.name}]" in text, (
                f"{section}.{f.name} undocumented"
            )
    assert settings.database == Settings().database


def test_an_unsafe_setting_stops_the_runner_before_it_touches_a_job(sqlite_engine, tmp_path):
    from sqlmodel import Session, select

    from db.activation import ActivationService
    from db.models import RouterProvisioning
    from tests import factories
    from tests.db.test_sqlite_writers import wisp
    from tests.scheduler.conftest import write_config

    factories.setup(sqlite_engine)
    ActivationService(sqlite_engine).activate("jdoe", "Home 10M")
    config = write_config(
        tmp_path / "config.toml", str(sqlite_engine.url), routers={"encoding": "utf-9"}
    )
    code, err = wisp(config, "run", "--once")
    assert code == 1
    assert err.strip().splitlines() == [
        f"wisp: {config}: routers.encoding 'utf-9' is not a character set Python knows "
        "(use utf-8, latin-1 or cp1252)."
    ]
    with Session(sqlite_engine) as session:
        jobs = session.exec(select(RouterProvisioning)).all()
    assert [(job.status, job.attempts) for job in jobs] == [("pending", 0)]


def test_a_config_file_that_is_not_utf8_is_named_in_one_sentence(tmp_path):
    path = tmp_path / "config.toml"
    path.write_bytes(b'[console]\ntimezone = "\xff"\n')
    with pytest.raises(
        ConfigError, match=r"config.toml: not UTF-8 text \(byte 0xff at offset 22\)"
    ):
        load_settings(path)
