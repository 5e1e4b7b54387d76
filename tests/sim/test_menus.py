"""add, print, set, remove, enable, disable, unset on every menu, through librouteros."""

from __future__ import annotations

import librouteros
import pytest
from librouteros.exceptions import TrapError

from scheduler.sim import SimRouter
from tests.sim.conftest import RawClient

Api = librouteros.api.Api


def _rows(api: Api, command: str, *words: str) -> list[dict]:
    return [row for row in api.rawCmd(command, *words) if "ret" not in row]


def _trap(call) -> TrapError:
    with pytest.raises(TrapError) as failure:
        call()
    return failure.value


def test_hotspot_user_add_returns_hex_id_and_prints_without_defaults(
    api: Api, router: SimRouter
) -> None:
    users = api.path("ip", "hotspot", "user")
    assert users.add(name="amina", password="pw1") == "*1"
    assert users.add(name="juma", password="pw2", **{"limit-bytes-total": "5368709120"}) == "*2"
    assert router.rows("/ip/hotspot/user")[0] == {
        ".id": "*1",
        "name": "amina",
        "password": "pw1",
        "profile": "default",
        "uptime": "0s",
        "bytes-in": "0",
        "bytes-out": "0",
        "packets-in": "0",
        "packets-out": "0",
        "dynamic": "false",
        "disabled": "false",
    }
    assert router.rows("/ip/hotspot/user")[1]["limit-bytes-total"] == "5368709120"


def test_ids_are_allocated_monotonically_after_removal(api: Api) -> None:
    users = api.path("ip", "hotspot", "user")
    ids = [users.add(name=f"u{i}") for i in range(27)]
    assert ids[25] == "*1A"
    users.remove(ids[26])
    assert users.add(name="next") == "*1C"


def test_duplicate_hotspot_user_trap(api: Api) -> None:
    api.path("ip", "hotspot", "user").add(name="amina")
    error = _trap(lambda: api.path("ip", "hotspot", "user").add(name="amina"))
    assert (error.message, error.category) == (
        "failure: already have user with this name for this server",
        None,
    )


def test_duplicate_ppp_secret_trap(api: Api) -> None:
    api.path("ppp", "secret").add(name="kamau", password="x")
    error = _trap(lambda: api.path("ppp", "secret").add(name="kamau", password="y"))
    assert error.message == "failure: secret with the same name already exists"


@pytest.mark.parametrize("menu", [("ip", "hotspot", "user"), ("ppp", "secret")])
def test_unknown_profile_trap(api: Api, menu: tuple[str, ...]) -> None:
    error = _trap(lambda: api.path(*menu).add(name="ghost", profile="GOLD"))
    assert error.message == "input does not match any value of profile"


def test_set_to_unknown_profile_traps_and_leaves_row_unchanged(api: Api, router: SimRouter) -> None:
    users = api.path("ip", "hotspot", "user")
    user_id = users.add(name="amina")
    error = _trap(lambda: users.update(**{".id": user_id, "profile": "GOLD"}))
    assert error.message == "input does not match any value of profile"
    assert router.rows("/ip/hotspot/user")[0]["profile"] == "default"


def test_no_such_item_on_set_and_remove(api: Api) -> None:
    users = api.path("ip", "hotspot", "user")
    assert _trap(lambda: users.update(**{".id": "*99", "comment": "x"})).message == "no such item"
    assert _trap(lambda: users.remove("*99")).message == "no such item"


def test_unknown_parameter(api: Api) -> None:
    error = _trap(lambda: api.path("ip", "hotspot", "user").add(name="a", colour="blue"))
    assert error.message == "unknown parameter"


def test_read_only_property_cannot_be_written(api: Api) -> None:
    error = _trap(lambda: api.path("ip", "hotspot", "user").add(name="a", uptime="1h"))
    assert error.message == "unknown parameter"


