"""Several workers ensuring one new profile on a router at once: the losers of the race see
"already exists" for a profile that is theirs, which is no error."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.models import RouterProvisioning
from scheduler.engine.service import ProvisioningService
from scheduler.routeros import actions
from scheduler.routeros.actions import NotOurs, ProfileSpec
from scheduler.routeros.client import RouterClient
from scheduler.sim import SimRouter
from tests import factories
from tests.scheduler.bulk import queue_accounts
from tests.scheduler.conftest import SIM_PASSWORD, endpoint, engine_settings
from tests.waiting import wait_for

PROFILES = "/ip/hotspot/user/profile"
SPEC = ProfileSpec(service="hotspot", name="HOTSPOT_10M_PERSONAL", rate_limit="10M/10M")


def test_four_workers_starting_on_a_router_without_the_profile_spend_no_attempt(
    sqlite_engine: Engine, sim: SimRouter
) -> None:
    factories.setup(sqlite_engine, router_port=sim.port, password=SIM_PASSWORD)
    queue_accounts(sqlite_engine, router="r1", package="Home 10M", count=8)
    sim.faults.latency = 0.1  # each worker looks for the profile before any has added it
    services = [
        ProvisioningService(
            engine_settings(str(sqlite_engine.url), batch_size=2), sqlite_engine, worker=f"w{n}"
        )
        for n in range(4)
    ]
    drains = [threading.Thread(target=service.drain_once) for service in services]
    try:
        for drain in drains:
            drain.start()
        for drain in drains:
            drain.join(timeout=120)
    finally:
        for service in services:
            service.shutdown()
    with Session(sqlite_engine) as session:
        rows = session.scalars(select(RouterProvisioning)).all()
    assert {(r.status, r.attempts, r.last_error) for r in rows} == {("completed", 0, None)}
    [profile] = [row for row in sim.rows(PROFILES) if row["name"] == SPEC.name]
    assert profile["rate-limit"] == "10M/10M"


def ensure_while_another_adds(
    sim: SimRouter, other: dict[str, str], *, ours: bool, recorded: bool
) -> str:
    """Ensure SPEC while another session adds a profile of that name between look and add."""
    outcome: list[object] = []
    with RouterClient(endpoint(sim)) as client, RouterClient(endpoint(sim)) as rival:
        client.connect()
        rival.connect()
        sim.faults.latency = 0.3

        def ensure() -> None:
            try:
                outcome.append(
                    actions.ensure_profile(
                        client, SPEC, ours=ours, before_add=(lambda: None) if recorded else None
                    )
                )
            except Exception as error:
                outcome.append(error)

        racing = threading.Thread(target=ensure)
        racing.start()
        # Its look is on the wire: the rival's add, sent now, runs after the look and before its add.
        wait_for(lambda: sim.stats[f"{PROFILES}/print"] >= 1)
        rival.add(PROFILES, {"name": SPEC.name, **other})
        racing.join(timeout=30)
    sim.faults.latency = 0.0
    assert sim.stats[f"{PROFILES}/add"] == 2  # the race was run: the second add met the first
    [result] = outcome
    if isinstance(result, Exception):
        raise result
    assert isinstance(result, str)
    return result


def test_a_profile_of_ours_added_meanwhile_by_another_worker_is_taken_as_it_is(
    sim: SimRouter,
) -> None:
    same = {"rate-limit": "10M/10M", "shared-users": "1"}
    assert ensure_while_another_adds(sim, same, ours=False, recorded=True) == "unchanged"


def test_a_profile_of_ours_added_meanwhile_with_another_shape_is_put_right(
    sim: SimRouter,
) -> None:
    other = {"rate-limit": "5M/5M", "shared-users": "1"}
    assert ensure_while_another_adds(sim, other, ours=True, recorded=True) == "updated"
    [profile] = [row for row in sim.rows(PROFILES) if row["name"] == SPEC.name]
    assert profile["rate-limit"] == "10M/10M"


def test_a_foreign_profile_added_meanwhile_is_still_left_alone(sim: SimRouter) -> None:
    other = {"rate-limit": "5M/5M", "shared-users": "1"}
    with pytest.raises(NotOurs):
        ensure_while_another_adds(sim, other, ours=False, recorded=False)
    [profile] = [row for row in sim.rows(PROFILES) if row["name"] == SPEC.name]
    assert profile["rate-limit"] == "5M/5M"
