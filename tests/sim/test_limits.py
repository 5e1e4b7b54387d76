"""The simulator as a box on a network: limits on words, sentences, sessions and idle time, an
error for a query that cannot be read, and its faults switched from the command line."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import librouteros
import pytest
from librouteros.exceptions import ConnectionClosed, FatalError, TrapError
from librouteros.protocol import encode_length

from scheduler.sim import Behaviour, SimRouter
from tests.sim.conftest import RawClient
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]


def test_a_word_longer_than_the_limit_is_refused_from_its_length_alone(router: SimRouter) -> None:
    limit = router.behaviour.max_word_bytes
    client = RawClient(router.port)
    client.login()
    # 200 MiB announced; only its first bytes are sent: nothing waits for (or keeps) the rest.
    client.send_bytes(encode_length(7) + b"/system" + encode_length(200 << 20) + b"x" * 1000)
    assert client.sentence() == ["!fatal", f"word longer than {limit} bytes"]
    assert client.closed()


def test_a_sentence_of_too_many_words_is_refused_and_other_clients_are_still_served(
    router: SimRouter, raw: RawClient
) -> None:
    flood = RawClient(router.port)
    flood.login()
    words = router.behaviour.max_sentence_words
    flood.send("/system/identity/print", *(["=x=y"] * words))
    assert flood.sentence() == ["!fatal", f"sentence of more than {words} words"]
    assert flood.closed()
    raw.send("/system/identity/print")
    assert raw.until_done() == [["!re", "=name=MikroTik"], ["!done"]]


def test_before_login_only_a_small_sentence_is_read(router: SimRouter) -> None:
    stranger = RawClient(router.port)
    limit = router.behaviour.max_bytes_before_login
    stranger.send("/login", "=name=admin", f"=password={'p' * limit}")
    assert stranger.sentence()[0] == "!fatal"
    assert stranger.closed()


def test_sessions_beyond_the_limit_are_closed_at_once() -> None:
    with SimRouter(password="secret", behaviour=Behaviour(max_sessions=2)) as capped:
        first, second = RawClient(capped.port), RawClient(capped.port)
        first.login()
        second.login()
        third = RawClient(capped.port)
        assert third.closed()
        first.close()
        wait_for(lambda: capped.connections() < 2)
        fourth = RawClient(capped.port)
        fourth.login()
        for client in (second, fourth):
            client.close()


@pytest.fixture
def impatient() -> Iterator[SimRouter]:
    with SimRouter(password="secret", behaviour=Behaviour(idle_timeout=0.3)) as sim:
        yield sim


def test_a_connection_idle_longer_than_the_idle_timeout_is_closed(impatient: SimRouter) -> None:
    silent = RawClient(impatient.port, timeout=30)  # never logs in
    idle = RawClient(impatient.port, timeout=30)
    idle.login()
    assert silent.closed() and idle.closed()


def test_a_stack_operation_with_too_few_values_is_an_error_not_every_row(raw: RawClient) -> None:
    for ops in ("?#|", "?#&", "?#!", "?#3"):
        raw.send("/interface/print", ops)
        replies = raw.until_done()
        assert replies[0][0] == "!trap" and replies[-1] == ["!done"], (ops, replies)
        assert not any(reply[0] == "!re" for reply in replies)


def start_sim(*options: str) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "scheduler.sim", "--port", "0", "--password", "pw", *options],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
    )
    banner = process.stdout.readline()  # type: ignore[union-attr]
    found = re.search(r"api://127\.0\.0\.1:(\d+)", banner)
    if found is None:
        process.kill()
        raise AssertionError(f"no banner: {banner!r} {process.communicate()[1]!r}")
    return process, int(found.group(1))


def stop_sim(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


def test_wisp_sim_hang_after_login_and_latency_flags() -> None:
    process, port = start_sim("--fault", "hang-after-login", "--latency", "50ms")
    try:
        api = librouteros.connect("127.0.0.1", "admin", "pw", port=port, timeout=1)
        with pytest.raises(TimeoutError):
            list(api.path("system", "identity"))
        api.close()
    finally:
        stop_sim(process)


def test_wisp_sim_trap_flag_for_every_command_or_one() -> None:
    process, port = start_sim(
        "--fault", "trap:/ip/hotspot/user/add:failure: out of memory", "--fault", "trap:busy"
    )
    try:
        api = librouteros.connect("127.0.0.1", "admin", "pw", port=port, timeout=5)
        with pytest.raises(TrapError, match="failure: out of memory"):
            api.path("ip", "hotspot", "user").add(name="x")
        with pytest.raises(TrapError, match="busy"):
            list(api.path("system", "identity"))
        api.close()
    finally:
        stop_sim(process)


def test_wisp_sim_drop_flag_cuts_each_connection_after_the_login() -> None:
    process, port = start_sim("--fault", "drop")
    try:
        api = librouteros.connect("127.0.0.1", "admin", "pw", port=port, timeout=5)
        with pytest.raises((ConnectionClosed, ConnectionResetError, FatalError)):
            list(api.path("system", "identity"))
    finally:
        stop_sim(process)


def test_wisp_sim_refuses_an_unknown_fault_and_its_help_names_each() -> None:
    command = [sys.executable, "-m", "scheduler.sim"]
    env = os.environ | {"PYTHONPATH": str(ROOT), "COLUMNS": "400"}
    shown = subprocess.run([*command, "--help"], cwd=ROOT, capture_output=True, text=True, env=env)
    text = shown.stdout
    for fault in ("hang-after-login", "half-open", "drop", "refuse-logins", "trap:"):
        assert fault in text
    assert "--latency" in text and "--max-sessions" in text and "--idle-timeout" in text
    wrong = subprocess.run(
        [*command, "--fault", "explode"], cwd=ROOT, capture_output=True, text=True, env=env
    )
    assert wrong.returncode == 2 and "explode" in wrong.stderr


def test_the_decoder_refuses_a_word_from_its_length_prefix_alone() -> None:
    from scheduler.sim.codec import Limits, SentenceDecoder, TooLarge

    decoder = SentenceDecoder(Limits(word_bytes=10, sentence_bytes=30, sentence_words=3))
    assert list(decoder.feed(encode_length(10) + b"x" * 10 + b"\x00")) == [[b"x" * 10]]
    with pytest.raises(TooLarge, match="word longer than 10 bytes"):
        list(decoder.feed(encode_length(11)))
    with pytest.raises(TooLarge, match="more than 3 words"):
        list(SentenceDecoder(Limits(10, 30, 3)).feed((encode_length(1) + b"w") * 4))
    with pytest.raises(TooLarge, match="sentence longer than 30 bytes"):
        list(SentenceDecoder(Limits(10, 30, 9)).feed((encode_length(10) + b"y" * 10) * 3 + b"\x05"))
