"""The activation modal's words: what a payment would buy before it is taken, what it bought after.

`preview` reads, before anything is written, what activating a client on a package would do: a new
subscription, a renewal (and its new expiry) or a change of package (the `Quote` of both choices).
`foreign_account_text` asks the package's router, within its connect timeout, whether the client's
username there is an account WISP Console did not create (the modal then asks before taking it
over). `result_text` says what an activation did, then what the router did with its job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from console.views.job_state import JobState
from db.activation import Activation, ActivationService, Bought, Quote
from db.catalog import get_client, get_package
from db.config import Settings
from db.localtime import describe
from db.models import JobStatus, Subscription, SubscriptionStatus
from db.shaping import add_validity, format_validity

CHANGE_CHOICES = ("after_current", "switch_now")
"""The choices of a package change, in the order the modal offers them."""

ADOPT_LABEL = "take over this router account, keeping its comment and limits"
"""The modal's box that lets an activation take over an account WISP Console did not create."""


@dataclass(frozen=True)
class Preview:
    """What activating `client` on `package` would do, read before anything is written."""

    client: str
    package: str
    price: Decimal
    validity: str
    starts_on_delivery: bool
    current_expires: datetime | None = None
    """The running subscription on the same package: when it ends now..."""
    renews_until: datetime | None = None
    """...and when it would end after this payment."""
    renewal_waits: timedelta | None = None
    """The running subscription's clock waits for delivery: all the time it would then have."""
    quote: Quote | None = None
    """Another package runs: what each choice would give."""


def preview(
    engine: Engine, settings: Settings, client: str, package: str, now: datetime
) -> Preview:
    """Read what a payment for `package` would buy `client` at `now`."""
    quote = ActivationService(engine, settings).quote(client, package, now=now)
    with Session(engine) as session:
        found = get_package(session, package)
        result = Preview(
            client=client,
            package=found.name,
            price=found.price,
            validity=format_validity(found.duration_length, found.duration_unit),
            starts_on_delivery=settings.activation.validity_starts == "delivery",
            quote=quote,
        )
        if quote is not None:
            return result
        running = session.scalars(
            select(Subscription)
            .where(
                col(Subscription.client_id) == get_client(session, client).id,
                col(Subscription.package_id) == found.id,
                col(Subscription.status) == SubscriptionStatus.ACTIVE,
                or_(
                    col(Subscription.expires_on) > now,
                    and_(
                        col(Subscription.starts_on_delivery),
                        col(Subscription.delivered_at).is_(None),
                    ),
                ),
            )
            .order_by(col(Subscription.expires_on).desc())
        ).first()
        if running is None:
            return result
        renewed = add_validity(running.expires_on, found.duration_length, found.duration_unit)
        waits = running.clock_waiting
        return Preview(
            client=result.client,
            package=result.package,
            price=result.price,
            validity=result.validity,
            starts_on_delivery=result.starts_on_delivery,
            current_expires=running.expires_on,
            renews_until=renewed,
            renewal_waits=renewed - running.start_date if waits else None,
        )


def foreign_account_text(
    engine: Engine, settings: Settings, client: str, package: str
) -> str | None:
    """Why activating `client` on `package` would take over a router account that is not ours.

    None when the router has no such account, when it is ours or already adopted, or when the
    router cannot be reached within its connect timeout (the engine checks again before it writes).
    This asks the router: call it off the UI thread.
    """
    from scheduler.engine.ownership import foreign_account

    with Session(engine) as session:
        found = get_package(session, package)
        username = get_client(session, client).username
        router_id, service = found.router_id, found.type
    if router_id is None:
        return None  # the activation itself names what is wrong
    sentence = foreign_account(settings, engine, router_id, service, username)
    return adopt_wording(sentence) if sentence else None


def adopt_wording(sentence: str) -> str:
    """The engine's sentence on an account that is not ours, offering the modal's box instead of
    the CLI's --adopt."""
    head = sentence.strip().removesuffix(".").removesuffix(", or pass --adopt")
    return f"{head[:1].upper()}{head[1:]}, or tick take over below."


def _at(moment: datetime | None, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M}" if moment else "-"


def preview_text(found: Preview, zone: ZoneInfo) -> str:
    """One sentence on what the payment would buy (for a change: what runs now and its worth)."""
    bought = f"{found.package}: {found.validity} for {found.price:,.2f}"
    quote = found.quote
    if quote is not None:
        return (
            f"{found.client} has {quote.current} until {_at(quote.current_expires, zone)} "
            f"({describe(quote.remaining)} left, worth {quote.unused_value:,.2f}). "
            f"Choose how {found.package} follows:"
        )
    if found.renewal_waits is not None:
        return (
            f"{bought}. {found.client} has it, not yet delivered to the router: renewed to "
            f"{describe(found.renewal_waits)} in all, from delivery."
        )
    if found.renews_until is not None:
        return (
            f"{bought}. {found.client} has it until {_at(found.current_expires, zone)}: "
            f"renewed until {_at(found.renews_until, zone)}."
        )
    clock = "starts when delivered to the router" if found.starts_on_delivery else "starts now"
    return f"{bought}. A new subscription for {found.client}; its clock {clock}."


