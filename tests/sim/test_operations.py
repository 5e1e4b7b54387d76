"""Running the simulator: TLS in both modes, state files, seeded users, fleets and the CLI."""

from __future__ import annotations

import argparse
import os
import re
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import librouteros
import pytest
import routeros_api

from scheduler.sim import SimFleet, SimRouter
from scheduler.sim.cli import configure_parser, run

ROOT = Path(__file__).resolve().parents[2]


def test_tls_with_self_signed_certificate_verified_by_librouteros() -> None:
    with SimRouter(password="secret", tls=True) as router:
        context = ssl.create_default_context(cadata=router.certificate_pem.decode())
        context.check_hostname = False
        api = librouteros.connect(
            "127.0.0.1",
            "admin",
            "secret",
            port=router.tls_port,
            timeout=5,
            ssl_wrapper=context.wrap_socket,
        )
        assert list(api.path("system", "identity")) == [{"name": "MikroTik"}]
        assert api.protocol.transport.sock.version() == "TLSv1.3"
        api.close()


def test_tls_with_routeros_api_use_ssl() -> None:
    with SimRouter(password="secret", tls=True) as router:
        pool = routeros_api.RouterOsApiPool(
            "127.0.0.1",
            username="admin",
            password="secret",
            port=router.tls_port,
            use_ssl=True,
            ssl_verify=False,
            ssl_verify_hostname=False,
            plaintext_login=True,
        )
        assert pool.get_api().get_resource("/system/identity").get() == [{"name": "MikroTik"}]
        pool.disconnect()


def test_tls_anonymous_diffie_hellman() -> None:
    with SimRouter(password="secret", tls=True, tls_mode="adh") as router:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.set_ciphers("ADH:@SECLEVEL=0")
        api = librouteros.connect(
            "127.0.0.1",
            "admin",
            "secret",
            port=router.tls_port,
            timeout=5,
            ssl_wrapper=context.wrap_socket,
        )
        assert api.protocol.transport.sock.cipher()[0].startswith("ADH-")
        assert list(api.path("system", "identity")) == [{"name": "MikroTik"}]
        api.close()


def test_state_file_saved_on_stop_and_reloaded(tmp_path: Path) -> None:
    state = tmp_path / "router.json"
    with SimRouter(state_file=state) as router:
        api = librouteros.connect("127.0.0.1", "admin", "", port=router.port, timeout=5)
        api.path("ip", "hotspot", "user", "profile").add(name="P5", **{"rate-limit": "2M/5M"})
        api.path("ip", "hotspot", "user").add(name="amina", profile="P5")
        api.path("ppp", "secret").add(name="kamau", password="pw")
        list(api("/system/identity/set", name="tower-2"))
        api.close()
        saved = router.rows("/ip/hotspot/user")
    with SimRouter(state_file=state) as again:
        assert again.rows("/ip/hotspot/user") == saved
        assert [r["name"] for r in again.rows("/ppp/secret")] == ["kamau"]
        assert again.rows("/system/identity") == [{"name": "tower-2"}]
        api = librouteros.connect("127.0.0.1", "admin", "", port=again.port, timeout=5)
        assert api.path("ip", "hotspot", "user").add(name="next") == "*2"
        api.close()


def test_seeded_users_look_like_a_real_hotspot() -> None:
    with SimRouter(seed_users=100) as router:
        users = router.rows("/ip/hotspot/user")
        assert len(users) == 100
        assert {u["profile"] for u in users} == {
            "HOTSPOT_5M_PERSONAL",
            "HOTSPOT_10M_PERSONAL",
            "HOTSPOT_20M_BUSINESS",
        }
        assert 0 < sum(u["disabled"] == "true" for u in users) < 30
        assert all(u["comment"].startswith("M-Pesa ") for u in users)
        assert len(router.rows("/ip/hotspot/active")) == 5


def test_fleet_serves_many_routers_from_one_loop() -> None:
    fleet = SimFleet()
    for name in ("r1", "r2", "r3"):
        fleet.add(name=name, password="pw")
    with fleet:
        ports = {router.port for router in fleet.routers.values()}
        assert len(ports) == 3
        for name, router in fleet.routers.items():
            api = librouteros.connect("127.0.0.1", "admin", "pw", port=router.port, timeout=5)
            assert list(api.path("system", "identity")) == [{"name": name}]
            api.close()


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    configure_parser(parser)
    return parser.parse_args(argv)


def test_cli_reports_a_taken_port_in_one_sentence(
    router: SimRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(_parse("--port", str(router.port), "--password", "x")) == 1
    err = capsys.readouterr().err
    assert (
        err
        == f"wisp sim: port {router.port} on 127.0.0.1 is already in use; choose another with --port.\n"
    )


def test_cli_serves_seeded_users_until_terminated() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scheduler.sim",
            "--port",
            "0",
            "--password",
            "pw",
            "--seed-users",
            "100",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
    )
    try:
        banner = process.stdout.readline()
        assert "pw" not in banner
        port = int(re.search(r"api://127\.0\.0\.1:(\d+)", banner).group(1))
        api = librouteros.connect("127.0.0.1", "admin", "pw", port=port, timeout=5)
        assert sum(1 for _ in api.path("ip", "hotspot", "user")) == 100
        api.close()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_cli_banner_shows_a_generated_password() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "scheduler.sim", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
    )
    try:
        banner = process.stdout.readline()
        password = re.search(r"generated password (\S+)$", banner.strip()).group(1)
        port = int(re.search(r"api://127\.0\.0\.1:(\d+)", banner).group(1))
        librouteros.connect("127.0.0.1", "admin", password, port=port, timeout=5).close()
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0


def test_cli_logs_online_users_in_and_refuses_a_disabled_one() -> None:
    command = [sys.executable, "-m", "scheduler.sim", "--port", "0", "--password", "pw"]
    command += ["--seed-users", "5"]
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    refused = subprocess.run(
        [*command, "--online", "wanjiku100"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert refused.returncode == 1
    assert refused.stderr == (
        "wisp sim: hotspot user 'wanjiku100' cannot log in: the user is disabled on this router.\n"
    )
    process = subprocess.Popen(
        [*command, "--online", "otieno101"], cwd=ROOT, stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        port = int(re.search(r"api://127\.0\.0\.1:(\d+)", process.stdout.readline()).group(1))
        api = librouteros.connect("127.0.0.1", "admin", "pw", port=port, timeout=5)
        users = {row["user"] for row in api.path("ip", "hotspot", "active")}
        api.close()
        assert "otieno101" in users
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
