"""Where one job stands, for the activation modal to follow it until the router has it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from db.models import J, JobStatus, R


@dataclass(frozen=True)
class JobState:
    """A job's status, attempts, last error and router."""

    job_id: int
    status: str
    attempts: int
    last_error: str | None
    router: str

    @property
    def settled(self) -> bool:
        """True once the job will not change without a new request (completed or failed)."""
        return self.status in (JobStatus.COMPLETED, JobStatus.FAILED)


def job_state(engine: Engine, job_id: int) -> JobState | None:
    """Read one job's state (None if it no longer exists)."""
    query = (
        select(J.c.id, J.c.status, J.c.attempts, J.c.last_error, R.c.name)
        .select_from(J.join(R, R.c.id == J.c.router_id))
        .where(J.c.id == job_id)
    )
    with Session(engine) as session:
        row = session.execute(query).first()
    return JobState(row[0], row[1], row[2], row[3], row[4]) if row else None
