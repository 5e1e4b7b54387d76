"""`wisp pay` end to end on every database: the Daraja simulator and the callback receiver over
real HTTP, a simulated router over real TCP."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from db.config import Settings
from db.models import MpesaStatus
from scheduler.mpesa_sim.app import stk_callback
from scheduler.sim import SimRouter
from tests import factories
from tests.cli.conftest import Wisp
from tests.mpesa.conftest import KEY, SECRET, TOKEN
from tests.mpesa.helpers import payments, post, rows
from tests.waiting import wait_for

PHONE = "254708374149"


@pytest.fixture
def router_sim() -> Iterator[SimRouter]:
    with SimRouter(password="lab-pw") as router:
        yield router


@pytest.fixture
def shop(engine, router_sim):
    factories.router(engine, port=router_sim.port, password="lab-pw")
    factories.package(engine)
    factories.package(engine, "Day 5M", rate="5M", validity="1d", price="50")
    factories.client(engine, phone="0708374149")


@pytest.fixture
def wisp(engine, sim, receiver, tmp_path: Path, monkeypatch) -> Wisp:
    monkeypatch.setenv("WISP_MPESA_CONSUMER_KEY", KEY)
    monkeypatch.setenv("WISP_MPESA_CONSUMER_SECRET", SECRET)
    monkeypatch.setenv(
        "WISP_MPESA_PASSKEY", "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"
    )
    monkeypatch.setenv("WISP_MPESA_CALLBACK_TOKEN", TOKEN)
    base = receiver.rsplit("/hooks/", 1)[0]
    config = tmp_path / "config.toml"
    config.write_text(
        f"[database]\nurl = {json.dumps(engine.url.render_as_string(hide_password=False))}\n"
        f"[mpesa]\nbase_url = {json.dumps(sim[1].url)}\n"
        f"callback_base_url = {json.dumps(base)}\nquery_after = 1.0\n"
        "[routers]\nconnect_timeout = 10.0\ncommand_timeout = 30.0\n"
    )
    return Wisp(config)


@pytest.fixture
def drain(engine) -> Iterator[None]:
    """A provisioning engine draining the queue, as `wisp run` would."""
    from scheduler.engine.service import ProvisioningService

    service = ProvisioningService(Settings(), engine, worker="test-drain")
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(0.2):
            service.drain_once()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(30)
    service.shutdown(wait=True)


def test_stk_paid_activates_and_reaches_the_router(engine, shop, sim, wisp, drain, router_sim):
    # The callback settles it: a query after 1 s could learn of the payment first on a loaded
    # machine, where the callback is late (that race is tested on its own).
    text = wisp.config.read_text()
    wisp.config.write_text(text.replace("query_after = 1.0", "query_after = 600.0"))
    sim[0].outcomes[PHONE] = 0
    result = wisp("pay", "request", "jdoe", "Day 5M", "--wait", "--timeout", "60")
    assert result.code == 0, result.out + result.err
    assert "STK Push sent to +254708374149: KES 50 for Day 5M (jdoe)" in result.out
    assert "paid: 50.00 from +254708374149, receipt " in result.out
    assert "router job 1 completed: jdoe is on r1." in result.out
    [payment] = payments(engine)
    [row] = rows(engine)
    assert (payment.reference, row.status, row.source) == (row.receipt, "applied", "callback")


@pytest.mark.parametrize(
    ("code", "words"),
    [(1032, "cancelled by the customer"), (1037, "the phone could not be reached")],
)
def test_stk_cancelled_or_timed_out_activates_nothing(engine, shop, sim, wisp, code, words):
    sim[0].outcomes[PHONE] = code
    result = wisp("pay", "request", "jdoe", "Day 5M", "--wait", "--timeout", "60")
    assert result.code == 1
    assert f"not paid: {words}" in result.out
    assert payments(engine) == []
    assert [r.status for r in rows(engine)] == [MpesaStatus.FAILED]


def test_a_lost_callback_is_recovered_by_query_exactly_once(engine, shop, sim, wisp, receiver):
    state = sim[0]
    state.outcomes[PHONE] = 0
    state.drop_rate = 1.0
    wisp.ok("pay", "request", "jdoe", "Day 5M")
    wait_for(lambda: all(p.result_code is not None for p in state.pushes.values()))
    assert state.callbacks == []
    # Two reconciliations and a round of the runner's recovery, at once and after each other.
    from scheduler.mpesa.recovery import daraja_client, recover

    settings = Settings()
    settings.mpesa.base_url = sim[1].url
    settings.mpesa.query_after = 1.0
    outcomes: list[int] = []

    def reconcile() -> None:
        outcomes.append(wisp("pay", "reconcile", "--no-pull").code)

    threads = [threading.Thread(target=reconcile) for _ in range(2)]
    for t in threads:
        t.start()
    with daraja_client(settings) as client:
        from datetime import timedelta

        recover(engine, settings, client, query_older_than=timedelta(0))
    for t in threads:
        t.join()
    assert outcomes == [0, 0]
    [row] = rows(engine)
    assert (row.status, row.source, row.receipt) == ("applied", "query", None)
    [payment] = payments(engine)
    assert payment.reference == row.checkout_request_id.upper()
    # The callback turns up late after all: the receipt is recorded, nothing is applied again.
    [push] = state.pushes.values()
    answer = post(f"{receiver}/stk", json=stk_callback(push))
    assert answer.json() == {"ResultCode": 0, "ResultDesc": "Accepted"}
    # And the statement line of the same payment, pulled, is known as that push.
    wisp.ok("pay", "register", "--pull", "0722000000")
    assert "0 of them new" in wisp.ok("pay", "reconcile", "--since", "1h").out
    [row] = rows(engine)
    assert (row.status, row.receipt) == ("applied", push.receipt)
    assert row.deliveries >= 3  # queries (one or more, racing), the callback, the pull
    assert len(payments(engine)) == 1


def test_c2b_through_daraja_matched_and_unmatched(engine, shop, sim, wisp, daraja):
    wisp.ok("pay", "register")
    daraja.simulate_c2b(amount=Decimal(1500), msisdn=PHONE, bill_ref="JDOE")
    daraja.simulate_c2b(amount=Decimal(1500), msisdn=PHONE, bill_ref="someone")
    wait_for(lambda: sorted(r.status for r in rows(engine)) == ["applied", "unmatched"])
    listed = wisp.ok("pay", "list", "--json").json()
    assert sorted((r["status"], r["account"], r["client"], r["package"]) for r in listed) == [
        ("applied", "JDOE", "jdoe", "Home 10M"),
        ("unmatched", "someone", None, None),
    ]
    assert "no client has the account number 'someone'" in wisp.ok("pay", "list").out
    assert [p.amount for p in payments(engine)] == [Decimal(1500)]
    lost = next(r["id"] for r in listed if r["status"] == "unmatched")
    assigned = wisp.ok("pay", "assign", str(lost), "jdoe")
    assert f"M-Pesa transaction {lost}: applied, renewed: jdoe on Home 10M" in assigned.out
    assert [p.amount for p in payments(engine)] == [Decimal(1500)] * 2


def test_a_request_without_credentials_is_one_sentence(engine, shop, wisp, monkeypatch):
    monkeypatch.delenv("WISP_MPESA_PASSKEY")
    result = wisp("pay", "request", "jdoe", "Day 5M")
    assert result.code == 1
    assert result.err.strip() == (
        "wisp: M-Pesa needs WISP_MPESA_PASSKEY in the environment or .env (see [mpesa] in "
        "config.example.toml)."
    )
    assert rows(engine) == []


def test_wisp_run_receives_callbacks_when_mpesa_listen_is_set(sqlite_engine, tmp_path):
    import os
    import socket
    import subprocess
    import sys

    from tests.mpesa.helpers import confirmation
    from tests.mpesa.helpers import shop as small_shop

    small_shop(sqlite_engine)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "config.toml"
    config.write_text(
        f"[database]\nurl = {json.dumps(str(sqlite_engine.url))}\n"
        f'[mpesa]\nlisten = "127.0.0.1:{port}"\nrecovery_interval = 0.5\n'
        "[scheduler]\nhealth_interval = 3600\n"
    )
    env = {**os.environ, "WISP_MPESA_CALLBACK_TOKEN": TOKEN}
    process = subprocess.Popen(
        [sys.executable, "-m", "console.cli", "--config", str(config), "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/hooks/{TOKEN}/c2b/confirmation"

    def delivered() -> bool:
        try:
            return post(url, json=confirmation("RKTQDM7W70", "1500", "jdoe")).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(delivered, timeout=30)
        wait_for(lambda: [r.status for r in rows(sqlite_engine)] == ["applied"])
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert process.returncode == 0, output
    assert TOKEN not in output
    assert [p.reference for p in payments(sqlite_engine)] == ["RKTQDM7W70"]


def test_c2b_over_and_underpaid_through_daraja(engine, shop, sim, wisp, daraja):
    from tests.mpesa.helpers import credit

    wisp.ok("pay", "register")
    for amount, paid in ((1500, 1), (1700, 2), (1000, 3)):
        daraja.simulate_c2b(amount=Decimal(amount), msisdn=PHONE, bill_ref="jdoe")
        wait_for(lambda paid=paid: [r.status for r in rows(engine)] == ["applied"] * paid)
    notes = [r.note for r in rows(engine)]
    assert notes[0] == "new: jdoe on Home 10M"
    assert notes[1] == "renewed: jdoe on Home 10M, credit 200.00"  # 200 over the price
    assert notes[2].startswith("credit: jdoe on Home 10M")  # 1000 under it: held as credit
    assert credit(engine) == Decimal("1200")
    assert [p.amount for p in payments(engine)] == [Decimal(1500), Decimal(1700), Decimal(1000)]


def test_a_lost_confirmation_is_recovered_by_pull_exactly_once(
    engine, shop, sim, wisp, daraja, receiver
):
    from datetime import timedelta

    from db.types import utcnow
    from scheduler.mpesa.recovery import daraja_client, recover
    from tests.mpesa.helpers import confirmation

    state = sim[0]
    state.drop_rate = 1.0
    wisp.ok("pay", "register")
    wisp.ok("pay", "register", "--pull", "0722000000")
    daraja.simulate_c2b(amount=Decimal(1500), msisdn=PHONE, bill_ref="jdoe")
    wait_for(lambda: len(state.payments) == 1)
    assert rows(engine) == []  # the confirmation never came
    # Two reconciliations and a round of the runner's recovery, at once and after each other.
    settings = Settings()
    settings.mpesa.base_url = sim[1].url
    outcomes: list[int] = []

    def reconcile() -> None:
        outcomes.append(wisp("pay", "reconcile", "--since", "1h").code)

    threads = [threading.Thread(target=reconcile) for _ in range(2)]
    for t in threads:
        t.start()
    with daraja_client(settings) as client:
        recover(engine, settings, client, pull_since=utcnow() - timedelta(hours=1))
    for t in threads:
        t.join()
    assert outcomes == [0, 0]
    assert "0 of them new" in wisp.ok("pay", "reconcile", "--since", "1h").out
    [row] = rows(engine)
    receipt = state.payments[0].receipt
    assert (row.status, row.source, row.receipt, row.note) == (
        "applied",
        "pull",
        receipt,
        "new: jdoe on Home 10M",
    )
    # Daraja delivers the confirmation after all: one more delivery, nothing applied again.
    late = post(f"{receiver}/c2b/confirmation", json=confirmation(receipt, "1500", "jdoe"))
    assert late.json() == {"ResultCode": 0, "ResultDesc": "Accepted"}
    [row] = rows(engine)
    assert row.status == "applied" and row.deliveries >= 5  # 4 pulls (or more) and the callback
    assert [p.reference for p in payments(engine)] == [receipt]