def test_provisioning_flow_find_add_set_disable(api: Api, router: SimRouter) -> None:
    profiles = api.path("ip", "hotspot", "user", "profile")
    profiles.add(name="HOTSPOT_10M_PERSONAL", **{"rate-limit": "5M/10M", "shared-users": 1})
    users = api.path("ip", "hotspot", "user")
    found = _rows(api, "/ip/hotspot/user/print", "=.proplist=.id,name,profile", "?=name=wanjiku")
    assert found == []
    new_id = users.add(
        name="wanjiku",
        password="123456",
        profile="HOTSPOT_10M_PERSONAL",
        **{"limit-bytes-total": 1073741824, "comment": "wisp:7", "disabled": False},
    )
    found = _rows(api, "/ip/hotspot/user/print", "=.proplist=.id,name,profile", "?=name=wanjiku")
    assert found == [{".id": new_id, "name": "wanjiku", "profile": "HOTSPOT_10M_PERSONAL"}]
    users.update(**{".id": new_id, "password": "654321", "disabled": True})
    row = router.rows("/ip/hotspot/user")[0]
    assert (row["password"], row["disabled"], row["limit-bytes-total"]) == (
        "654321",
        "true",
        "1073741824",
    )


def test_enable_disable_and_numbers(api: Api, router: SimRouter) -> None:
    users = api.path("ip", "hotspot", "user")
    a, b = users.add(name="a"), users.add(name="b")
    list(api("/ip/hotspot/user/disable", numbers=f"{a},{b}"))
    assert [r["disabled"] for r in router.rows("/ip/hotspot/user")] == ["true", "true"]
    list(api("/ip/hotspot/user/enable", **{".id": a}))
    assert [r["disabled"] for r in router.rows("/ip/hotspot/user")] == ["false", "true"]


def test_remove_list_of_ids(api: Api, router: SimRouter) -> None:
    users = api.path("ip", "hotspot", "user")
    ids = [users.add(name=n) for n in ("a", "b", "c")]
    users.remove(ids[0], ids[2])
    assert [r["name"] for r in router.rows("/ip/hotspot/user")] == ["b"]


def test_unset_and_bang_property_clear_a_value(api: Api, router: SimRouter) -> None:
    users = api.path("ip", "hotspot", "user")
    user_id = users.add(name="a", comment="hello", **{"limit-uptime": "30d"})
    assert router.rows("/ip/hotspot/user")[0]["limit-uptime"] == "4w2d"
    list(api("/ip/hotspot/user/unset", **{".id": user_id, "value-name": "comment"}))
    list(api.rawCmd("/ip/hotspot/user/set", f"=.id={user_id}", "=!limit-uptime="))
    row = router.rows("/ip/hotspot/user")[0]
    assert "comment" not in row and "limit-uptime" not in row


def test_booleans_accept_yes_no_and_print_true_false(raw: RawClient) -> None:
    raw.send("/ppp/secret/add", "=name=s1", "=disabled=yes")
    raw.until_done()
    raw.send("/ppp/secret/print", "=.proplist=disabled")
    assert raw.until_done() == [["!re", "=disabled=true"], ["!done"]]


def test_hotspot_profile_defaults_and_default_profile_is_protected(
    api: Api, router: SimRouter
) -> None:
    profiles = api.path("ip", "hotspot", "user", "profile")
    new_id = profiles.add(name="P1", **{"rate-limit": "2M/5M", "shared-users": 3})
    row = router.rows("/ip/hotspot/user/profile")[1]
    assert row == {
        ".id": new_id,
        "name": "P1",
        "address-pool": "none",
        "idle-timeout": "none",
        "keepalive-timeout": "2m",
        "status-autorefresh": "1m",
        "shared-users": "3",
        "transparent-proxy": "false",
        "add-mac-cookie": "true",
        "mac-cookie-timeout": "3d",
        "rate-limit": "2M/5M",
        "open-status-page": "always",
        "default": "false",
    }
    assert _trap(lambda: profiles.remove("*0")).message == "failure: can not remove default profile"
    profiles.update(**{".id": new_id, "rate-limit": "5M/10M"})
    profiles.remove(new_id)
    assert [r["name"] for r in router.rows("/ip/hotspot/user/profile")] == ["default"]


def test_ppp_profiles_builtin_and_crud(api: Api, router: SimRouter) -> None:
    rows = router.rows("/ppp/profile")
    assert [(r[".id"], r["name"], r["default"]) for r in rows] == [
        ("*0", "default", "true"),
        ("*FFFFFFFE", "default-encryption", "true"),
    ]
    profiles = api.path("ppp", "profile")
    assert profiles.add(name="PPPOE_10M", **{"rate-limit": "5M/10M"}) == "*1"
    profiles.update(**{".id": "*1", "rate-limit": "10M/20M"})
    assert router.rows("/ppp/profile")[2]["rate-limit"] == "10M/20M"
    assert (
        _trap(lambda: profiles.remove("*FFFFFFFE")).message
        == "failure: can not remove default profile"
    )
    profiles.remove("*1")
    assert len(router.rows("/ppp/profile")) == 2


