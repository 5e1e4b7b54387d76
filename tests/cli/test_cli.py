"""The `wisp` command as an operator meets it: one clear line and a non-zero exit on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def wisp(tmp_path: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WISP_")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "console.cli", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        input=stdin,
        env={**environment, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )


def ok(tmp_path: Path, *args: str, **kw) -> str:
    result = wisp(tmp_path, *args, **kw)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    ok(tmp_path, "init")
    return tmp_path


def test_init_writes_config_and_key_once_and_creates_the_database(tmp_path):
    out = ok(tmp_path, "init")
    assert "wrote config.toml" in out and "WISP_SECRET_KEY" in out
    assert (tmp_path / "wisp.db").exists()
    assert oct((tmp_path / ".env").stat().st_mode & 0o777) == "0o600"
    key = (tmp_path / ".env").read_text()
    again = ok(tmp_path, "init")
    assert "wrote" not in again and "is at revision" in again
    assert (tmp_path / ".env").read_text() == key


def test_operator_flow_from_router_to_queued_job(workdir):
    ok(
        workdir,
        "router",
        "add",
        "tower1",
        "--host",
        "10.9.0.1",
        "--password-stdin",
        "--no-check",
        stdin="adm1n-pass\n",
    )
    out = ok(
        workdir,
        "package",
        "add",
        "Daily 5M",
        "--type",
        "hotspot",
        "--router",
        "tower1",
        "--price",
        "50",
        "--validity",
        "1d",
        "--rate",
        "5M",
        "--upload",
        "2M",
        "--devices",
        "2",
    )
    assert "rate-limit '2M/5M'" in out and "HOTSPOT_5M_2MUP_PERSONAL_2DEV" in out
    ok(workdir, "client", "add", "amina", "--name", "Amina W", "--phone", "0722000111")
    out = ok(workdir, "activate", "amina", "Daily 5M", "--payment-ref", "SJK8XYZ123")
    assert "amina on Daily 5M activated for 1 day from delivery" in out and "job 1" in out
    jobs = json.loads(ok(workdir, "jobs", "--json"))
    assert [(j["account"], j["router"], j["status"], j["action"]) for j in jobs] == [
        ("amina", "tower1", "pending", "activate")
    ]
    routers = ok(workdir, "router", "list")
    assert "tower1" in routers and "adm1n-pass" not in routers
    listed = json.loads(ok(workdir, "package", "list", "--json"))
    assert listed[0]["rate_limit"] == "2M/5M"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["activate", "ghost", "Daily", "--method", "cash"],
            "wisp: there is no client with username 'ghost' (there are none yet).\n",
        ),
        (["retry", "42"], "wisp: there is no job 42.\n"),
        (
            [
                "package",
                "add",
                "X",
                "--type",
                "hotspot",
                "--router",
                "none",
                "--price",
                "1",
                "--validity",
                "1d",
                "--rate",
                "1M",
            ],
            "wisp: there is no router named 'none' (there are none yet).\n",
        ),
        (
            [
                "package",
                "add",
                "X",
                "--type",
                "hotspot",
                "--router",
                "none",
                "--price",
                "1",
                "--validity",
                "1d",
                "--rate",
                "1M",
                "--burst",
                "512k",
                "--burst-threshold",
                "256k",
                "--burst-time",
                "5",
            ],
            "wisp: there is no router named 'none' (there are none yet).\n",
        ),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(workdir, args, message):
    result = wisp(workdir, *args)
    assert result.returncode == 1
    assert result.stderr == message


def test_repeated_payment_reference_exits_non_zero_and_changes_nothing(workdir):
    ok(
        workdir,
        "router",
        "add",
        "r1",
        "--host",
        "10.0.0.1",
        "--password-env",
        "R1_PW",
        "--no-check",
    )
    ok(
        workdir,
        "package",
        "add",
        "P",
        "--type",
        "pppoe",
        "--router",
        "r1",
        "--price",
        "10",
        "--validity",
        "30d",
        "--rate",
        "10M",
    )
    ok(workdir, "client", "add", "bob", "--name", "Bob")
    ok(workdir, "activate", "bob", "P", "--payment-ref", "RCPT1")
    result = wisp(workdir, "activate", "bob", "P", "--payment-ref", "RCPT1")
    assert result.returncode == 3
    assert "payment reference RCPT1 was already applied" in result.stderr
    assert len(json.loads(ok(workdir, "jobs", "--json"))) == 1


def test_malformed_config_names_file_and_key(tmp_path):
    (tmp_path / "config.toml").write_text("[queue]\nretries = 3\n")
    result = wisp(tmp_path, "jobs")
    assert result.returncode == 1
    assert result.stderr.startswith("wisp: config.toml: unknown key queue.retries")
    assert len(result.stderr.strip().splitlines()) == 1


def test_database_down_is_one_sentence_without_the_password(tmp_path):
    (tmp_path / "config.toml").write_text("")
    result = wisp(
        tmp_path,
        "jobs",
        env={"WISP_DATABASE_URL": "postgresql://wisp:hunter2pass@127.0.0.1:1/wisp"},
    )
    assert result.returncode == 1
    assert result.stderr.startswith(
        "wisp: the database at postgresql+psycopg://wisp:***@127.0.0.1:1/wisp cannot be reached"
    )
    assert "hunter2pass" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_empty_database_asks_for_init(tmp_path):
    (tmp_path / "config.toml").write_text("")
    result = wisp(tmp_path, "client", "list")
    assert result.returncode == 1
    assert "run `wisp init` first" in result.stderr
    assert not (tmp_path / "wisp.db").exists()


def test_missing_secret_key_is_named(tmp_path):
    ok(tmp_path, "init")
    (tmp_path / ".env").write_text("")
    result = wisp(
        tmp_path,
        "router",
        "add",
        "r1",
        "--host",
        "h",
        "--password-stdin",
        "--no-check",
        stdin="pw\n",
    )
    assert result.returncode == 1
    assert "WISP_SECRET_KEY is not set" in result.stderr
    assert "no routers yet" in ok(tmp_path, "router", "list")


def _shop(workdir):
    """A database with one router (not running), a 50-shilling day package and client bob."""
    ok(workdir, "init")
    ok(
        workdir,
        "router",
        "add",
        "r1",
        "--host",
        "127.0.0.1",
        "--port",
        "1",
        "--password-stdin",
        "--no-check",
        stdin="pw\n",
    )
    ok(
        workdir,
        "package",
        "add",
        "Day",
        "--type",
        "hotspot",
        "--router",
        "r1",
        "--price",
        "50",
        "--validity",
        "1d",
        "--rate",
        "5M",
    )
    ok(workdir, "client", "add", "bob", "--name", "Bob")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "a payment without a reference must name its method"),
        (["--method", "bitcoin"], "payment method 'bitcoin' is not accepted; use one of mpesa"),
        (["--method", "cash", "--amount", "1"], "amount 1.00 is below Day's price 50.00; pass"),
    ],
)
def test_money_that_does_not_add_up_is_refused_and_writes_nothing(tmp_path, args, message):
    _shop(tmp_path)
    result = wisp(tmp_path, "activate", "bob", "Day", *args)
    assert result.returncode == (2 if not args else 1) and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert json.loads(ok(tmp_path, "client", "show", "bob", "--json"))["payments"] == []


def test_part_payments_are_credit_until_they_reach_the_price(tmp_path):
    _shop(tmp_path)
    out = ok(tmp_path, "activate", "bob", "Day", "--method", "cash", "--amount", "30", "--partial")
    assert "payment kept as credit (30.00)" in out
    out = ok(tmp_path, "activate", "bob", "Day", "--method", "cash", "--amount", "30", "--partial")
    assert "activated" in out and "credit left on bob: 10.00" in out
    ledger = json.loads(ok(tmp_path, "client", "show", "bob", "--json"))
    assert ledger["credit"] == "10.00"
    assert [p["status"] for p in ledger["payments"]] == ["completed", "credit"]
    assert [s["time_bought"] for s in ledger["subscriptions"]] == [86400]


def test_client_show_hides_the_router_password_unless_asked(tmp_path):
    _shop(tmp_path)
    ok(tmp_path, "activate", "bob", "Day", "--method", "cash")
    hidden = json.loads(ok(tmp_path, "client", "show", "bob", "--json"))
    assert "password" not in hidden["accounts"][0]
    shown = json.loads(ok(tmp_path, "client", "show", "bob", "--json", "--show-password"))
    assert len(shown["accounts"][0]["password"]) >= 8
    assert shown["accounts"][0]["password"] not in ok(tmp_path, "client", "show", "bob")
