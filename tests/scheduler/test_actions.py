"""Converging router actions against the simulator: repeatable, tagged, read back, never blind."""

from __future__ import annotations

import pytest

from scheduler.routeros import actions
from scheduler.routeros.actions import AccountSpec, ProfileSpec
from scheduler.routeros.client import RouterClient, RouterError
from scheduler.sim import SimRouter

USERS = "/ip/hotspot/user"
PROFILES = "/ip/hotspot/user/profile"
SECRETS = "/ppp/secret"
HOME = ProfileSpec("hotspot", "HOTSPOT_10M_PERSONAL", "10M/10M", 2)
FIBRE = ProfileSpec("pppoe", "PPPOE_20M_PERSONAL", "10M/20M")


def hotspot_account(**changes: object) -> AccountSpec:
    values: dict[str, object] = {
        "service": "hotspot",
        "username": "jdoe",
        "profile": HOME.name,
        "tag": actions.owner_tag(7),
        "password": "pa55word",
        "limit_bytes_total": None,
    }
    values.update(changes)
    return AccountSpec(**values)  # type: ignore[arg-type]


def by_name(sim: SimRouter, path: str, name: str) -> list[dict[str, str]]:
    return [row for row in sim.rows(path) if row.get("name") == name]


def test_ensure_profile_adds_then_leaves_a_matching_profile_alone(
    client: RouterClient, sim: SimRouter
) -> None:
    assert actions.ensure_profile(client, HOME, ours=True) == "added"
    assert actions.ensure_profile(client, HOME, ours=True) == "unchanged"
    profile = by_name(sim, PROFILES, HOME.name)[0]
    assert (profile["rate-limit"], profile["shared-users"]) == ("10M/10M", "2")


def test_ensure_profile_corrects_a_profile_changed_on_the_router(
    client: RouterClient, sim: SimRouter
) -> None:
    actions.ensure_profile(client, HOME, ours=True)
    profile_id = client.print(PROFILES, where={"name": HOME.name}, proplist=[".id"])[0][".id"]
    client.set(PROFILES, profile_id, {"rate-limit": "1M/1M"})
    assert actions.ensure_profile(client, HOME, ours=True) == "updated"
    assert by_name(sim, PROFILES, HOME.name)[0]["rate-limit"] == "10M/10M"


def test_ensure_profile_asks_whose_the_profile_is_only_when_it_needs_changing(
    client: RouterClient, sim: SimRouter
) -> None:
    asked: list[str] = []

    def ours() -> bool:
        asked.append(HOME.name)
        return True

    actions.ensure_profile(client, HOME, ours=True)
    assert actions.ensure_profile(client, HOME, ours=ours) == "unchanged"
    assert asked == []  # as it should be: whose it is does not matter
    profile_id = client.print(PROFILES, where={"name": HOME.name}, proplist=[".id"])[0][".id"]
    client.set(PROFILES, profile_id, {"rate-limit": "1M/1M"})
    assert actions.ensure_profile(client, HOME, ours=ours) == "updated"
    assert asked == [HOME.name]
    client.set(PROFILES, profile_id, {"rate-limit": "1M/1M"})
    with pytest.raises(actions.NotOurs):
        actions.ensure_profile(client, HOME, ours=lambda: False)
    assert by_name(sim, PROFILES, HOME.name)[0]["rate-limit"] == "1M/1M"


def test_activate_adds_an_enabled_tagged_user_with_profile_and_data_limit(
    client: RouterClient, sim: SimRouter
) -> None:
    actions.ensure_profile(client, HOME, ours=True)
    back = actions.activate(client, hotspot_account(limit_bytes_total=5_000_000_000))
    user = by_name(sim, USERS, "jdoe")[0]
    assert user["profile"] == HOME.name and user["password"] == "pa55word"
    assert user["comment"] == "wisp-console:7" and actions.is_owned(user["comment"])
    assert user["limit-bytes-total"] == "5000000000" and user["disabled"] == "false"
    assert back["profile"] == HOME.name


def test_activate_twice_leaves_one_user_and_finds_it_by_query_not_full_print(
    client: RouterClient, sim: SimRouter
) -> None:
    actions.ensure_profile(client, HOME, ours=True)
    actions.activate(client, hotspot_account())
    actions.activate(client, hotspot_account())
    assert len(by_name(sim, USERS, "jdoe")) == 1
    assert sim.stats["/ip/hotspot/user/add"] == 1 and sim.stats["/ip/hotspot/user/set"] == 1


def test_activate_takes_over_an_untagged_user_only_when_adopting_and_keeps_its_comment_text(
    client: RouterClient, sim: SimRouter
) -> None:
    client.add(
        USERS, {"name": "jdoe", "password": "old", "comment": "made by hand", "disabled": "yes"}
    )
    actions.ensure_profile(client, HOME, ours=True)
    before = by_name(sim, USERS, "jdoe")
    with pytest.raises(actions.NotOurs) as refused:
        actions.activate(client, hotspot_account())
    assert str(refused.value) == (
        "router r1 already has hotspot user jdoe, not created by WISP Console; "
        "`wisp import r1` adopts it, or pass --adopt"
    )
    assert by_name(sim, USERS, "jdoe") == before
    taken: list[dict[str, str]] = []
    actions.activate(client, hotspot_account(adopt=True), adopted=taken.append)
    [user] = by_name(sim, USERS, "jdoe")
    assert (user["password"], user["profile"], user["disabled"]) == ("pa55word", HOME.name, "false")
    assert user["comment"] == "made by hand wisp-console:7"
    assert [row["comment"] for row in taken] == ["made by hand"]


