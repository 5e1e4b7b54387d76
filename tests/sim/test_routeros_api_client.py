"""The menus through routeros-api, which tags every sentence and keeps queries in a set."""

from __future__ import annotations

import pytest
import routeros_api

from scheduler.sim import SimRouter

CommunicationError = routeros_api.exceptions.RouterOsApiCommunicationError


def _add(ra, path: str, **values: str) -> str:
    response = ra.get_binary_resource(path).call("add", {k: v.encode() for k, v in values.items()})
    return response.done_message["ret"].decode()


def _trap_message(call) -> bytes:
    with pytest.raises(CommunicationError) as failure:
        call()
    return failure.value.original_message


@pytest.mark.parametrize(
    "path, values, change",
    [
        ("/ip/hotspot/user", {"name": "u1", "password": "p"}, {"comment": "changed"}),
        ("/ip/hotspot/user/profile", {"name": "P1", "rate-limit": "1M/2M"}, {"shared-users": "2"}),
        ("/ppp/secret", {"name": "s1", "password": "p"}, {"service": "pppoe"}),
        ("/ppp/profile", {"name": "PP1"}, {"rate-limit": "3M/3M"}),
        ("/ip/address", {"address": "10.9.0.1/24", "interface": "ether3"}, {"comment": "lan"}),
    ],
)
def test_add_print_set_remove(router: SimRouter, ra, path: str, values: dict, change: dict) -> None:
    new_id = _add(ra, path, **values)
    resource = ra.get_resource(path)
    resource.set(id=new_id, **change)
    (row,) = [r for r in resource.get() if r["id"] == new_id]
    assert {k: row[k] for k in [*values, *change]} == values | change
    resource.remove(id=new_id)
    assert [r for r in resource.get() if r["id"] == new_id] == []


def test_trap_texts_reach_routeros_api_verbatim(router: SimRouter, ra) -> None:
    _add(ra, "/ip/hotspot/user", name="dup")
    assert (
        _trap_message(lambda: _add(ra, "/ip/hotspot/user", name="dup"))
        == b"failure: already have user with this name for this server"
    )
    assert (
        _trap_message(lambda: _add(ra, "/ppp/secret", name="x", profile="nope"))
        == b"input does not match any value of profile"
    )
    assert (
        _trap_message(lambda: ra.get_resource("/ip/hotspot/user").remove(id="*77"))
        == b"no such item"
    )


def test_interleaved_tagged_commands_get_their_own_replies(router: SimRouter, ra) -> None:
    _add(ra, "/ip/hotspot/user", name="a1")
    users, identity = ra.get_resource("/ip/hotspot/user"), ra.get_resource("/system/identity")
    first, second = users.get_async(name="a1"), identity.get_async()
    assert second.get() == [{"name": "MikroTik"}]
    assert [r["name"] for r in first.get()] == ["a1"]


def test_interface_and_active_menus_print(router: SimRouter, ra) -> None:
    assert [r["name"] for r in ra.get_resource("/interface").get()] == [
        "ether1",
        "ether2",
        "ether3",
        "ether4",
    ]
    assert ra.get_resource("/ip/hotspot/active").get() == []
    assert ra.get_resource("/ppp/active").get() == []
