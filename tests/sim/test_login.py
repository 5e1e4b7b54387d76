"""Login in every version mode, with each client, and the exact failure messages."""

from __future__ import annotations

import asyncio

import librouteros
import pytest
import routeros_api
from librouteros.exceptions import TrapError
from librouteros.login import async_token, token

from scheduler.sim import SimRouter
from scheduler.sim.login import challenge_response
from tests.sim.conftest import RawClient

PLAIN_FAILED = "invalid user name or password (6)"
CHALLENGE_FAILED = "cannot log in"


def _connect(router: SimRouter, password: str = "secret", **options: object) -> librouteros.api.Api:
    return librouteros.connect(
        "127.0.0.1", "admin", password, port=router.port, timeout=5, **options
    )


def _identity(api: librouteros.api.Api) -> str:
    return next(iter(api.path("system", "identity")))["name"]


def test_challenge_response_matches_published_vectors() -> None:
    assert (
        challenge_response("test", "259e0bc05acd6f46926dc2f809ed1bba")
        == "00c7fd865183a43a772dde231f6d0bff13"
    )
    assert (
        challenge_response("", "856780b7411eefd3abadee2058c149a3")
        == "005062f7a5ef124d34675bf3e81f56c556"
    )


def test_plain_login_success_is_a_single_done_word(router: SimRouter) -> None:
    client = RawClient(router.port)
    client.send("/login", "=name=admin", "=password=secret")
    assert client.until_done() == [["!done"]]
    client.close()


@pytest.mark.parametrize("version", ["7.18.2", "7.10", "6.45.1", "6.43"])
def test_plain_login_works_from_6_43(version: str) -> None:
    with SimRouter(password="secret", ros_version=version) as router:
        api = _connect(router)
        assert _identity(api) == "MikroTik"
        api.close()


@pytest.mark.parametrize("user, password", [("admin", "wrong"), ("root", "secret")])
def test_plain_login_failure_message(router: SimRouter, user: str, password: str) -> None:
    with pytest.raises(TrapError) as failure:
        librouteros.connect("127.0.0.1", user, password, port=router.port, timeout=5)
    assert failure.value.message == PLAIN_FAILED


@pytest.mark.parametrize("version", ["7.18.2", "7.10", "6.45.1"])
def test_md5_answer_is_refused_from_6_45(version: str) -> None:
    with SimRouter(password="secret", ros_version=version) as router:
        with pytest.raises(TrapError) as failure:
            _connect(router, login_method=token)
        assert failure.value.message == PLAIN_FAILED


@pytest.mark.parametrize("version", ["6.43", "6.33.3"])
def test_md5_challenge_login_works_before_6_45(version: str) -> None:
    with SimRouter(password="secret", ros_version=version) as router:
        api = _connect(router, login_method=token)
        assert _identity(api) == "MikroTik"
        api.close()


@pytest.mark.parametrize("version", ["6.43", "6.33.3"])
def test_md5_challenge_failure_says_cannot_log_in(version: str) -> None:
    with SimRouter(password="secret", ros_version=version) as router:
        with pytest.raises(TrapError) as failure:
            _connect(router, password="wrong", login_method=token)
        assert failure.value.message == CHALLENGE_FAILED


def test_bare_login_returns_a_challenge_even_on_modern_versions(router: SimRouter) -> None:
    client = RawClient(router.port)
    client.send("/login")
    (done,) = client.until_done()
    assert done[0] == "!done" and done[1].startswith("=ret=") and len(done[1]) == 5 + 32
    client.close()


def test_legacy_router_ignores_plain_credentials_and_stays_logged_out() -> None:
    with SimRouter(password="secret", ros_version="6.33.3") as router:
        client = RawClient(router.port)
        client.send("/login", "=name=admin", "=password=secret")
        (done,) = client.until_done()
        assert done[1].startswith("=ret=")
        client.send("/system/identity/print")
        assert client.until_done() == [["!trap", "=message=not logged in"], ["!done"]]
        client.close()


def test_routeros_api_plaintext_login_with_tags(router: SimRouter) -> None:
    pool = routeros_api.RouterOsApiPool(
        "127.0.0.1", username="admin", password="secret", port=router.port, plaintext_login=True
    )
    rows = pool.get_api().get_resource("/system/identity").get()
    assert rows == [{"name": "MikroTik"}]
    pool.disconnect()


def test_routeros_api_md5_login_on_legacy_router() -> None:
    with SimRouter(password="secret", ros_version="6.33.3") as router:
        pool = routeros_api.RouterOsApiPool(
            "127.0.0.1", username="admin", password="secret", port=router.port
        )
        assert pool.get_api().get_resource("/system/identity").get() == [{"name": "MikroTik"}]
        pool.disconnect()


def test_routeros_api_md5_login_refused_on_modern_router(router: SimRouter) -> None:
    pool = routeros_api.RouterOsApiPool(
        "127.0.0.1", username="admin", password="secret", port=router.port
    )
    with pytest.raises(routeros_api.exceptions.RouterOsApiCommunicationError) as failure:
        pool.get_api()
    assert PLAIN_FAILED in str(failure.value)


def test_async_librouteros_plain_login(router: SimRouter) -> None:
    async def scenario() -> list[dict]:
        api = await librouteros.async_connect(
            "127.0.0.1", "admin", "secret", port=router.port, timeout=5
        )
        rows = [row async for row in api.path("system", "identity")]
        await api.close()
        return rows

    assert asyncio.run(scenario()) == [{"name": "MikroTik"}]


def test_async_librouteros_token_login_on_6_43() -> None:
    with SimRouter(password="secret", ros_version="6.43") as router:

        async def scenario() -> list[dict]:
            api = await librouteros.async_connect(
                "127.0.0.1",
                "admin",
                "secret",
                port=router.port,
                timeout=5,
                login_method=async_token,
            )
            rows = [row async for row in api.path("system", "identity")]
            await api.close()
            return rows

        assert asyncio.run(scenario()) == [{"name": "MikroTik"}]


def test_connection_survives_failed_login_by_default(router: SimRouter) -> None:
    client = RawClient(router.port)
    client.send("/login", "=name=admin", "=password=nope")
    assert client.until_done() == [["!trap", f"=message={PLAIN_FAILED}"], ["!done"]]
    client.login()
    client.close()


def test_failed_login_can_close_the_connection_when_switched(router: SimRouter) -> None:
    router.behaviour.close_after_failed_login = True
    client = RawClient(router.port)
    client.send("/login", "=name=admin", "=password=nope")
    assert client.until_done()[0] == ["!trap", f"=message={PLAIN_FAILED}"]
    assert client.closed()
