"""print queries (both clients' styles), .proplist and count-only."""

from __future__ import annotations

import librouteros
import pytest
from librouteros.query import And, Key, Or

from scheduler.sim import SimRouter
from tests.sim.conftest import RawClient

Api = librouteros.api.Api
NAMES = ["amina", "baraka", "chebet", "juma"]


@pytest.fixture
def users(api: Api) -> Api:
    path = api.path("ip", "hotspot", "user")
    path.add(name="amina", comment="paid", **{"limit-bytes-total": 100})
    path.add(name="baraka", disabled=True, **{"limit-bytes-total": 5000})
    path.add(name="chebet", comment="")
    path.add(name="juma", disabled=True, comment="late")
    return api


def _names(rows) -> list[str]:
    return [row["name"] for row in rows if "name" in row]


def _raw_names(raw: RawClient, *queries: str) -> list[str]:
    raw.send("/ip/hotspot/user/print", "=.proplist=name", *queries)
    return [s[1][len("=name=") :] for s in raw.until_done() if s[0] == "!re"]


def test_librouteros_where_equality_and_proplist(users: Api) -> None:
    name, disabled = Key("name"), Key("disabled")
    rows = list(users.path("ip", "hotspot", "user").select(name, disabled).where(disabled == True))  # noqa: E712
    assert rows == [{"name": "baraka", "disabled": True}, {"name": "juma", "disabled": True}]


def test_librouteros_in_or_and_not_equal(users: Api) -> None:
    name, disabled = Key("name"), Key("disabled")
    path = users.path("ip", "hotspot", "user")
    assert _names(path.select(name).where(name.In("amina", "juma", "nobody"))) == ["amina", "juma"]
    either = Or(name == "chebet", disabled == True)  # noqa: E712
    assert _names(path.select(name).where(either)) == ["baraka", "chebet", "juma"]
    assert _names(path.select(name).where(And(disabled == True, name != "juma"))) == ["baraka"]  # noqa: E712


def test_librouteros_less_and_greater_compare_numbers(users: Api) -> None:
    limit, name = Key("limit-bytes-total"), Key("name")
    path = users.path("ip", "hotspot", "user")
    assert _names(path.select(name).where(limit > 200)) == ["baraka"]
    assert _names(path.select(name).where(limit < 200)) == ["amina"]


def test_has_and_has_not_property(users: Api, raw: RawClient) -> None:
    assert _raw_names(raw, "?comment") == ["amina", "juma"]
    assert _raw_names(raw, "?-comment") == ["baraka", "chebet"]


def test_greater_than_empty_means_not_empty(users: Api, raw: RawClient) -> None:
    assert _raw_names(raw, "?>comment=") == ["amina", "juma"]


def test_both_equality_forms(users: Api, raw: RawClient) -> None:
    assert _raw_names(raw, "?name=juma") == ["juma"]
    assert _raw_names(raw, "?=name=juma") == ["juma"]
    assert _raw_names(raw, "?=disabled=no") == ["amina", "chebet"]


def test_stack_operations(users: Api, raw: RawClient) -> None:
    # Two equalities OR-ed, then negated: everyone except amina and juma.
    assert _raw_names(raw, "?name=amina", "?name=juma", "?#|!") == ["baraka", "chebet"]
    # Index copy: push a copy of item 1 (disabled=true), AND with top (name=baraka).
    assert _raw_names(raw, "?disabled=true", "?name=baraka", "?#1&") == ["baraka"]
    # Digits at the end replace the whole stack with that value.
    assert _raw_names(raw, "?disabled=true", "?name=nobody", "?#1") == ["baraka", "juma"]
    # A dot after an operator pushes a copy of the top.
    assert _raw_names(raw, "?name=chebet", "?#!.&") == NAMES[:2] + NAMES[3:]


def test_plain_words_and_together(users: Api, raw: RawClient) -> None:
    assert _raw_names(raw, "?disabled=true", "?comment=late") == ["juma"]


def test_proplist_row_without_properties_is_a_bare_re(users: Api, raw: RawClient) -> None:
    raw.send("/ip/hotspot/user/print", "=.proplist=email")
    assert raw.until_done() == [["!re"]] * 4 + [["!done"]]


def test_proplist_keeps_requested_properties_only(users: Api) -> None:
    rows = list(users.rawCmd("/ip/hotspot/user/print", "=.proplist=.id,name", "?=name=amina"))
    assert rows == [{".id": "*1", "name": "amina"}]


def test_count_only_returns_ret_and_no_rows(users: Api, raw: RawClient) -> None:
    raw.send("/ip/hotspot/user/print", "=count-only=", "?disabled=true")
    assert raw.until_done() == [["!done", "=ret=2"]]
    assert list(users.rawCmd("/ip/hotspot/user/print", "=count-only=")) == [{"ret": 4}]


def test_count_only_zero_has_no_empty_unless_switched(router: SimRouter, raw: RawClient) -> None:
    raw.send("/ip/hotspot/user/print", "=count-only=")
    assert raw.until_done() == [["!done", "=ret=0"]]
    router.behaviour.empty_on_zero_count = True
    raw.send("/ip/hotspot/user/print", "=count-only=")
    assert raw.until_done() == [["!empty"], ["!done", "=ret=0"]]


def test_routeros_api_get_with_its_query_style(router: SimRouter, ra) -> None:
    users = ra.get_resource("/ip/hotspot/user")
    users.add(name="zawadi", password="pw", comment="x")
    users.add(name="halima", password="pw")
    rows = users.get(name="zawadi")
    assert [(r["name"], r["password"], r["comment"]) for r in rows] == [("zawadi", "pw", "x")]
    assert users.get(name="nobody") == []


def test_routeros_api_proplist_and_count_only(router: SimRouter, ra) -> None:
    users = ra.get_resource("/ip/hotspot/user")
    users.add(name="zawadi")
    assert users.call("print", {"proplist": "name"}) == [{"name": "zawadi"}]
    response = ra.get_binary_resource("/ip/hotspot/user").call("print", {"count-only": b""})
    assert response.done_message == {"ret": b"1"}
