"""[mpesa] settings are checked at start; its secrets come from the environment, masked in logs."""

from __future__ import annotations

import pytest

from db.config import ConfigError, load_settings
from db.mpesa import mpesa_secrets
from db.secrets import mask


def write(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('callback_base_url = "https://mpesa.isp.example"', "may not contain the words mpesa"),
        ('callback_base_url = "isp.example"', "must start with https://"),
        ('listen = "8081"', "must be host:port"),
        ('allowlist = "196.201.214.200, nonsense"', "'nonsense', which is not an address"),
        ('type = "bank"', "mpesa.type must be one of paybill, till"),
        ('type = "till"', "mpesa.till must be the till number"),
        ("max_body = 10", "mpesa.max_body must be from 1024"),
        ("push_expiry = 60", "mpesa.push_expiry must be from 300 to 604800 seconds, not 60"),
        ('refuse_unknown_accounts = "yes"', "mpesa.refuse_unknown_accounts must be true or false"),
    ],
)
def test_a_wrong_mpesa_setting_is_refused_naming_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(write(tmp_path, f"[mpesa]\n{text}\n"))


def test_mpesa_settings_read(tmp_path):
    settings = load_settings(
        write(
            tmp_path,
            '[mpesa]\nlisten = "127.0.0.1:8081"\nallowlist = "196.201.214.200,10.0.0.0/8"\n'
            'callback_base_url = "https://pay.isp.example"\n',
        )
    )
    assert settings.mpesa.allowed_networks() == ["196.201.214.200", "10.0.0.0/8"]
    assert settings.mpesa.shortcode == "174379"


def test_the_secrets_come_from_the_environment_and_are_masked(monkeypatch):
    monkeypatch.setenv("WISP_MPESA_CONSUMER_KEY", "ck-very-secret-1")
    monkeypatch.setenv("WISP_MPESA_PASSKEY", "pk-very-secret-2")
    secrets = mpesa_secrets()
    assert secrets.consumer_key == "ck-very-secret-1"
    assert secrets.missing("consumer_key", "consumer_secret", "passkey") == [
        "WISP_MPESA_CONSUMER_SECRET"
    ]
    assert "ck-very-secret-1" not in mask("key ck-very-secret-1 and pk-very-secret-2")
    assert "pk-very-secret-2" not in mask("key ck-very-secret-1 and pk-very-secret-2")
