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
        ("[queue]\nmax_attempts = 0\n", r"config.toml: queue.max_attempts must be at least 1"),
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
