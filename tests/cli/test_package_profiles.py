"""`wisp package add` asks the router which profile names are taken by profiles that are not ours."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from db.config import RouterSettings
from scheduler.routeros.client import Endpoint, RouterClient
from scheduler.sim import SimRouter
from tests.cli.test_cli import ok, wisp

PASSWORD = "lab-pw"
PACKAGE = ["--type", "hotspot", "--price", "1500", "--validity", "30d", "--rate", "10M"]


@pytest.fixture
def sim() -> Iterator[SimRouter]:
    with SimRouter(password=PASSWORD) as router:
        yield router


@pytest.fixture
def workdir(tmp_path: Path, sim: SimRouter) -> Path:
    ok(tmp_path, "init")
    ok(
        tmp_path,
        *("router", "add", "r1", "--host", "127.0.0.1", "--port", str(sim.port)),
        "--password-stdin",
        stdin=f"{PASSWORD}\n",
    )
    return tmp_path


def test_package_add_picks_a_suffixed_name_beside_a_hand_made_profile_and_says_why(
    workdir: Path, sim: SimRouter
) -> None:
    endpoint = Endpoint("r1", "127.0.0.1", sim.port, "admin", PASSWORD)
    with RouterClient(endpoint, RouterSettings(connect_timeout=2.0)) as admin:
        admin.add(
            "/ip/hotspot/user/profile", {"name": "HOTSPOT_10M_PERSONAL", "rate-limit": "5M/10M"}
        )
    out = ok(workdir, "package", "add", "Home 10M", "--router", "r1", *PACKAGE)
    assert "profile HOTSPOT_10M_PERSONAL_WC" in out
    assert (
        "chose profile HOTSPOT_10M_PERSONAL_WC instead of HOTSPOT_10M_PERSONAL: router r1 already "
        "has a hotspot profile HOTSPOT_10M_PERSONAL (rate-limit 5M/10M) that WISP Console did "
        "not create"
    ) in out
    again = ok(workdir, "package", "add", "Home 10M promo", "--router", "r1", *PACKAGE)
    assert "profile HOTSPOT_10M_PERSONAL_WC" in again


def test_package_add_on_a_router_that_does_not_answer_says_so_and_checks_the_database(
    workdir: Path, sim: SimRouter
) -> None:
    sim.down()
    result = wisp(workdir, "package", "add", "Home 10M", "--router", "r1", *PACKAGE)
    assert result.returncode == 0, result.stderr
    assert "profile HOTSPOT_10M_PERSONAL" in result.stdout
    [note] = result.stderr.splitlines()
    assert note.startswith("wisp: note: router r1 ") and note.endswith(
        "; the profile name was checked against the database only."
    )
