"""The router client against the simulator over real TCP: values, errors, reconnects, TLS."""

from __future__ import annotations

import ssl
import threading

import pytest

from db.config import RouterSettings
from scheduler.routeros.client import RouterClient, RouterError
from scheduler.routeros.tls import certificate_fingerprint
from scheduler.sim import SimRouter
from tests.scheduler.conftest import SIM_PASSWORD, endpoint

HOTSPOT = "/ip/hotspot/user"
QUICK = RouterSettings(connect_timeout=1.0, command_timeout=0.5)
"""For a router that is meant not to answer."""
PATIENT = RouterSettings(connect_timeout=10.0, command_timeout=10.0)
"""For a router that answers (at once, or with an error): no loaded machine makes it time out."""


def test_identity_reports_name_version_uptime_and_board(client: RouterClient) -> None:
    info = client.identity()
    assert info["identity"] == "MikroTik"
    assert info["version"].startswith("7.18.2")
    assert info["uptime"] and info["board-name"]


def test_values_come_back_as_the_strings_the_router_sent(client: RouterClient) -> None:
    client.add(HOTSPOT, {"name": "007", "password": "123456", "comment": "yes"})
    row = client.print(
        HOTSPOT, where={"name": "007"}, proplist=["name", "password", "comment", "disabled"]
    )
    assert row == [{"name": "007", "password": "123456", "comment": "yes", "disabled": "false"}]


def test_non_ascii_names_round_trip_in_utf8(client: RouterClient, sim: SimRouter) -> None:
    client.add(HOTSPOT, {"name": "wanjikũ", "comment": "Nyeri – duka"})
    assert client.print(HOTSPOT, where={"name": "wanjikũ"}, proplist=["comment"]) == [
        {"comment": "Nyeri – duka"}
    ]
    assert [r["name"] for r in sim.rows(HOTSPOT)] == ["wanjikũ"]


def test_add_returns_the_new_id_and_query_finds_only_that_item(client: RouterClient) -> None:
    first = client.add(HOTSPOT, {"name": "a1"})
    client.add(HOTSPOT, {"name": "a2"})
    assert first.startswith("*")
    assert client.print(HOTSPOT, where={"name": "a1"}, proplist=[".id"]) == [{".id": first}]


def test_print_that_finds_nothing_is_an_empty_list(client: RouterClient) -> None:
    assert client.print(HOTSPOT, where={"name": "nobody"}, proplist=[".id"]) == []


def test_trap_keeps_the_router_message_verbatim_and_the_session(client: RouterClient) -> None:
    client.add(HOTSPOT, {"name": "dup"})
    with pytest.raises(RouterError) as caught:
        client.add(HOTSPOT, {"name": "dup"})
    assert caught.value.kind == "trap"
    assert str(caught.value) == "failure: already have user with this name for this server"
    assert client.connected
    assert client.print(HOTSPOT, where={"name": "dup"}, proplist=["name"]) == [{"name": "dup"}]


def test_injected_trap_with_category_is_classified(client: RouterClient, sim: SimRouter) -> None:
    sim.faults.trap("/ip/hotspot/user/set", "not enough permissions (9)", category=4)
    user = client.add(HOTSPOT, {"name": "u"})
    with pytest.raises(RouterError) as caught:
        client.set(HOTSPOT, user, {"disabled": "yes"})
    assert (caught.value.kind, str(caught.value), caught.value.category) == (
        "trap",
        "not enough permissions (9)",
        4,
    )


def test_wrong_password_is_reported_as_a_refused_login(sim: SimRouter) -> None:
    with RouterClient(endpoint(sim, password="not-it"), PATIENT) as bad:
        with pytest.raises(RouterError) as caught:
            bad.identity()
    error = caught.value
    assert error.kind == "auth" and error.connecting and error.pauses_router
    assert "r1" in str(error) and "admin" in str(error)
    assert "invalid user name or password" in str(error)
    assert "not-it" not in str(error) and SIM_PASSWORD not in str(error)


