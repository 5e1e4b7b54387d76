"""Each injected fault, as a client experiences it."""

from __future__ import annotations

import socket
import time

import librouteros
import pytest
from librouteros.exceptions import ConnectionClosed, TrapError

from scheduler.sim import SimRouter
from tests.sim.conftest import RawClient

Api = librouteros.api.Api


def _connect(router: SimRouter, timeout: float = 5) -> Api:
    return librouteros.connect("127.0.0.1", "admin", "secret", port=router.port, timeout=timeout)


def test_latency_is_added_to_each_command(api: Api, router: SimRouter) -> None:
    router.faults.latency = 0.2
    started = time.monotonic()
    list(api.path("system", "identity"))
    assert time.monotonic() - started >= 0.2


def test_refused_connections_then_accepted_again(router: SimRouter) -> None:
    router.faults.refuse_connections = True
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", router.port), timeout=2)
    router.faults.refuse_connections = False
    _connect(router).close()


def test_refusing_connections_keeps_existing_ones(api: Api, router: SimRouter) -> None:
    router.faults.refuse_connections = True
    assert list(api.path("system", "identity")) == [{"name": "MikroTik"}]


def test_drop_after_sentences_cuts_a_print_midway(api: Api, router: SimRouter) -> None:
    router.faults.drop_after_sentences = 2
    with pytest.raises((ConnectionClosed, ConnectionResetError)):
        list(api.path("interface"))


def test_drop_after_sentences_lets_exactly_n_through(raw: RawClient, router: SimRouter) -> None:
    router.faults.drop_after_sentences = 3
    raw.send("/interface/print", "=.proplist=name")
    assert raw.sentence() == ["!re", "=name=ether1"]
    assert raw.sentence() == ["!re", "=name=ether2"]
    assert raw.sentence() == ["!re", "=name=ether3"]
    assert raw.closed()


def test_half_open_never_answers(api: Api, router: SimRouter) -> None:
    router.faults.half_open = True
    api.protocol.transport.sock.settimeout(0.3)
    with pytest.raises(TimeoutError):
        list(api.path("system", "identity"))


def test_half_open_accepts_connections_but_login_times_out(router: SimRouter) -> None:
    router.faults.half_open = True
    with pytest.raises(TimeoutError):
        _connect(router, timeout=0.3)


def test_refused_login_looks_like_wrong_password(router: SimRouter) -> None:
    router.faults.refuse_logins = True
    with pytest.raises(TrapError) as failure:
        _connect(router)
    assert failure.value.message == "invalid user name or password (6)"


def test_trapped_command_until_cleared(api: Api, router: SimRouter) -> None:
    router.faults.trap("/ip/hotspot/user/add", "failure: out of memory", category=4)
    users = api.path("ip", "hotspot", "user")
    for _ in range(2):
        with pytest.raises(TrapError) as failure:
            users.add(name="x")
        assert (failure.value.message, failure.value.category) == ("failure: out of memory", 4)
    router.faults.clear()
    assert users.add(name="x") == "*1"


def test_trap_a_limited_number_of_times(api: Api, router: SimRouter) -> None:
    router.faults.trap("/ip/hotspot/user/add", "busy", times=1)
    users = api.path("ip", "hotspot", "user")
    with pytest.raises(TrapError, match="busy"):
        users.add(name="x")
    assert users.add(name="x") == "*1"


def test_router_down_and_up_on_the_same_port(api: Api, router: SimRouter) -> None:
    port = router.port
    router.down()
    with pytest.raises((ConnectionClosed, ConnectionResetError, BrokenPipeError)):
        list(api.path("system", "identity"))
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)
    router.up()
    assert router.port == port
    again = _connect(router)
    assert list(again.path("system", "identity")) == [{"name": "MikroTik"}]
    again.close()
