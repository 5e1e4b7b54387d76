"""Suspend and resume: the paid time a client has left is kept, to the second, on every database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from db.activation import ActivationService
from db.catalog import Refused
from db.engine import session_scope
from db.expiry import expire_due
from db.models import RouterProvisioning, Subscription
from db.suspension import resume_client, suspend_client
from tests import factories

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def subscriptions(engine: Engine) -> list[Subscription]:
    with Session(engine) as session:
        return list(session.scalars(select(Subscription).order_by(col(Subscription.id))))


def account(engine: Engine) -> RouterProvisioning:
    with Session(engine) as session:
        return session.scalars(select(RouterProvisioning)).one()


@pytest.fixture
def paying(engine: Engine) -> Engine:
    """jdoe on Home 10M (30 days, clock from payment) since T0."""
    factories.setup(engine)
    ActivationService(engine, factories.clock_from_payment()).activate(
        "jdoe", "Home 10M", method="cash", now=T0
    )
    return engine


def test_a_suspension_stops_the_clock_and_resume_moves_the_expiry_by_the_time_it_stood(
    paying: Engine,
) -> None:
    with session_scope(paying) as session:
        done = suspend_client(session, "jdoe", now=T0 + DAY)
    assert done.subscriptions == [1] and done.accounts == [1]
    assert account(paying).action == "deactivate"
    assert expire_due(paying, now=T0 + 60 * DAY) == 0  # its clock stands: nothing is due
    (stopped,) = subscriptions(paying)
    assert stopped.status == "active" and stopped.paused_at == T0 + DAY
    with session_scope(paying) as session:
        back = resume_client(session, "jdoe", now=T0 + 11 * DAY)
    assert back.stood == 10 * DAY and back.accounts == [1]
    (running,) = subscriptions(paying)
    assert running.expires_on == T0 + 40 * DAY and running.paused_at is None
    assert running.paused_seconds == 10 * 86400
    bought = running.expires_on - running.start_date - timedelta(seconds=running.paused_seconds)
    assert bought == 30 * DAY  # paid equals granted
    assert account(paying).action == "activate" and account(paying).status == "pending"
    assert expire_due(paying, now=T0 + 40 * DAY - timedelta(seconds=1)) == 0
    assert expire_due(paying, now=T0 + 40 * DAY) == 1


def test_what_was_bought_to_follow_moves_with_it(paying: Engine) -> None:
    factories.package(paying, "Week", rate="5M", validity="7d", price="300")
    ActivationService(paying, factories.clock_from_payment()).activate(
        "jdoe", "Week", method="cash", change="after_current", now=T0
    )
    with session_scope(paying) as session:
        suspend_client(session, "jdoe", now=T0 + DAY)
    with session_scope(paying) as session:
        resume_client(session, "jdoe", now=T0 + 3 * DAY)
    current, following = subscriptions(paying)
    assert following.status == "scheduled"
    assert following.start_date == current.expires_on == T0 + 32 * DAY
    assert following.expires_on - following.start_date == 7 * DAY


def test_a_clock_that_waits_for_delivery_needs_no_move(engine: Engine) -> None:
    factories.setup(engine)
    ActivationService(engine).activate("jdoe", "Home 10M", method="cash", now=T0)
    with session_scope(engine) as session:
        suspend_client(session, "jdoe", now=T0 + DAY)
    with session_scope(engine) as session:
        back = resume_client(session, "jdoe", now=T0 + 5 * DAY)
    (waiting,) = subscriptions(engine)
    assert back.stood == timedelta() and waiting.paused_seconds == 0
    assert waiting.expires_on - waiting.start_date == 30 * DAY and waiting.delivered_at is None


def test_suspend_and_resume_refuse_in_one_sentence(paying: Engine) -> None:
    with session_scope(paying) as session, pytest.raises(Refused, match="not suspended"):
        resume_client(session, "jdoe", now=T0)
    with session_scope(paying) as session:
        suspend_client(session, "jdoe", now=T0)
    with session_scope(paying) as session, pytest.raises(Refused, match="already suspended"):
        suspend_client(session, "jdoe", now=T0)
    with pytest.raises(Refused, match="jdoe is suspended"):
        ActivationService(paying).activate("jdoe", "Home 10M", method="cash", now=T0)