def test_a_password_the_encoding_cannot_carry_is_a_login_problem_that_never_shows_it(
    sim: SimRouter,
) -> None:
    settings = RouterSettings(connect_timeout=10.0, command_timeout=10.0, encoding="ascii")
    with RouterClient(endpoint(sim, password="Kahawa€2024"), settings) as bad:
        with pytest.raises(RouterError) as caught:
            bad.identity()
    error = caught.value
    assert error.kind == "auth" and error.connecting and not bad.connected
    assert "cannot be sent in the configured encoding" in str(error)
    assert "€" not in str(error) and "\\u20ac" not in str(error) and "position" not in str(error)


def test_closed_port_is_unreachable_and_says_so(sim: SimRouter) -> None:
    sim.faults.refuse_connections = True
    with RouterClient(endpoint(sim), PATIENT) as closed, pytest.raises(RouterError) as caught:
        closed.identity()
    assert caught.value.kind == "unreachable" and caught.value.connecting
    assert "refused the connection" in str(caught.value)


def test_unknown_host_name_is_unreachable() -> None:
    with RouterClient(endpoint_for_host("no-such-router.invalid"), PATIENT) as lost:
        with pytest.raises(RouterError) as caught:
            lost.identity()
    assert caught.value.kind == "unreachable"
    assert "cannot be resolved" in str(caught.value)


def endpoint_for_host(host: str):  # type: ignore[no-untyped-def]
    from scheduler.routeros.client import Endpoint

    return Endpoint(name="far", host=host, port=8728, username="admin", password="x")


def test_router_that_accepts_but_never_answers_times_out_at_login(sim: SimRouter) -> None:
    sim.faults.half_open = True
    with RouterClient(endpoint(sim), QUICK) as silent, pytest.raises(RouterError) as caught:
        silent.connect()
    assert caught.value.connecting and caught.value.pauses_router
    assert "did not answer within 1 s" in str(caught.value)


def test_timeout_mid_command_drops_the_session_and_the_next_use_reconnects(sim: SimRouter) -> None:
    with RouterClient(endpoint(sim), PATIENT) as router:
        router.connect()
        sim.faults.half_open = True
        router.settings = QUICK
        with pytest.raises(RouterError) as caught:
            router.print(HOTSPOT)
        assert caught.value.kind == "timeout" and not caught.value.connecting
        assert not router.connected
        sim.faults.half_open = False
        router.settings = PATIENT
        assert router.print(HOTSPOT) == []


def test_router_going_down_and_up_is_followed_by_a_fresh_session(
    client: RouterClient, sim: SimRouter
) -> None:
    client.add(HOTSPOT, {"name": "before"})
    sim.down()
    with pytest.raises(RouterError) as caught:
        client.print(HOTSPOT)
    assert caught.value.kind == "unreachable"
    sim.up()
    assert [r["name"] for r in client.print(HOTSPOT, proplist=["name"])] == ["before"]


def test_connection_dropped_mid_reply_is_never_mistaken_for_an_empty_answer(
    client: RouterClient, sim: SimRouter
) -> None:
    for n in range(5):
        client.add(HOTSPOT, {"name": f"u{n}"})
    sim.faults.drop_after_sentences = 2
    with pytest.raises(RouterError) as caught:
        client.print(HOTSPOT, proplist=["name"])
    assert caught.value.kind == "unreachable"
    sim.faults.drop_after_sentences = None
    assert len(client.print(HOTSPOT, proplist=["name"])) == 5