def test_activate_renews_a_disabled_account_by_enabling_it(
    client: RouterClient, sim: SimRouter
) -> None:
    actions.ensure_profile(client, HOME, ours=True)
    actions.activate(client, hotspot_account())
    actions.deactivate(client, "hotspot", "jdoe")
    assert by_name(sim, USERS, "jdoe")[0]["disabled"] == "true"
    actions.activate(client, hotspot_account())
    assert by_name(sim, USERS, "jdoe")[0]["disabled"] == "false"


def test_activate_without_the_profile_reports_the_router_trap(client: RouterClient) -> None:
    with pytest.raises(RouterError) as caught:
        actions.activate(client, hotspot_account(profile="NOT_THERE"))
    assert caught.value.kind == "trap"
    assert str(caught.value) == "input does not match any value of profile"


def test_a_failed_lookup_is_an_error_never_not_found(client: RouterClient, sim: SimRouter) -> None:
    actions.ensure_profile(client, HOME, ours=True)
    sim.faults.trap("/ip/hotspot/user/print", "interrupted", category=2, times=1)
    with pytest.raises(RouterError):
        actions.activate(client, hotspot_account())
    assert sim.stats["/ip/hotspot/user/add"] == 0


def test_read_back_refuses_a_write_the_router_did_not_keep(
    client: RouterClient, sim: SimRouter
) -> None:
    actions.ensure_profile(client, HOME, ours=True)
    actions.activate(client, hotspot_account())
    user_id = client.print(USERS, where={"name": "jdoe"}, proplist=[".id"])[0][".id"]
    client.set(USERS, user_id, {"profile": "default"})
    with pytest.raises(RouterError) as caught:
        actions.read_back(client, hotspot_account())
    assert "did not keep account jdoe" in str(caught.value) and "profile is 'default'" in str(
        caught.value
    )


def test_pppoe_activation_writes_a_pppoe_secret_with_its_profile(
    client: RouterClient, sim: SimRouter
) -> None:
    assert actions.ensure_profile(client, FIBRE, ours=True) == "added"
    spec = AccountSpec("pppoe", "jdoe", FIBRE.name, actions.owner_tag(9), password="pppp1234")
    actions.activate(client, spec)
    actions.activate(client, spec)
    [secret] = by_name(sim, SECRETS, "jdoe")
    assert (secret["service"], secret["profile"], secret["password"]) == (
        "pppoe",
        FIBRE.name,
        "pppp1234",
    )
    assert by_name(sim, "/ppp/profile", FIBRE.name)[0]["rate-limit"] == "10M/20M"
    assert sim.stats["/ppp/secret/add"] == 1


def test_deactivate_disables_kicks_the_session_and_removes_the_cookie(
    client: RouterClient, sim: SimRouter
) -> None:
    actions.ensure_profile(client, HOME, ours=True)
    actions.activate(client, hotspot_account())
    sim.sessions.login_hotspot("jdoe", mac_address="02:00:00:00:00:01")
    assert len(sim.rows("/ip/hotspot/active")) == 1 and len(sim.rows("/ip/hotspot/cookie")) == 1
    actions.deactivate(client, "hotspot", "jdoe")
    actions.deactivate(client, "hotspot", "jdoe")
    assert by_name(sim, USERS, "jdoe")[0]["disabled"] == "true"
    assert sim.rows("/ip/hotspot/active") == [] and sim.rows("/ip/hotspot/cookie") == []


def test_deactivate_of_pppoe_ends_its_active_session(client: RouterClient, sim: SimRouter) -> None:
    actions.ensure_profile(client, FIBRE, ours=True)
    actions.activate(
        client, AccountSpec("pppoe", "jdoe", FIBRE.name, actions.owner_tag(1), password="x1234567")
    )
    sim.sessions.login_ppp("jdoe")
    actions.deactivate(client, "pppoe", "jdoe")
    assert sim.rows("/ppp/active") == [] and by_name(sim, SECRETS, "jdoe")[0]["disabled"] == "true"


def test_deactivate_of_an_account_the_router_never_had_is_done(client: RouterClient) -> None:
    actions.deactivate(client, "hotspot", "ghost")


def test_remove_deletes_the_account_after_kicking_it_and_is_repeatable(
    client: RouterClient, sim: SimRouter
) -> None:
    actions.ensure_profile(client, HOME, ours=True)
    actions.activate(client, hotspot_account())
    sim.sessions.login_hotspot("jdoe")
    looked_up = sim.stats["/ip/hotspot/user/print"]
    actions.remove(client, "hotspot", "jdoe")
    assert sim.stats["/ip/hotspot/user/print"] - looked_up == 1  # the account is looked up once
    actions.remove(client, "hotspot", "jdoe")
    assert by_name(sim, USERS, "jdoe") == [] and sim.rows("/ip/hotspot/active") == []
    assert sim.rows("/ip/hotspot/cookie") == []


def test_session_vanishing_between_lookup_and_kick_is_confirmed_not_assumed(
    client: RouterClient, sim: SimRouter
) -> None:
    actions.ensure_profile(client, HOME, ours=True)
    actions.activate(client, hotspot_account())
    sim.sessions.login_hotspot("jdoe")
    sim.faults.trap("/ip/hotspot/active/remove", "no such item", times=1)
    with pytest.raises(RouterError) as caught:
        actions.kick(client, "hotspot", "jdoe")
    assert str(caught.value) == "no such item"
