"""Expiry from our own clock: subscriptions past their end re-queue their accounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from db import queue
from db.activation import ActivationService
from db.delivery import mark_delivered
from db.engine import session_scope
from db.expiry import expire_due
from db.models import RouterProvisioning, Subscription
from tests import factories

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def complete_all(engine, at=T0) -> None:
    """Every account confirmed on its router at `at` (the delivery that starts the clock)."""
    with session_scope(engine) as session:
        session.execute(update(RouterProvisioning).values(status="completed"))
        ids = list(session.scalars(select(RouterProvisioning.id)))
        mark_delivered(session, ids, at)


def test_expired_subscription_requeues_its_account_to_deactivate(engine):
    factories.setup(engine)
    result = ActivationService(engine).activate("jdoe", "Home 10M", now=T0)
    complete_all(engine)
    assert expire_due(engine, now=T0 + timedelta(days=29)) == 0
    assert expire_due(engine, now=T0 + timedelta(days=30)) == 1
    with session_scope(engine) as session:
        assert session.get(Subscription, result.subscription_id).status == "expired"
        row = session.get(RouterProvisioning, result.job_id)
        assert (row.action, row.status) == ("deactivate", "pending")
        # A midnight's expiries are bulk work: a customer's payment is claimed before them.
        assert row.priority == queue.BULK


def test_a_payment_after_expiry_queues_the_account_as_urgent_again(engine):
    factories.setup(engine)
    first = ActivationService(engine).activate("jdoe", "Home 10M", now=T0)
    complete_all(engine)
    expire_due(engine, now=T0 + timedelta(days=30))
    ActivationService(engine).activate("jdoe", "Home 10M", now=T0 + timedelta(days=30))
    with session_scope(engine) as session:
        row = session.get(RouterProvisioning, first.job_id)
        assert (row.action, row.status, row.priority) == ("activate", "pending", queue.URGENT)


def test_expiry_is_idempotent(engine):
    factories.setup(engine)
    ActivationService(engine).activate("jdoe", "Home 10M", now=T0)
    complete_all(engine)
    later = T0 + timedelta(days=31)
    assert expire_due(engine, now=later) == 1
    complete_all(engine)
    assert expire_due(engine, now=later) == 0
    with session_scope(engine) as session:
        assert session.scalars(select(RouterProvisioning)).one().status == "completed"


def test_expiry_runs_in_batches_until_none_are_due(engine):
    factories.setup(engine)
    for i in range(7):
        factories.client(engine, f"c{i}")
        ActivationService(engine).activate(f"c{i}", "Home 10M", now=T0)
    complete_all(engine)
    assert expire_due(engine, now=T0 + timedelta(days=31), batch_size=3) == 7
    with session_scope(engine) as session:
        actions = session.scalars(select(RouterProvisioning.action)).all()
    assert actions == ["deactivate"] * 7


def test_expiry_action_remove_is_queued_when_configured(engine):
    factories.setup(engine)
    ActivationService(engine).activate("jdoe", "Home 10M", now=T0)
    complete_all(engine)
    expire_due(engine, now=T0 + timedelta(days=31), action="remove")
    with session_scope(engine) as session:
        assert session.scalars(select(RouterProvisioning.action)).one() == "remove"


def test_a_package_bought_after_the_current_one_starts_when_it_ends(engine):
    factories.setup(engine)
    factories.package(engine, "Home 20M", rate="20M")
    service = ActivationService(engine)
    first = service.activate("jdoe", "Home 10M", now=T0)
    complete_all(engine)
    later = service.activate("jdoe", "Home 20M", change="after_current", now=T0 + timedelta(days=2))
    assert expire_due(engine, now=T0 + timedelta(days=30, seconds=20)) == 1
    with session_scope(engine) as session:
        following = session.get(Subscription, later.subscription_id)
        assert following.status == "active"
        assert following.start_date == T0 + timedelta(days=30)  # where the first one ended
        assert following.expires_on - following.start_date == timedelta(days=30)
        row = session.get(RouterProvisioning, first.job_id)
        assert (row.action, row.status, row.router_profile) == (
            "activate",
            "pending",
            "HOTSPOT_20M_PERSONAL",
        )


def test_a_clock_waiting_for_delivery_never_expires(engine):
    factories.setup(engine)
    result = ActivationService(engine).activate("jdoe", "Home 10M", now=T0)
    assert result.waits_for_delivery
    assert expire_due(engine, now=T0 + timedelta(days=90)) == 0
    complete_all(engine, at=T0 + timedelta(days=2))  # the router was away for two days
    with session_scope(engine) as session:
        subscription = session.get(Subscription, result.subscription_id)
        assert subscription.start_date == T0 + timedelta(days=2)
        assert subscription.expires_on == T0 + timedelta(days=32)
    assert expire_due(engine, now=T0 + timedelta(days=31)) == 0
    assert expire_due(engine, now=T0 + timedelta(days=32)) == 1


def test_a_payment_between_the_sweeps_read_and_its_write_keeps_the_subscription(
    engine, monkeypatch
):
    """The sweep read the subscription as due; a renewal commits before the sweep writes."""
    import db.expiry

    if engine.dialect.name == "sqlite":
        pytest.skip(
            "SQLite's sweep holds the write lock from its first read: no payment gets between"
        )
    factories.setup(engine)
    service = ActivationService(engine)
    first = service.activate("jdoe", "Home 10M", method="cash", now=T0)
    complete_all(engine)
    real_lock = db.expiry.lock_client
    renewed = []

    def renewal_lands_first(session, client_id):
        if not renewed:
            with session_scope(engine) as other:  # another process: the M-Pesa callback
                subscription = other.get(Subscription, first.subscription_id)
                subscription.expires_on = subscription.expires_on + timedelta(days=30)
            renewed.append(client_id)
        real_lock(session, client_id)

    monkeypatch.setattr(db.expiry, "lock_client", renewal_lands_first)
    assert expire_due(engine, now=T0 + timedelta(days=30, minutes=1)) == 0
    with session_scope(engine) as session:
        assert session.get(Subscription, first.subscription_id).status == "active"
        assert session.scalars(select(RouterProvisioning.action)).one() == "activate"