def test_threads_sharing_one_client_each_get_their_own_answers(client: RouterClient) -> None:
    for n in range(8):
        client.add(HOTSPOT, {"name": f"t{n}", "comment": f"c{n}"})
    wrong: list[str] = []

    def read(n: int) -> None:
        for _ in range(50):
            rows = client.print(HOTSPOT, where={"name": f"t{n}"}, proplist=["comment"])
            if rows != [{"comment": f"c{n}"}]:
                wrong.append(f"t{n}: {rows}")

    threads = [threading.Thread(target=read, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []


def test_stream_yields_rows_and_an_abandoned_stream_leaves_no_reply_behind(
    client: RouterClient,
) -> None:
    for n in range(30):
        client.add(HOTSPOT, {"name": f"s{n:02}"})
    rows = client.stream(f"{HOTSPOT}/print", "=.proplist=name")
    assert next(rows) == {"name": "s00"}
    rows.close()
    assert client.print(HOTSPOT, where={"name": "s29"}, proplist=["name"]) == [{"name": "s29"}]


@pytest.mark.parametrize("version", ["6.33.3", "6.43", "7.10"])
def test_logs_in_to_old_and_new_routeros_versions(version: str) -> None:
    with SimRouter(password="pw", ros_version=version) as old:
        with RouterClient(endpoint(old, password="pw"), PATIENT) as router:
            assert router.identity()["version"].startswith(version)


def test_api_ssl_with_a_pinned_self_signed_certificate() -> None:
    with SimRouter(password="pw", tls=True) as secure:
        der = ssl.PEM_cert_to_DER_cert(secure.certificate_pem.decode())  # type: ignore[union-attr]
        pinned = endpoint(
            secure,
            password="pw",
            port=secure.tls_port,
            use_tls=True,
            tls_fingerprint=certificate_fingerprint(der),
        )
        with RouterClient(pinned, PATIENT) as router:
            assert router.identity()["identity"] == "MikroTik"


def test_api_ssl_refuses_a_certificate_other_than_the_pinned_one() -> None:
    with SimRouter(password="pw", tls=True) as secure:
        wrong = endpoint(
            secure, password="pw", port=secure.tls_port, use_tls=True, tls_fingerprint="AB" * 32
        )
        with RouterClient(wrong, PATIENT) as router, pytest.raises(RouterError) as caught:
            router.identity()
    assert caught.value.kind == "tls" and "not the pinned one" in str(caught.value)


def test_api_ssl_with_verification_refuses_an_unknown_self_signed_certificate() -> None:
    with SimRouter(password="pw", tls=True) as secure:
        strict = endpoint(
            secure, password="pw", port=secure.tls_port, use_tls=True, tls_verify=True
        )
        with RouterClient(strict, PATIENT) as router, pytest.raises(RouterError) as caught:
            router.identity()
    assert caught.value.kind == "tls" and "certificate" in str(caught.value)


def test_api_ssl_without_certificate_uses_anonymous_dh_when_not_verifying() -> None:
    with SimRouter(password="pw", tls=True, tls_mode="adh") as secure:
        anonymous = endpoint(
            secure, password="pw", port=secure.tls_port, use_tls=True, tls_verify=False
        )
        with RouterClient(anonymous, PATIENT) as router:
            assert router.identity()["identity"] == "MikroTik"


def test_transport_serves_small_reads_from_one_receive_and_waits_for_the_rest() -> None:
    import socket

    from scheduler.routeros.client import DeadlineTransport

    ours, theirs = socket.socketpair()
    with ours, theirs:
        transport = DeadlineTransport(ours)
        theirs.sendall(b"\x05hello\x05world\x03ab")
        assert [transport.read(1), transport.read(5), transport.read(1)] == [
            b"\x05",
            b"hello",
            b"\x05",
        ]
        assert transport.read(5) == b"world"
        sender = threading.Timer(0.05, theirs.sendall, (b"c",))
        sender.start()
        assert transport.read(1) == b"\x03"
        assert transport.read(3) == b"abc"  # two bytes already here, the third arrives later
        sender.join()
        theirs.sendall(b"xy")
        assert transport.read(1) == b"x"  # the same receive brought "y"
        transport.deadline = 0.0  # long past: what is already here is still read, no more
        assert transport.read(1) == b"y"
        with pytest.raises(TimeoutError):
            transport.read(1)
