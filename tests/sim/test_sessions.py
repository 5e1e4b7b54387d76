"""Simulated subscribers online: active entries, cookies, moving counters, kicking."""

from __future__ import annotations

import time

import librouteros
import pytest

from scheduler.sim import SessionRefused, SimRouter

Api = librouteros.api.Api


def _wait_for(condition, timeout: float = 20.0) -> None:
    """Until the condition holds (a second of uptime passes however loaded the machine is)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


@pytest.fixture
def online(api: Api, router: SimRouter) -> str:
    api.path("ip", "hotspot", "user").add(
        name="amina", password="pw", **{"limit-bytes-total": 1000000}
    )
    return router.sessions.login_hotspot(
        "amina", mac_address="aa:bb:cc:dd:ee:01", address="10.5.50.9"
    )


def test_hotspot_login_creates_active_entry_and_cookie(online: str, api: Api) -> None:
    (active,) = api.rawCmd("/ip/hotspot/active/print")
    assert (
        active[".id"],
        active["user"],
        active["address"],
        active["mac-address"],
        active["server"],
    ) == (online, "amina", "10.5.50.9", "AA:BB:CC:DD:EE:01", "hotspot1")
    assert active["limit-bytes-total"] == 1000000
    (cookie,) = api.rawCmd("/ip/hotspot/cookie/print")
    assert (cookie["user"], cookie["mac-address"]) == ("amina", "AA:BB:CC:DD:EE:01")


def test_uptime_and_counters_move(online: str, router: SimRouter) -> None:
    first = router.rows("/ip/hotspot/active")[0]
    _wait_for(lambda: router.rows("/ip/hotspot/active")[0]["uptime"] != first["uptime"])
    later = router.rows("/ip/hotspot/active")[0]
    assert int(later["bytes-out"]) > int(first["bytes-out"])


def test_disabling_does_not_kick_but_removing_the_active_entry_does(
    online: str, api: Api, router: SimRouter
) -> None:
    users = api.path("ip", "hotspot", "user")
    users.update(**{".id": "*1", "disabled": True})
    assert [r["user"] for r in router.rows("/ip/hotspot/active")] == ["amina"]
    api.path("ip", "hotspot", "active").remove(online)
    assert router.rows("/ip/hotspot/active") == []
    (cookie,) = router.rows("/ip/hotspot/cookie")
    api.path("ip", "hotspot", "cookie").remove(cookie[".id"])
    assert router.rows("/ip/hotspot/cookie") == []


def test_kick_by_user_query_then_remove(online: str, api: Api, router: SimRouter) -> None:
    ids = [
        r[".id"] for r in api.rawCmd("/ip/hotspot/active/print", "=.proplist=.id", "?=user=amina")
    ]
    api.path("ip", "hotspot", "active").remove(*ids)
    assert router.rows("/ip/hotspot/active") == []


def test_ended_session_adds_to_user_counters(online: str, api: Api, router: SimRouter) -> None:
    _wait_for(lambda: int(router.rows("/ip/hotspot/active")[0]["bytes-out"]) > 0)
    api.path("ip", "hotspot", "active").remove(online)
    assert int(router.rows("/ip/hotspot/user")[0]["bytes-out"]) > 0


def test_disabled_and_unknown_users_are_refused(online: str, api: Api, router: SimRouter) -> None:
    with pytest.raises(SessionRefused, match="invalid username or password"):
        router.sessions.login_hotspot("nobody")
    api.path("ip", "hotspot", "user").add(name="off", disabled=True)
    with pytest.raises(SessionRefused, match="invalid username or password"):
        router.sessions.login_hotspot("off")


def test_shared_users_limit(online: str, router: SimRouter) -> None:
    with pytest.raises(SessionRefused, match="no more sessions are allowed for user"):
        router.sessions.login_hotspot("amina")


def test_removing_user_keeps_session_unless_switched(
    online: str, api: Api, router: SimRouter
) -> None:
    api.path("ip", "hotspot", "user").remove("*1")
    assert len(router.rows("/ip/hotspot/active")) == 1
    router.behaviour.remove_user_kicks_session = True
    api.path("ip", "hotspot", "user").add(name="bob")
    router.sessions.login_hotspot("bob")
    api.path("ip", "hotspot", "user").remove("*2")
    assert [r["user"] for r in router.rows("/ip/hotspot/active")] == ["amina"]


def test_ppp_session_and_kick_records_logout(api: Api, router: SimRouter) -> None:
    api.path("ppp", "secret").add(name="kamau", password="pw", service="pppoe")
    session = router.sessions.login_ppp("kamau", address="10.10.10.20")
    (active,) = api.rawCmd("/ppp/active/print", "?=name=kamau")
    assert (active[".id"], active["service"], active["address"]) == (
        session,
        "pppoe",
        "10.10.10.20",
    )
    api.path("ppp", "active").remove(session)
    secret = router.rows("/ppp/secret")[0]
    assert router.rows("/ppp/active") == []
    assert (
        secret["last-disconnect-reason"] == "hung-up"
        and secret["last-caller-id"] == active["caller-id"]
    )


def test_api_login_command_logs_a_hotspot_user_in_like_a_router(api: Api) -> None:
    api.path("ip", "hotspot", "user").add(name="baraka", password="pw2")
    tuple(
        api.rawCmd(
            "/ip/hotspot/active/login",
            "=user=baraka",
            "=password=pw2",
            "=mac-address=aa:bb:cc:00:00:07",
            "=ip=10.5.50.77",
        )
    )
    (active,) = api.rawCmd("/ip/hotspot/active/print")
    assert (active["user"], active["address"], active["mac-address"]) == (
        "baraka",
        "10.5.50.77",
        "AA:BB:CC:00:00:07",
    )
    with pytest.raises(librouteros.exceptions.TrapError, match="invalid username or password"):
        tuple(api.rawCmd("/ip/hotspot/active/login", "=user=baraka", "=password=wrong"))
    with pytest.raises(librouteros.exceptions.TrapError, match="unknown parameter"):
        tuple(api.rawCmd("/ip/hotspot/active/login", "=user=baraka", "=password=pw2", "=x=1"))
