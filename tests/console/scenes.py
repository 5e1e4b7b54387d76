"""Data for the console's tests at fixed times: a failed job with a long error and a long history,
three routers of which one is down."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine

from db.engine import session_scope
from db.models import J, Router, SystemLog
from tests import factories
from tests.console.conftest import FIXED_NOW

LONG_ERROR = (
    "failure: could not add user (out of licence slots): the router holds 250 hotspot users "
    "and its level 4 licence allows 200; remove unused users or upgrade the licence.\n"
    "second line of the router's answer"
)
DOWN = "router eldoret (10.0.0.9:8728) refused the connection: the API service is off"


def fail_with_history(engine: Engine, job_id: int, entries: int = 20) -> None:
    """Job `job_id` failed for good with LONG_ERROR after `entries` refused attempts (fixed times)."""
    with session_scope(engine) as session:
        for index in range(entries):
            session.add(
                SystemLog(
                    level="WARNING",
                    type="Router",
                    message=f"Activate of job {job_id}: attempt {index + 1} refused by the router",
                    provisioning_id=job_id,
                    created_at=FIXED_NOW - timedelta(minutes=entries - index),
                )
            )
        session.add(
            SystemLog(
                level="ERROR",
                type="Router",
                message=f"Activate of job {job_id} failed for good",
                provisioning_id=job_id,
                created_at=FIXED_NOW,
            )
        )
        session.execute(
            update(J)
            .where(J.c.id == job_id)
            .values(
                status="failed",
                attempts=entries,
                last_error=LONG_ERROR,
                updated_at=FIXED_NOW,
                next_attempt_at=FIXED_NOW,
            )
        )


def three_routers_one_down(engine: Engine) -> None:
    """r1 and kisumu up, eldoret down with a long reason."""
    factories.router(engine, "eldoret", port=1)
    factories.router(engine, "kisumu", port=2)
    with session_scope(engine) as session:
        session.execute(update(Router).values(health="up", last_error=None))
        session.execute(
            update(Router).where(Router.name == "eldoret").values(health="down", last_error=DOWN)  # type: ignore[arg-type]
        )
