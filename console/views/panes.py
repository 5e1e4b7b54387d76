"""The three panes of the main screen: packages, subscriptions and the provisioning queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.views.format import ago, due, expires_in, first_line, span
from console.views.matching import matching
from console.views.window import WINDOW, Row, Window
from db.models import (
    Action,
    C,
    J,
    JobStatus,
    P,
    R,
    S,
    SubscriptionStatus,
)
from db.shaping import format_validity


def _total(session: Session, query, table, filtered: bool) -> int:  # type: ignore[no-untyped-def]
    """Rows matching the pane's query; unfiltered, the table's own count (every row joins once)."""
    counted = query.subquery() if filtered else table
    return int(session.execute(select(func.count()).select_from(counted)).scalar_one())


def packages(session: Session, text: str = "", limit: int = WINDOW) -> Window:
    """Packages by name, with their rate-limit string and router profile."""
    query = select(
        P.c.id,
        P.c.name,
        P.c.type,
        P.c.price,
        P.c.duration_length,
        P.c.duration_unit,
        P.c.rate_limit,
        P.c.router_profile,
        R.c.name.label("router"),
    ).select_from(P.outerjoin(R, R.c.id == P.c.router_id))
    where = matching(text, P.c.name, P.c.type, P.c.router_profile, P.c.rate_limit, R.c.name)
    if where is not None:
        query = query.where(where)
    rows = [
        Row(
            key=r.name,
            cells=(
                r.name,
                r.type,
                f"{r.price:,.2f}",
                format_validity(r.duration_length, r.duration_unit),
                r.rate_limit,
                r.router_profile,
                r.router or "-",
            ),
        )
        for r in session.execute(query.order_by(P.c.name).limit(limit))
    ]
    return Window(
        rows, _total(session, query, P, where is not None) if len(rows) >= limit else len(rows)
    )


def account_state(sub_status: str, job_status: str | None, action: str | None) -> str:
    """What the router holds for a subscription, in the operator's words."""
    if job_status is None:
        return "not queued"
    if job_status == JobStatus.FAILED:
        return "failed: not on router"
    if job_status in (JobStatus.PENDING, JobStatus.PROCESSING):
        return "waiting for router"
    if action == Action.ACTIVATE:
        return "on router" if sub_status == SubscriptionStatus.ACTIVE else "still on router"
    return "disabled on router" if action == Action.DEACTIVATE else "removed from router"


def _account_status(state: str, sub_status: str) -> str:
    if state == "waiting for router":
        return "waiting"
    return "failed" if state.startswith("failed") else sub_status


def subscriptions(session: Session, now: datetime, text: str = "", limit: int = WINDOW) -> Window:
    """Subscriptions, newest first, with whether their account has reached the router."""
    query = select(
        S.c.id,
        C.c.username,
        P.c.name.label("package"),
        R.c.name.label("router"),
        S.c.status,
        S.c.start_date,
        S.c.expires_on,
        S.c.starts_on_delivery,
        S.c.delivered_at,
        J.c.status.label("job_status"),
        J.c.action,
    ).select_from(
        S.join(C, C.c.id == S.c.client_id)
        .join(P, P.c.id == S.c.package_id)
        .outerjoin(R, R.c.id == S.c.router_id)
        .outerjoin(J, J.c.id == S.c.provisioning_id)
    )
    where = matching(text, C.c.username, C.c.full_name, P.c.name, R.c.name, S.c.status)
    if where is not None:
        query = query.where(where)
    rows = []
    for r in session.execute(query.order_by(S.c.id.desc()).limit(limit)):
        state = account_state(r.status, r.job_status, r.action)
        rows.append(
            Row(
                key=str(r.id),
                cells=(
                    str(r.id),
                    r.username,
                    r.package,
                    state,
                    _expires(r, now),
                    r.status,
                    r.router or "-",
                ),
                status=_account_status(state, r.status),
            )
        )
    return Window(
        rows, _total(session, query, S, where is not None) if len(rows) >= limit else len(rows)
    )


def _expires(r: Any, now: datetime) -> str:
    """Time left; a clock waiting for delivery shows its whole length in brackets, not running."""
    if r.status == SubscriptionStatus.SCHEDULED:
        return "after current"
    if r.status != SubscriptionStatus.ACTIVE:
        return "-"
    if r.starts_on_delivery and r.delivered_at is None:
        return f"({span(r.expires_on - r.start_date)})"  # in brackets: not started yet
    return expires_in(r.expires_on, now)


def jobs(session: Session, now: datetime, text: str = "", limit: int = WINDOW) -> Window:
    """The provisioning queue, newest account first (ids are stable, so rows do not jump)."""
    query = select(
        J.c.id,
        J.c.router_username,
        R.c.name.label("router"),
        J.c.action,
        J.c.status,
        J.c.attempts,
        J.c.next_attempt_at,
        J.c.created_at,
        J.c.last_error,
    ).select_from(J.join(R, R.c.id == J.c.router_id))
    where = matching(
        text, J.c.router_username, R.c.name, J.c.action, J.c.status, J.c.service_type, J.c.id
    )
    if where is not None:
        query = query.where(where)
    rows = [
        Row(
            key=str(r.id),
            cells=(
                str(r.id),
                r.router_username,
                r.status,
                r.action,
                r.router,
                str(r.attempts),
                due(r.next_attempt_at, now) if r.status == JobStatus.PENDING else "-",
                ago(r.created_at, now),
                first_line(r.last_error),
            ),
            status=r.status,
        )
        for r in session.execute(query.order_by(J.c.id.desc()).limit(limit))
    ]
    return Window(
        rows, _total(session, query, J, where is not None) if len(rows) >= limit else len(rows)
    )