def test_ppp_secret_crud_and_print_shape(api: Api, router: SimRouter) -> None:
    secrets = api.path("ppp", "secret")
    new_id = secrets.add(
        name="otieno",
        password="pw",
        profile="default-encryption",
        service="pppoe",
        comment="wisp:1",
        disabled=False,
        **{"remote-address": "10.10.10.5"},
    )
    assert router.rows("/ppp/secret") == [
        {
            ".id": new_id,
            "name": "otieno",
            "password": "pw",
            "service": "pppoe",
            "caller-id": "",
            "profile": "default-encryption",
            "remote-address": "10.10.10.5",
            "routes": "",
            "ipv6-routes": "",
            "limit-bytes-in": "0",
            "limit-bytes-out": "0",
            "disabled": "false",
            "comment": "wisp:1",
        }
    ]
    error = _trap(lambda: secrets.update(**{".id": new_id, "remote-address": "not-an-ip"}))
    assert error.message == "invalid value for argument remote-address"
    secrets.remove(new_id)
    assert router.rows("/ppp/secret") == []


def test_interface_print_and_set(api: Api, router: SimRouter) -> None:
    rows = list(api.path("interface"))
    assert [r["name"] for r in rows] == ["ether1", "ether2", "ether3", "ether4"]
    assert (rows[0]["type"], rows[0]["mtu"], rows[0]["running"], rows[0]["disabled"]) == (
        "ether",
        1500,
        True,
        False,
    )
    api.path("interface").update(**{".id": "*2", "name": "wan", "mtu": 1480})
    assert router.rows("/interface")[1]["name"] == "wan"
    assert (
        _trap(lambda: api.path("interface").update(**{".id": "*3", "name": "wan"})).message
        == "failure: already have interface with such name"
    )
    assert _trap(lambda: api.path("interface").add(name="x")).message == "no such command"


def test_ip_address_crud_and_interface_reference(api: Api, router: SimRouter) -> None:
    addresses = api.path("ip", "address")
    new_id = addresses.add(address="10.5.50.1/24", interface="ether2", comment="hotspot")
    row = router.rows("/ip/address")[1]
    assert row == {
        ".id": new_id,
        "address": "10.5.50.1/24",
        "network": "10.5.50.0",
        "interface": "ether2",
        "actual-interface": "ether2",
        "invalid": "false",
        "dynamic": "false",
        "disabled": "false",
        "comment": "hotspot",
    }
    addresses.update(**{".id": new_id, "address": "172.16.0.1/16"})
    assert router.rows("/ip/address")[1]["network"] == "172.16.0.0"
    error = _trap(lambda: addresses.add(address="10.0.0.1/24", interface="asdf"))
    assert (error.message, error.category) == ("input does not match any value of interface", 1)
    addresses.remove(new_id)
    assert len(router.rows("/ip/address")) == 1


def test_identity_set_and_resource_print(api: Api) -> None:
    list(api("/system/identity/set", name="tower-7"))
    assert list(api.path("system", "identity")) == [{"name": "tower-7"}]
    (resource,) = api.path("system", "resource")
    assert resource["version"] == "7.18.2 (stable)" and resource["board-name"] == "CHR"
    assert ".id" not in resource


def test_active_menus_only_print_and_remove(api: Api) -> None:
    error = _trap(lambda: api.path("ip", "hotspot", "active").add(user="x"))
    assert error.message == "no such command"


def test_getall_is_print(raw: RawClient) -> None:
    raw.send("/system/identity/getall")
    assert raw.until_done() == [["!re", "=name=MikroTik"], ["!done"]]


def test_stats_count_commands_by_path(api: Api, router: SimRouter) -> None:
    users = api.path("ip", "hotspot", "user")
    users.add(name="a")
    users.add(name="b")
    assert router.stats["/ip/hotspot/user/add"] == 2
    assert router.stats["/login"] == 1
