"""Hotspot vouchers in the payments pane: a voucher's first login is a row of source "voucher"
among the M-Pesa transactions, newest first, filtered with them; enter shows the voucher, the
assign key refuses it in one sentence.

Vouchers are made and started through db.vouchers (`generate`, `start_first_use`) as the engine
does on a first login; transactions through db.mpesa's store, as Daraja's callbacks are.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session
from textual.widgets._toast import Toast

from console.app import WispApp
from console.screens.assign import AssignScreen
from console.screens.details import DetailsScreen
from console.screens.main import MainScreen
from console.views import payment_details
from console.views.payment_assign import voucher_refusal
from console.views.payments import payments, voucher_id, when_text
from console.views.window import Row
from console.widgets.main.payments_pane import PaymentsPane
from db import vouchers
from db.activation import ActivationService
from db.config import Settings
from db.engine import session_scope
from db.models import Router, RouterProvisioning, Voucher
from db.mpesa import apply, parse_c2b, store_c2b
from scheduler.mpesa.daraja import nairobi_stamp
from tests import factories
from tests.console.conftest import screen_text, settle, until
from tests.mpesa.helpers import confirmation

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ZONE = ZoneInfo("Africa/Nairobi")
SIZE = (80, 24)


def _c2b(engine: Engine, receipt: str, account: str, minutes_ago: int) -> int:
    """A paybill payment as its confirmation callback stores it, paid `minutes_ago` before NOW."""
    body = confirmation(
        receipt, "1500", account, TransTime=nairobi_stamp(NOW - timedelta(minutes=minutes_ago))
    )
    return store_c2b(engine, parse_c2b(body), body).id


def _used(engine: Engine, batch: vouchers.BatchMade, code: str, minutes_ago: int) -> int:
    """Start a voucher's clock as the engine does when it sees the code logged in; its id."""
    with Session(engine) as session:
        router_id = session.scalars(select(Router.id).where(Router.name == batch.router)).one()  # type: ignore[arg-type]
    moment = NOW - timedelta(minutes=minutes_ago)
    assert vouchers.start_first_use(engine, int(router_id or 0), {code: moment}, now=NOW) == [code]
    with Session(engine) as session:
        return int(session.scalars(select(Voucher.id).where(Voucher.code == code)).one() or 0)  # type: ignore[arg-type]


def _shop(engine: Engine) -> tuple[vouchers.BatchMade, vouchers.BatchMade]:
    """Router r1, Home 10M (1500) and a one-day package Day (50); a batch of each (B1 Day, B2
    Home 10M), queued but never delivered."""
    factories.setup(engine)
    factories.package(engine, "Day", validity="1d", price="50", rate="5M")
    day = vouchers.generate(engine, package="Day", count=3, created_by="ops", now=NOW)
    home = vouchers.generate(engine, package="Home 10M", count=2, created_by="ops", now=NOW)
    return day, home


def _window(engine: Engine, text: str = "", limit: int = 200) -> list[Row]:
    with Session(engine) as session:
        return payments(session, NOW, ZONE, text, limit).rows


def test_a_used_voucher_is_a_row_of_source_voucher_among_the_payments(engine: Engine) -> None:
    day, home = _shop(engine)
    older = _c2b(engine, "QKA1111111", "jdoe", minutes_ago=50)
    newer = _c2b(engine, "QKB2222222", "nobody", minutes_ago=20)
    first = _used(engine, day, day.codes[0], minutes_ago=40)
    last = _used(engine, home, home.codes[1], minutes_ago=10)
    with Session(engine) as session:
        window = payments(session, NOW, ZONE)
    assert window.keys == [f"v{last}", str(newer), f"v{first}", str(older)], "newest first"
    assert window.total == 4
    row = window.rows[2]
    code = day.codes[0]
    assert row.cells == (
        f"v{first}",
        when_text(NOW - timedelta(minutes=40), NOW, ZONE),
        "used",
        code,
        "50",
        "waiting",
        code,
        "voucher",
        "-",
    )
    assert row.status == "used"
    assert window.rows[0].cells[3:8] == (
        home.codes[1],
        "1,500",
        "waiting",
        home.codes[1],
        "voucher",
    )
    assert window.rows[1].cells[7] == "paybill", "M-Pesa rows keep their source"
    unused = set(day.codes[1:]) | {home.codes[0]}
    assert not unused & {cell for r in window.rows for cell in r.cells}, "unused codes stay out"

    with session_scope(engine) as session:  # the account reaches the router: its job completes
        session.execute(
            update(RouterProvisioning)
            .where(RouterProvisioning.router_username == code)  # type: ignore[arg-type]
            .values(status="completed")
        )
    assert _window(engine)[2].cells[5] == "completed"


def test_the_window_holds_both_kinds_and_counts_them_all(engine: Engine) -> None:
    day, _ = _shop(engine)
    _c2b(engine, "QKA1111111", "jdoe", minutes_ago=50)
    _c2b(engine, "QKB2222222", "nobody", minutes_ago=20)
    _used(engine, day, day.codes[0], minutes_ago=40)
    _used(engine, day, day.codes[1], minutes_ago=10)
    with Session(engine) as session:
        window = payments(session, NOW, ZONE, limit=3)
        full = payments(session, NOW, ZONE, limit=2)
    assert [row.cells[7] for row in window.rows] == ["voucher", "paybill", "voucher"]
    assert window.total == 4
    assert [row.cells[7] for row in full.rows] == ["voucher", "paybill"] and full.total == 4