def change_labels(quote: Quote, zone: ZoneInfo) -> tuple[str, str]:
    """The two choices of a package change, each with the dates it gives."""
    return (
        f"after current: from {_at(quote.after_current_starts, zone)} "
        f"to {_at(quote.after_current_expires, zone)}",
        f"switch now: until {_at(quote.switch_expires, zone)} "
        f"({describe(quote.switch_bonus)} converted)",
    )


def adopted_text(activation: Activation) -> str:
    """What taking over an account WISP Console did not create keeps."""
    return (
        f"{activation.client}'s router account, not created by WISP Console, is taken over: its "
        "comment text and the limits no package sets are kept."
    )


def bought_text(activation: Activation, zone: ZoneInfo) -> str:
    """What the payment bought, in one sentence."""
    who = activation.client
    if activation.outcome == "credit":
        return (
            f"{who}: the payment is kept as credit ({activation.credit:,.2f}); nothing is "
            f"activated until the credit reaches {activation.package}'s price."
        )
    if activation.outcome == Bought.SCHEDULED:
        return (
            f"{who} on {activation.package} from {_at(activation.starts_on, zone)} until "
            f"{_at(activation.expires_on, zone)}, after the current package; the router "
            "changes then."
        )
    verb = {"renewed": "renewed on", "switched": "switched now to"}.get(
        activation.outcome, "activated on"
    )
    if activation.waits_for_delivery and activation.starts_on and activation.expires_on:
        time = describe(activation.expires_on - activation.starts_on)
        until = (
            f": {time} in all" if activation.outcome == "renewed" else f" for {time}"
        ) + ", starting when delivered to the router"
    else:
        until = f" until {_at(activation.expires_on, zone)}"
    return f"{who} {verb} {activation.package}{until}."


def waiting_text(scheduler: str, resume_key: str = "p") -> str:
    """Why nothing is sending the job yet, when the console's scheduler is not running."""
    if scheduler == "running":
        return ""
    if scheduler == "paused":
        return f" (the scheduler is paused; back on the main screen, press {resume_key} to resume)"
    return f" (the scheduler here is {scheduler}: another process must drain)"


def job_text(
    job_id: int, state: JobState | None, scheduler: str, resume_key: str = "p"
) -> tuple[str, bool | None]:
    """Where the queued job stands: good news (True), bad (False) or not yet (None)."""
    head = f"Job {job_id}"
    if state is None:
        return f"{head} no longer exists.", False
    if state.status == JobStatus.COMPLETED:
        return f"{head} completed: the account is on router {state.router}.", True
    if state.status == JobStatus.FAILED:
        return f"{head} failed after {state.attempts} tries: {state.last_error}", False
    waiting = waiting_text(scheduler, resume_key)
    why = f" Last error: {state.last_error}" if state.last_error else ""
    return f"{head} {state.status}, waiting for router {state.router}{waiting}.{why}", None


def result_text(
    activation: Activation,
    state: JobState | None,
    scheduler: str,
    zone: ZoneInfo,
    *,
    adopted: bool = False,
    resume_key: str = "p",
) -> tuple[str, bool | None]:
    """The lines to show and whether it is good news (True), bad (False) or not yet (None).

    `state` is the queued job's (ignored when nothing was queued: a scheduled package or credit);
    `adopted`: the operator let the job take over a router account WISP Console did not create;
    `resume_key`: the key that resumes a paused scheduler.
    """
    lines = [bought_text(activation, zone)]
    ok: bool | None = True
    if activation.job_id is not None:
        line, ok = job_text(activation.job_id, state, scheduler, resume_key)
        lines.append(line)
        if adopted:
            lines.append(adopted_text(activation))
    if activation.converted:
        lines.append(
            f"The unused value of the old package became {describe(activation.converted)}."
        )
    if activation.withdrawn:
        jobs = ", ".join(str(job) for job in activation.withdrawn)
        lines.append(f"Old router account(s) queued to be withdrawn: job {jobs}.")
    if activation.credit and activation.outcome != "credit":
        lines.append(f"Credit left on {activation.client}: {activation.credit:,.2f}.")
    return "\n".join(lines), ok
