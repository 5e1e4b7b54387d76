"""Tagged, pipelined commands on one session against the simulator over real TCP: replies routed
by tag when they come back out of order, a window in flight, traps per command, one error for a
failed session, and the router actions giving the same result pipelined as one at a time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.config import RouterSettings
from db.models import RouterProvisioning
from scheduler.engine.events import DrainReport
from scheduler.engine.service import ProvisioningService
from scheduler.routeros import actions
from scheduler.routeros.actions import AccountSpec, NotOurs
from scheduler.routeros.client import RouterClient, RouterError
from scheduler.routeros.errors import Kind
from scheduler.routeros.pipeline import Pipeline
from scheduler.routeros.steps import Command, add_command, print_command
from scheduler.sim import SimRouter
from tests import factories
from tests.scheduler.bulk import queue_accounts
from tests.scheduler.conftest import SIM_PASSWORD, endpoint, engine_settings

HOTSPOT = "/ip/hotspot/user"


def add(name: str, **values: str) -> Command:
    return add_command(HOTSPOT, {"name": name, **values})


def names(sim: SimRouter) -> list[str]:
    return sorted(row["name"] for row in sim.rows(HOTSPOT))


def test_replies_that_come_back_out_of_order_reach_their_own_commands(
    client: RouterClient, sim: SimRouter
) -> None:
    client.add(HOTSPOT, {"name": "before"})
    sim.faults.slow(f"{HOTSPOT}/print", 0.3)  # the print is answered after the adds behind it
    answers = Pipeline(client).run(
        [print_command(HOTSPOT, proplist=("name",)), add("a1"), add("a2")]
    )
    listed, first, second = answers
    # The print ran last (after the adds sent behind it), and its rows reached it.
    assert not isinstance(listed, RouterError)
    assert listed[0] == [{"name": "before"}, {"name": "a1"}, {"name": "a2"}]
    assert not isinstance(first, RouterError) and first[1]["ret"].startswith("*")
    assert not isinstance(second, RouterError) and second[1]["ret"] != first[1]["ret"]
    assert names(sim) == ["a1", "a2", "before"]
    # The session is left fit for plain commands.
    assert client.print(HOTSPOT, where={"name": "a2"}, proplist=[".id"]) == [
        {".id": second[1]["ret"]}
    ]


def test_a_window_of_commands_is_in_flight_at_once_and_no_more(
    client: RouterClient, sim: SimRouter
) -> None:
    sim.faults.latency = 0.05
    answers = Pipeline(client, window=8).run([add(f"u{i:03}") for i in range(40)])
    assert not [a for a in answers if isinstance(a, RouterError)]
    assert names(sim) == [f"u{i:03}" for i in range(40)]
    assert sim.peak_in_flight == 8
    assert sim.peak_connections == 1


def test_a_window_of_one_sends_one_command_at_a_time(client: RouterClient, sim: SimRouter) -> None:
    Pipeline(client, window=1).run([add(f"u{i}") for i in range(5)])
    assert sim.peak_in_flight == 1 and len(sim.rows(HOTSPOT)) == 5


def test_a_trap_answers_its_own_command_verbatim_and_the_others_go_on(
    client: RouterClient, sim: SimRouter
) -> None:
    client.add(HOTSPOT, {"name": "taken"})
    answers = Pipeline(client).run([add("n1"), add("taken"), add("n2")])
    trapped = answers[1]
    assert isinstance(trapped, RouterError) and trapped.kind == Kind.TRAP
    assert "failure: already have user with this name" in str(trapped)
    assert not isinstance(answers[0], RouterError) and not isinstance(answers[2], RouterError)
    assert names(sim) == ["n1", "n2", "taken"]


def test_a_session_cut_mid_pipeline_fails_every_unanswered_command_with_one_error(
    client: RouterClient, sim: SimRouter
) -> None:
    client.identity()  # logged in before the fault is armed
    sim.faults.drop_after_sentences = 3  # three replies, then the connection is cut (a reset)
    answers = Pipeline(client, window=4).run([add(f"c{i}") for i in range(10)])
    # A reset may take replies the client had not read yet with it: at most three come through.
    answered = [a for a in answers if not isinstance(a, RouterError)]
    failed = [a for a in answers if isinstance(a, RouterError)]
    assert len(answered) <= 3 and len(failed) == 10 - len(answered)
    assert len({id(error) for error in failed}) == 1
    assert failed[0].kind != Kind.TRAP and "closed the connection" in str(failed[0])
    # What the router received it carried out; nothing past the window was sent.
    assert len(answered) <= len(names(sim)) <= 4
    sim.faults.drop_after_sentences = None
    # The next use opens a fresh session.
    assert client.print(HOTSPOT, where={"name": "c0"}, proplist=["name"]) == [{"name": "c0"}]


def test_a_router_that_stops_answering_fails_the_pipeline_within_the_command_timeout(
    sim: SimRouter,
) -> None:
    settings = RouterSettings(connect_timeout=10.0, command_timeout=0.5)
    with RouterClient(endpoint(sim), settings) as client:
        client.identity()
        sim.faults.hang_after_login = True
        answers = Pipeline(client).run([add(f"h{i}") for i in range(6)])
    assert all(isinstance(a, RouterError) and a.kind == Kind.TIMEOUT for a in answers)
    assert "did not answer" in str(answers[0])


def test_a_name_the_routers_charset_cannot_hold_fails_that_command_alone(
    sim: SimRouter,
) -> None:
    settings = RouterSettings(connect_timeout=10.0, command_timeout=10.0, encoding="latin-1")
    with RouterClient(endpoint(sim), settings) as client:
        answers = Pipeline(client).run([add("plain"), add("wanjikũ"), add("last")])
    assert isinstance(answers[1], RouterError)
    assert not isinstance(answers[0], RouterError) and not isinstance(answers[2], RouterError)
    assert names(sim) == ["last", "plain"]


@pytest.fixture
def far(sim: SimRouter) -> Iterator[SimRouter]:
    sim.faults.latency = 0.02
    yield sim


def spec(name: str, profile: str = "default", **changes: object) -> AccountSpec:
    values: dict[str, object] = {
        "service": "hotspot",
        "username": name,
        "password": "pw",
        "profile": profile,
        "tag": f"{actions.OWNER_PREFIX}:7",
    }
    values.update(changes)
    return AccountSpec(**values)  # type: ignore[arg-type]


def test_activations_pipelined_leave_the_router_as_one_at_a_time_would(
    client: RouterClient, far: SimRouter
) -> None:
    # Some accounts exist (ours, disabled): they are set; the others are added.
    for i in range(0, 30, 3):
        actions.activate(client, spec(f"p{i:02}"))
        actions.deactivate(client, "hotspot", f"p{i:02}")
    before = {row["name"]: row for row in far.rows(HOTSPOT)}
    adds, sets = far.stats[f"{HOTSPOT}/add"], far.stats[f"{HOTSPOT}/set"]
    specs = [spec(f"p{i:02}") for i in range(30)]
    results = Pipeline(client).drive([actions.activate_steps(client.name, s) for s in specs])
    assert not [r for r in results if isinstance(r, Exception)]
    rows = {row["name"]: row for row in far.rows(HOTSPOT)}
    assert sorted(rows) == [s.username for s in specs]
    assert all(row["disabled"] == "false" for row in rows.values())
    # An account that existed kept its .id (set, not added again).
    assert all(rows[name][".id"] == row[".id"] for name, row in before.items())
    assert far.stats[f"{HOTSPOT}/add"] - adds == 30 - len(before)
    assert far.stats[f"{HOTSPOT}/set"] - sets == len(before)
    assert far.peak_in_flight > 1


def test_an_account_not_ours_is_refused_in_a_pipeline_and_left_as_it_is(
    client: RouterClient, sim: SimRouter
) -> None:
    client.add(HOTSPOT, {"name": "theirs", "comment": "shop owner", "disabled": "yes"})
    results = Pipeline(client).drive(
        [actions.activate_steps(client.name, spec(n)) for n in ("mine", "theirs")]
    )
    assert results[0]["name"] == "mine"
    assert isinstance(results[1], NotOurs)
    theirs = next(row for row in sim.rows(HOTSPOT) if row["name"] == "theirs")
    assert theirs["comment"] == "shop owner" and theirs["disabled"] == "true"


def drain_far_router(
    engine: Engine, sim: SimRouter, *, count: int, **routers: object
) -> DrainReport:
    """Queue `count` activations on a router 20 ms away and drain them once."""
    factories.setup(engine, router_port=sim.port, password=SIM_PASSWORD)
    queue_accounts(engine, router="r1", package="Home 10M", count=count)
    settings = engine_settings(str(engine.url), batch_size=200)
    for key, value in routers.items():
        setattr(settings.routers, key, value)
    sim.faults.latency = 0.02
    service = ProvisioningService(settings, engine, worker="test")
    try:
        return service.drain_once()
    finally:
        service.shutdown()


def test_the_drain_pipelines_a_batch_over_no_more_sessions_than_configured(
    sqlite_engine: Engine, sim: SimRouter
) -> None:
    report = drain_far_router(sqlite_engine, sim, count=120, sessions=2, commands_in_flight=16)
    assert report.completed == 120 and report.failed == 0
    assert len(sim.rows(HOTSPOT)) == 120
    assert sim.peak_connections <= 2
    assert 1 < sim.peak_in_flight <= 16
    assert sim.stats[f"{HOTSPOT}/add"] == 120


def test_one_command_in_flight_drains_one_command_at_a_time(
    sqlite_engine: Engine, sim: SimRouter
) -> None:
    report = drain_far_router(sqlite_engine, sim, count=12, sessions=1, commands_in_flight=1)
    assert report.completed == 12
    assert sim.peak_connections == 1 and sim.peak_in_flight == 0  # no tagged command at all


def test_a_job_the_router_refuses_fails_alone_with_the_routers_words(
    sqlite_engine: Engine, sim: SimRouter
) -> None:
    sim.faults.trap(f"{HOTSPOT}/add", "failure: not enough disk space", times=1)
    report = drain_far_router(sqlite_engine, sim, count=40, sessions=1)
    assert report.completed == 39 and report.retried == 1
    with Session(sqlite_engine) as session:
        [refused] = session.scalars(
            select(RouterProvisioning).where(RouterProvisioning.status != "completed")
        ).all()
    assert "failure: not enough disk space" in (refused.last_error or "")
    assert refused.attempts == 1


def test_a_profile_removed_from_the_router_mid_batch_is_made_again_and_the_jobs_finish(
    sqlite_engine: Engine, sim: SimRouter
) -> None:
    # The first add of the batch finds the profile gone (someone removed it in Winbox after
    # the batch ensured it): that job ensures it again and goes on.
    sim.faults.trap(f"{HOTSPOT}/add", "input does not match any value of profile", times=1)
    report = drain_far_router(sqlite_engine, sim, count=30, sessions=1)
    assert report.completed == 30 and report.failed == 0
    assert len(sim.rows(HOTSPOT)) == 30
