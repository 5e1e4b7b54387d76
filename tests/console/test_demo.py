"""`wisp demo`'s world: a fresh database beside simulated routers, removed on close."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlmodel import Session, col

from console.demo import ACTIVATIONS, CLIENTS, PACKAGES, ROUTERS, VOUCHERS, start_demo
from console.demo_mpesa import CUSTOMER_PAYMENTS
from db.models import Client, Package, Router, RouterProvisioning, Voucher
from db.mpesa import transactions
from db.queue import STOCK, URGENT
from scheduler.mpesa.service import mpesa_running
from tests.waiting import wait_for


def test_demo_builds_routers_packages_clients_and_queued_activations(tmp_path) -> None:  # type: ignore[no-untyped-def]
    demo = start_demo(tmp_path / "demo", payment_every=None)
    try:
        with Session(demo.engine) as session:
            assert session.scalar(select(func.count()).select_from(Router)) == len(ROUTERS)
            assert session.scalar(select(func.count()).select_from(Package)) == len(PACKAGES)
            assert session.scalar(select(func.count()).select_from(Client)) == len(CLIENTS)
            jobs = session.execute(
                select(col(RouterProvisioning.status), col(RouterProvisioning.priority))
            ).all()
            codes = session.scalars(select(Voucher.code)).all()
        _, count, prefix = VOUCHERS
        assert len(codes) == count and all(code.startswith(prefix) for code in codes)
        # The paid activations, then the vouchers as bulk work behind them.
        assert (
            sorted(priority for _, priority in jobs)
            == [URGENT] * len(ACTIVATIONS) + [STOCK] * count
        )
        assert {status for status, _ in jobs} == {"pending"}
        online = demo.fleet["nairobi-cbd"].rows("/ip/hotspot/active")
        assert online, "some users are already online"
    finally:
        demo.close()
    assert not (tmp_path / "demo").exists()


def test_the_demo_customer_pays_by_paybill_and_each_payment_reaches_its_client(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """With the receiver up (as the console's engine runs it), every payment of the simulated
    customer comes back over HTTP from the Daraja simulator: the matched ones applied to their
    client, the mistyped account left unmatched for the operator."""
    demo = start_demo(tmp_path / "demo", payment_every=0.2)
    try:
        assert demo.mpesa is not None and not demo.mpesa.receiver_up()
        with mpesa_running(demo.settings, demo.engine):

            def seen() -> dict[str, str]:
                rows = transactions(demo.engine)
                return {row.bill_ref or "": (user or row.status) for row, user, _ in rows}

            wait_for(lambda: len(seen()) >= len(CUSTOMER_PAYMENTS), timeout=60, describe=seen)
        paid = seen()
        assert paid["kamua"] == "unmatched"
        assert paid["wanjiku"] == "wanjiku" and paid["Otieno"] == "otieno"
        assert paid["njeri"] == "njeri"
        with Session(demo.engine) as session:
            njeri = session.scalars(select(Client).where(Client.username == "njeri")).one()
        assert njeri.credit == Decimal("1000.00")
    finally:
        demo.close()
