"""The activation modal's result line: what was queued, then what the router did with it."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from console.queries.job_state import JobState
from db.activation import Activation


def result_text(
    activation: Activation, state: JobState | None, scheduler: str, zone: ZoneInfo
) -> tuple[str, bool | None]:
    """The sentence to show and whether it is good news (True), bad (False) or not yet (None)."""
    verb = "renewed" if activation.renewed else "activated"
    until = (
        f" until {activation.expires_on.astimezone(zone):%Y-%m-%d %H:%M}"
        if activation.expires_on
        else ""
    )
    head = f"{activation.client} {verb} on {activation.package}{until}; job {activation.job_id}"
    if state is None:
        return f"{head} no longer exists.", False
    if state.status == "completed":
        return f"{head} completed: the account is on router {state.router}.", True
    if state.status == "failed":
        return f"{head} failed after {state.attempts} tries: {state.last_error}", False
    waiting = (
        ""
        if scheduler == "running"
        else f" (the scheduler here is {scheduler}: another process must drain)"
    )
    why = f" last error: {state.last_error}" if state.last_error else ""
    return f"{head} {state.status}, waiting for router {state.router}{waiting}.{why}", None