def test_the_filter_finds_vouchers_by_code_batch_and_the_word_voucher(engine: Engine) -> None:
    day, home = _shop(engine)
    _c2b(engine, "QKA1111111", "jdoe", minutes_ago=50)
    _used(engine, day, day.codes[0], minutes_ago=40)
    _used(engine, day, day.codes[1], minutes_ago=30)
    _used(engine, home, home.codes[0], minutes_ago=10)
    assert [r.cells[6] for r in _window(engine, "voucher")] == [
        home.codes[0],
        day.codes[1],
        day.codes[0],
    ]
    assert [r.cells[6] for r in _window(engine, day.codes[1].lower())] == [day.codes[1]]
    # A code may hold the batch's name too (B2 in XB2K7P): it matches as well.
    named = [c for c in (home.codes[0], day.codes[1], day.codes[0]) if home.name in c]
    by_batch = [r.cells[6] for r in _window(engine, f"vouch {home.name.lower()}")]
    assert by_batch == [home.codes[0], *(c for c in named if c != home.codes[0])]
    assert [r.cells[6] for r in _window(engine, "qka")] == ["QKA1111111"], "M-Pesa as before"
    with Session(engine) as session:
        found = payments(session, NOW, ZONE, "voucher", limit=2)
    assert len(found.rows) == 2 and found.total == 3


def test_a_revoked_voucher_reads_revoked(engine: Engine) -> None:
    day, _ = _shop(engine)
    used = _used(engine, day, day.codes[0], minutes_ago=40)
    with session_scope(engine) as session:  # the pane reads the columns as they stand
        session.execute(update(Voucher).where(Voucher.id == used).values(revoked_at=NOW))  # type: ignore[arg-type]
    (row,) = _window(engine)
    assert row.cells[2] == "revoked" and row.status == "revoked" and row.cells[7] == "voucher"


# -- the pane at 80x24 -----------------------------------------------------------------------------


async def test_enter_shows_a_voucher_and_the_assign_key_refuses_it(
    make_app: Callable[..., WispApp], seeded: Engine
) -> None:
    batch = vouchers.generate(seeded, package="Home 10M", count=2, created_by="ops")
    code = batch.codes[0]
    with Session(seeded) as session:
        router_id = session.scalars(select(Router.id).where(Router.name == "r1")).one()  # type: ignore[arg-type]
    assert vouchers.start_first_use(seeded, int(router_id or 0), {code: datetime.now(UTC)}) == [
        code
    ]
    body = confirmation("QKB2222222", "1500", "nobody", TransTime=nairobi_stamp())
    store_c2b(seeded, parse_c2b(body), body)
    app = make_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        pane = app.screen.query_one(PaymentsPane)
        table = pane.table
        await until(pilot, lambda: table.row_count == 2)
        voucher = next(key for key in table._shown if key.startswith("v"))
        assert table._shown[voucher].cells[2:8] == (
            "used",
            code,
            "1,500",
            "waiting",
            code,
            "voucher",
        )
        assert code in screen_text(app)
        while pane.selected is not None and pane.selected.key != voucher:
            await pilot.press("down")

        await pilot.press("enter")
        await settle(pilot)
        details = app.screen
        assert isinstance(details, DetailsScreen)
        await until(pilot, lambda: details.found is not None)
        assert details.found is not None
        found = dict(details.found.fields)
        assert found["Voucher"] == code and found["Batch"] == batch.name
        assert found["Package"] == "Home 10M" and found["Router"] == "r1"
        assert found["State"] == "in use" and found["First login"].endswith(" EAT")
        assert found["Subscription end"].endswith(" EAT")
        assert found["Router job"].startswith("job ") and "pending" in found["Router job"]
        assert f"Voucher {code}" in screen_text(app)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        await settle(pilot)

        assert pane.selected is not None and pane.selected.key == voucher
        await pilot.press("A")
        await until(pilot, lambda: bool(_notices(app)))
        assert _notices(app) == [voucher_refusal(code)]
        assert voucher_refusal(code).count(". ") == 0 and voucher_refusal(code).endswith(".")
        assert isinstance(app.screen, MainScreen) and not isinstance(app.screen, AssignScreen)
        await until(pilot, lambda: bool(app.screen.query(Toast)))
        assert f"Voucher {code} was paid for" in screen_text(app), "the notice is on screen"


def _notices(app: WispApp) -> list[str]:
    return [str(n.message) for n in app._notifications if "Voucher" in str(n.message)]


def test_a_voucher_row_key_never_meets_a_transaction_or_a_package_name() -> None:
    assert voucher_id("v12") == 12
    assert voucher_id("12") is None and voucher_id("vip") is None and voucher_id("v") is None


def test_every_payment_of_a_renewed_subscription_shows_its_router_job(engine: Engine) -> None:
    """A renewal extends the subscription, which then names only the last payment: the earlier
    payment's row still shows the job of the subscription it bought."""
    _shop(engine)
    ActivationService(engine).activate("jdoe", "Home 10M")
    first = _c2b(engine, "QKC3333333", "jdoe", minutes_ago=30)
    second = _c2b(engine, "QKD4444444", "jdoe", minutes_ago=5)
    for transaction in (first, second):
        assert apply(engine, Settings(), transaction).status == "applied"
    jobs = {row.key: row.cells[5] for row in _window(engine, "QK")}
    assert jobs == {str(first): "waiting", str(second): "waiting"}
    with Session(engine) as session:
        shown = dict(payment_details.payment(session, first, ZONE).fields)
    assert shown["Router job"].endswith(" pending (activate jdoe)"), shown["Router job"]
