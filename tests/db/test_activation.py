"""ActivationService: payments, subscriptions and the router account row, on every backend."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from db import secrets
from db.activation import ActivationService, DuplicatePayment
from db.catalog import Refused
from db.engine import make_engine, session_scope
from db.models import Client, Payment, RouterProvisioning, Subscription, SystemLog
from tests import factories

T0 = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)


def count(engine, model) -> int:
    with session_scope(engine) as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_first_activation_creates_payment_subscription_and_pending_account(engine):
    factories.setup(engine)
    result = ActivationService(engine).activate("jdoe", "Home 10M", "QK12AB34CD", now=T0)
    assert result.expires_on == T0 + timedelta(days=30)
    assert not result.renewed
    with session_scope(engine) as session:
        payment = session.scalars(select(Payment)).one()
        assert (payment.reference, payment.method, payment.amount) == (
            "QK12AB34CD",
            "mpesa",
            Decimal("1500.00"),
        )
        account = session.get(RouterProvisioning, result.job_id)
        assert (account.status, account.action, account.router_username) == (
            "pending",
            "activate",
            "jdoe",
        )
        assert account.router_profile == "HOTSPOT_10M_PERSONAL"
        assert account.service_type == "hotspot"
        sub = session.get(Subscription, result.subscription_id)
        assert sub.provisioning_id == account.id and sub.status == "active"


def test_renewal_extends_from_current_expiry(engine):
    factories.setup(engine)
    service = ActivationService(engine)
    first = service.activate("jdoe", "Home 10M", "REF-1", now=T0)
    second = service.activate("jdoe", "Home 10M", "REF-2", now=T0 + timedelta(days=10))
    assert second.renewed
    assert second.subscription_id == first.subscription_id
    assert second.expires_on == T0 + timedelta(days=60)
    assert count(engine, Subscription) == 1
    assert count(engine, Payment) == 2


def test_renewal_of_monthly_package_clamps_to_month_end(engine):
    factories.setup(engine)
    factories.package(engine, "Monthly", validity="1mo")
    result = ActivationService(engine).activate("jdoe", "Monthly", now=T0)
    assert result.expires_on == datetime(2026, 2, 28, 9, 0, tzinfo=UTC)


def test_activation_after_expiry_starts_from_now(engine):
    factories.setup(engine)
    service = ActivationService(engine, factories.clock_from_payment())
    first = service.activate("jdoe", "Home 10M", now=T0)
    later = T0 + timedelta(days=45)
    second = service.activate("jdoe", "Home 10M", now=later)
    assert not second.renewed
    assert second.subscription_id != first.subscription_id
    assert second.expires_on == later + timedelta(days=30)
    with session_scope(engine) as session:
        assert session.get(Subscription, first.subscription_id).status == "expired"


def test_second_activation_for_same_username_requeues_the_existing_row(engine):
    factories.setup(engine)
    service = ActivationService(engine)
    first = service.activate("jdoe", "Home 10M", now=T0)
    with session_scope(engine) as session:
        row = session.get(RouterProvisioning, first.job_id)
        password = row.router_password
        row.status, row.attempts, row.last_error = "failed", 5, "failure: something"
    second = service.activate("jdoe", "Home 10M", now=T0 + timedelta(hours=1))
    assert second.job_id == first.job_id
    assert count(engine, RouterProvisioning) == 1
    with session_scope(engine) as session:
        row = session.get(RouterProvisioning, first.job_id)
        assert (row.status, row.attempts, row.last_error, row.revision) == ("pending", 0, None, 2)
        assert row.router_password == password  # the client keeps their login password


def test_another_package_while_one_runs_is_refused_with_both_choices(engine):
    factories.setup(engine)
    factories.package(engine, "Home 20M", rate="20M")
    service = ActivationService(engine, factories.clock_from_payment())
    first = service.activate("jdoe", "Home 10M", now=T0)
    with pytest.raises(Refused, match="choose --after-current .* or --switch-now"):
        service.activate("jdoe", "Home 20M", now=T0 + timedelta(days=1))
    with session_scope(engine) as session:
        assert session.get(Subscription, first.subscription_id).status == "active"
    assert count(engine, Payment) == 1


def test_switch_now_converts_the_unused_value_pro_rata_and_requeues_the_new_profile(engine):
    factories.setup(engine)
    factories.package(engine, "Home 20M", rate="20M", price="3000")
    service = ActivationService(engine, factories.clock_from_payment())
    first = service.activate("jdoe", "Home 10M", now=T0)  # 1500 for 30 days
    # 10 days used: 20 days left are worth 1000, a third of Home 20M's 3000: 10 more days.
    switched = service.activate(
        "jdoe", "Home 20M", change="switch_now", now=T0 + timedelta(days=10)
    )
    assert switched.outcome == "switched" and switched.job_id == first.job_id
    assert switched.converted == timedelta(days=10)
    assert switched.expires_on == T0 + timedelta(days=10 + 30 + 10)
    with session_scope(engine) as session:
        old = session.get(Subscription, first.subscription_id)
        assert (old.status, old.expires_on) == ("cancelled", T0 + timedelta(days=10))
        assert (
            session.get(RouterProvisioning, first.job_id).router_profile == "HOTSPOT_20M_PERSONAL"
        )


def test_after_current_starts_when_the_current_one_ends(engine):
    factories.setup(engine)
    factories.package(engine, "Home 20M", rate="20M")
    service = ActivationService(engine, factories.clock_from_payment())
    first = service.activate("jdoe", "Home 10M", now=T0)
    later = service.activate("jdoe", "Home 20M", change="after_current", now=T0 + timedelta(days=3))
    assert later.outcome == "scheduled" and later.job_id is None
    assert (later.starts_on, later.expires_on) == (
        first.expires_on,
        first.expires_on + timedelta(days=30),
    )
    with session_scope(engine) as session:
        assert (
            session.get(RouterProvisioning, first.job_id).router_profile == "HOTSPOT_10M_PERSONAL"
        )


def test_repeated_payment_reference_is_reported_and_not_applied_twice(engine):
    factories.setup(engine)
    service = ActivationService(engine)
    first = service.activate("jdoe", "Home 10M", "QK12AB34CD", now=T0)
    with pytest.raises(DuplicatePayment, match="QK12AB34CD was already applied .* to jdoe"):
        service.activate("jdoe", "Home 10M", "QK12AB34CD", now=T0 + timedelta(minutes=1))
    with session_scope(engine) as session:
        assert session.get(Subscription, first.subscription_id).expires_on == first.expires_on
    assert count(engine, Payment) == 1


def test_a_reference_typed_in_other_case_or_blank_is_not_a_second_payment(engine):
    factories.setup(engine)
    service = ActivationService(engine)
    service.activate("jdoe", "Home 10M", "QK12AB34CD", now=T0)
    with pytest.raises(DuplicatePayment, match="QK12AB34CD was already applied"):
        service.activate("jdoe", "Home 10M", " qk12ab34cd ", now=T0 + timedelta(minutes=1))
    service.activate("jdoe", "Home 10M", "   ", now=T0 + timedelta(minutes=2))
    service.activate("jdoe", "Home 10M", "   ", now=T0 + timedelta(minutes=3))
    with session_scope(engine) as session:
        references = session.scalars(select(Payment.reference).order_by(Payment.id)).all()
    assert references == ["QK12AB34CD", None, None]


def _activate_in_process(url: str, barrier, reference: str) -> str:
    engine = make_engine(url)
    barrier.wait()
    try:
        ActivationService(engine).activate("jdoe", "Home 10M", reference)
        return "activated"
    except DuplicatePayment:
        return "duplicate"
    finally:
        engine.dispose()


def test_concurrent_activations_of_one_payment_from_several_processes_activate_once(db_url, engine):
    factories.setup(engine)
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, ProcessPoolExecutor(4, mp_context=context) as pool:
        barrier = manager.Barrier(4)
        outcomes = sorted(
            pool.map(_activate_in_process, [db_url] * 4, [barrier] * 4, ["QK99RACE00"] * 4)
        )
    assert outcomes == ["activated", "duplicate", "duplicate", "duplicate"]
    assert count(engine, Payment) == 1
    assert count(engine, Subscription) == 1
    with session_scope(engine) as session:
        sub = session.scalars(select(Subscription)).one()
        assert sub.expires_on - sub.start_date == timedelta(days=30)


def test_concurrent_payments_of_one_client_each_buy_their_time(db_url, engine):
    """Four receipts for one client at once (callbacks racing): four validities, one subscription."""
    factories.setup(engine)
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, ProcessPoolExecutor(4, mp_context=context) as pool:
        barrier = manager.Barrier(4)
        refs = [f"QK99RACE0{n}" for n in range(4)]
        outcomes = list(pool.map(_activate_in_process, [db_url] * 4, [barrier] * 4, refs))
    assert outcomes == ["activated"] * 4
    assert count(engine, Payment) == 4
    with session_scope(engine) as session:
        subs = session.scalars(select(Subscription)).all()
        granted = sum((s.expires_on - s.start_date for s in subs), timedelta())
        assert len(subs) == 1 and granted == timedelta(days=120)


@pytest.mark.parametrize(
    ("client", "package", "message"),
    [
        ("nobody", "Home 10M", "there is no client with username 'nobody'"),
        ("jdoe", "Gold", "there is no package named 'Gold'"),
    ],
)
def test_unknown_client_or_package_is_refused_and_writes_nothing(engine, client, package, message):
    factories.setup(engine)
    logs_before = count(engine, SystemLog)
    with pytest.raises(Refused, match=message):
        ActivationService(engine).activate(client, package, "REF")
    assert count(engine, Payment) == 0
    assert count(engine, RouterProvisioning) == 0
    assert count(engine, SystemLog) == logs_before


def test_inactive_client_is_refused(engine):
    factories.setup(engine)
    with session_scope(engine) as session:
        session.scalars(select(Client)).one().status = "suspended"
    with pytest.raises(Refused, match="client jdoe is suspended"):
        ActivationService(engine).activate("jdoe", "Home 10M", "REF")
    assert count(engine, Payment) == 0


def test_package_without_router_is_refused(engine):
    factories.setup(engine)
    factories.package(engine, "Loose", router=None)
    with pytest.raises(Refused, match="package Loose has no router"):
        ActivationService(engine).activate("jdoe", "Loose", "REF")
    assert count(engine, Subscription) == 0


def test_each_step_is_logged_without_the_client_password(engine):
    factories.setup(engine)
    result = ActivationService(engine).activate("jdoe", "Home 10M", "QK12AB34CD")
    with session_scope(engine) as session:
        password = secrets.decrypt(session.get(RouterProvisioning, result.job_id).router_password)
        entries = session.scalars(select(SystemLog).where(SystemLog.client_id.is_not(None))).all()
    assert {e.type for e in entries} >= {"Payment", "Subscription", "Activation"}
    dump = " ".join(f"{e.message} {e.context}" for e in entries)
    assert password not in dump


def test_moving_to_another_service_withdraws_the_old_account_in_the_same_step(engine):
    factories.setup(engine)
    factories.package(engine, "Fibre 10M", type="pppoe", rate="10M")
    service = ActivationService(engine)
    hotspot = service.activate("jdoe", "Home 10M", now=T0)
    pppoe = service.activate("jdoe", "Fibre 10M", change="switch_now", now=T0 + timedelta(hours=1))
    assert pppoe.job_id != hotspot.job_id and pppoe.withdrawn == (hotspot.job_id,)
    with session_scope(engine) as session:
        rows = {r.service_type: r for r in session.scalars(select(RouterProvisioning))}
        assert (rows["hotspot"].action, rows["hotspot"].status) == ("deactivate", "pending")
        assert (rows["pppoe"].action, rows["pppoe"].router_username) == ("activate", "jdoe")


def test_switching_an_undelivered_subscription_converts_all_of_it(engine):
    factories.setup(engine)
    factories.package(engine, "Home 20M", rate="20M", price="3000")
    service = ActivationService(engine)  # the clock waits for delivery, which never came
    service.activate("jdoe", "Home 10M", now=T0)
    switched = service.activate(
        "jdoe", "Home 20M", change="switch_now", now=T0 + timedelta(days=10)
    )
    assert switched.converted == timedelta(days=15)  # 1500 of 3000 for 30 days


def test_the_quote_shows_both_choices_before_anything_is_written(engine):
    factories.setup(engine)
    factories.package(engine, "Home 20M", rate="20M", price="3000")
    service = ActivationService(engine, factories.clock_from_payment())
    service.activate("jdoe", "Home 10M", now=T0)
    assert service.quote("jdoe", "Home 10M", now=T0) is None  # a renewal is no change
    quote = service.quote("jdoe", "Home 20M", now=T0 + timedelta(days=20))
    assert (quote.remaining, quote.unused_value) == (timedelta(days=10), Decimal("500.00"))
    assert quote.after_current_starts == T0 + timedelta(days=30)
    assert quote.switch_expires == T0 + timedelta(days=20 + 30 + 5)
    assert count(engine, Payment) == 1


def test_an_overpayment_is_kept_as_credit(engine):
    factories.setup(engine)
    result = ActivationService(engine).activate(
        "jdoe", "Home 10M", amount=Decimal("1600"), method="cash", now=T0
    )
    assert result.outcome == "new" and result.credit == Decimal("100.00")
    with session_scope(engine) as session:
        assert session.scalars(select(Client)).one().credit == Decimal("100.00")


def test_a_renewal_withdraws_an_account_whose_subscription_ran_out_before_the_sweep(engine):
    factories.setup(engine)
    factories.package(engine, "Fibre 10M", type="pppoe", rate="10M", validity="1d", price="100")
    service = ActivationService(engine, factories.clock_from_payment())
    fibre = service.activate("jdoe", "Fibre 10M", method="cash", now=T0)
    home = service.activate("jdoe", "Home 10M", change="after_current", now=T0)
    with session_scope(engine) as session:  # both running at once, as an import can leave them
        session.get(Subscription, home.subscription_id).status = "active"
    renewed = service.activate("jdoe", "Home 10M", now=T0 + timedelta(days=2))
    assert renewed.outcome == "renewed" and renewed.withdrawn == (fibre.job_id,)
