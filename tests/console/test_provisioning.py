"""Activation through the modal and retries, against a simulated router over the real API."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlmodel import Session
from textual.widgets import Select

from console.app import WispApp
from console.screens.activate import ActivateScreen
from console.screens.confirm import ConfirmScreen
from console.screens.main import MainScreen
from db import queue
from db.activation import ActivationService
from db.engine import session_scope
from db.models import RouterProvisioning
from scheduler.engine.service import ProvisioningService
from scheduler.sim import SimFleet
from tests.console.conftest import console_settings, drain, refresh, settle

SIZE = (120, 40)
REFUSAL = "failure: could not add user (out of licence slots)"


def _hotspot_names(fleet: SimFleet) -> set[str]:
    return {row["name"] for row in fleet["r1"].rows("/ip/hotspot/user")}


async def test_activation_through_the_modal_reaches_the_router(
    make_app: Callable[..., WispApp],
    service: Callable[[WispApp], ProvisioningService],
    fleet: SimFleet,
) -> None:
    app = make_app()
    engine_service = service(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        modal: ActivateScreen = app.screen  # type: ignore[assignment]
        await pilot.press(*"jdo")
        await settle(pilot)
        await pilot.press("enter")
        modal.query_one("#package", Select).value = "Home 10M"
        await pilot.pause()
        await pilot.press(*"QJK1234XYZ", "enter")
        await settle(pilot)
        assert modal.activation is not None and modal.activation.client == "jdoe"
        assert "pending" in str(modal.query_one("#activate-result").content)
        await drain(pilot, engine_service)
        result = str(modal.query_one("#activate-result").content)
        assert "completed: the account is on router r1" in result
        assert "jdoe" in _hotspot_names(fleet)
        await pilot.press("escape")
        await refresh(pilot)
        subscriptions = app.screen.panes[1]  # type: ignore[attr-defined]
        assert subscriptions.table.row_at(0).cells[3] == "on router"


async def test_a_repeated_payment_reference_is_refused_in_one_sentence(
    make_app: Callable[..., WispApp], seeded: Engine
) -> None:
    ActivationService(seeded).activate("client1", "Home 10M", "QDUPLICATE1")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        modal: ActivateScreen = app.screen  # type: ignore[assignment]
        await pilot.press(*"jdoe")
        await settle(pilot)
        modal.query_one("#package", Select).value = "Home 10M"
        await pilot.pause()
        await pilot.press(*"QDUPLICATE1", "enter")
        await settle(pilot)
        result = str(modal.query_one("#activate-result").content)
        assert "QDUPLICATE1 was already applied" in result
        assert "Traceback" not in result


async def test_retry_moves_a_failed_job_back_and_it_completes(
    make_app: Callable[..., WispApp],
    service: Callable[[WispApp], ProvisioningService],
    fleet: SimFleet,
    seeded: Engine,
) -> None:
    fleet["r1"].faults.trap("/ip/hotspot/user/add", REFUSAL, times=1)
    ActivationService(seeded).activate("jdoe", "Home 10M")
    app = make_app()
    engine_service = service(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await drain(pilot, engine_service)
        screen: MainScreen = app.screen  # type: ignore[assignment]
        queue = screen.panes[2]
        assert queue.selected.status == "failed"
        assert REFUSAL in queue.selected.cells[-1]
        assert screen.check_action("retry", ()) is True
        await pilot.press("r")
        await settle(pilot)
        with Session(seeded) as session:
            assert session.get(RouterProvisioning, 1).status == "pending"  # type: ignore[union-attr]
        told = [str(n.message) for n in app._notifications]
        assert "Job 1 is back in the queue." in told  # the screen's handler of JobsRetried ran
        await drain(pilot, engine_service)
        assert queue.selected.status == "completed"
        assert "jdoe" in _hotspot_names(fleet)
        assert screen.check_action("retry", ()) is None


async def test_retry_all_asks_first(
    make_app: Callable[..., WispApp],
    service: Callable[[WispApp], ProvisioningService],
    fleet: SimFleet,
    seeded: Engine,
) -> None:
    fleet["r1"].faults.trap("/ip/hotspot/user/add", REFUSAL, times=2)
    for client in ("client1", "client2"):
        ActivationService(seeded).activate(client, "Home 10M")
    app = make_app()
    engine_service = service(app)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await drain(pilot, engine_service)
        await pilot.press("R")
        assert isinstance(app.screen, ConfirmScreen)
        assert "Retry all 2 failed jobs?" in str(app.screen.question)
        await pilot.press("n")
        await settle(pilot)
        assert app.screen.snapshot.status.counts["failed"] == 2  # type: ignore[attr-defined]
        await pilot.press("R", "y")
        await settle(pilot)
        await drain(pilot, engine_service)
        assert app.screen.snapshot.status.counts["failed"] == 0  # type: ignore[attr-defined]
        assert {"client1", "client2"} <= _hotspot_names(fleet)


async def test_p_pauses_and_resumes_the_scheduler(
    make_app: Callable[..., WispApp],
    service: Callable[[WispApp], ProvisioningService],
) -> None:
    app = make_app()
    engine_service = service(app)
    engine_service.start()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "running" in str(app.screen.query_one("#scheduler").content)
        await pilot.press("p")
        await settle(pilot)
        assert engine_service.state == "paused"
        assert "paused" in str(app.screen.query_one("#scheduler").content)
        await pilot.press("p")
        await settle(pilot)
        assert engine_service.state == "running"


async def test_activating_without_a_package_asks_for_one(
    make_app: Callable[..., WispApp], seeded: Engine
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        modal: ActivateScreen = app.screen  # type: ignore[assignment]
        await pilot.press(*"jdoe")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert str(modal.query_one("#activate-result").content) == "Pick a package."
        assert modal.activation is None


def _told(app: WispApp) -> list[str]:
    return [str(notification.message) for notification in app._notifications]


async def test_retry_takes_down_the_failure_notice_and_says_the_job_is_back(
    make_app: Callable[..., WispApp],
    service: Callable[[WispApp], ProvisioningService],
    fleet: SimFleet,
    seeded: Engine,
) -> None:
    fleet["r1"].faults.trap("/ip/hotspot/user/add", REFUSAL, times=1)
    ActivationService(seeded).activate("jdoe", "Home 10M")
    app = make_app()
    engine_service = service(app)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        await drain(pilot, engine_service)
        assert any(m.startswith("Job 1 (jdoe on r1) failed:") for m in _told(app))
        await pilot.press("r")
        await settle(pilot)
        told = _told(app)
        assert "Job 1 is back in the queue." in told
        assert not any(m.startswith("Job 1 (jdoe on r1) failed") for m in told), told
        await drain(pilot, engine_service)
        assert app.screen.panes[2].selected.status == "completed"  # type: ignore[attr-defined]
        assert not any("failed" in m for m in _told(app))


async def test_retrying_a_job_someone_else_retried_says_there_was_none(
    make_app: Callable[..., WispApp],
    service: Callable[[WispApp], ProvisioningService],
    fleet: SimFleet,
    seeded: Engine,
) -> None:
    fleet["r1"].faults.trap("/ip/hotspot/user/add", REFUSAL, times=1)
    ActivationService(seeded).activate("jdoe", "Home 10M")
    app = make_app()
    engine_service = service(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await drain(pilot, engine_service)
        with session_scope(seeded) as session:  # another console retried it meanwhile
            queue.retry(session, 1, now=app.now())
        await pilot.press("r")  # the pane still shows it failed until the next refresh
        await settle(pilot)
        assert "No failed job to retry." in _told(app)


async def test_activating_while_paused_says_which_key_resumes(
    make_app: Callable[..., WispApp],
    service: Callable[[WispApp], ProvisioningService],
    seeded: Engine,
) -> None:
    settings = console_settings(seeded)
    settings.console.keymap = {"pause": "ctrl+o"}
    app = make_app(settings)
    engine_service = service(app)
    engine_service.start()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert engine_service.state == "paused"
        await pilot.press("a")
        await settle(pilot)
        modal: ActivateScreen = app.screen  # type: ignore[assignment]
        await pilot.press(*"jdoe")
        await settle(pilot)
        modal.query_one("#package", Select).value = "Home 10M"
        await pilot.pause()
        await pilot.press(*"QPAUSED001", "enter")
        await settle(pilot)
        result = str(modal.query_one("#activate-result").content)
        assert "press ^o to resume" in result
        assert "another process" not in result
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert engine_service.state == "running"
