"""Recovery of missed callbacks: STK Push Query for pushes left unanswered, Pull Transactions for
recent windows, and payments stored but not yet applied. Every path goes through the same store
and apply as a callback, so a payment recovered here and called back later is applied once."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from db.config import Settings
from db.errors import UserError
from db.models import MpesaStatus
from db.mpesa import (
    Applied,
    Invalid,
    MpesaSecrets,
    StkResult,
    apply,
    apply_received,
    expire_push,
    mpesa_secrets,
    parse_pulled,
    pushes_to_expire,
    pushes_to_query,
    store_c2b,
    store_stk_result,
)
from db.types import utcnow
from scheduler.mpesa.daraja import Credentials, DarajaClient, DarajaError

logger = logging.getLogger("wisp.mpesa")


class MpesaUnavailable(UserError):
    """M-Pesa cannot be used as configured (a credential missing, Daraja refusing)."""


def daraja_client(settings: Settings, secrets: MpesaSecrets | None = None) -> DarajaClient:
    """The Daraja client of the settings and the credentials from the environment."""
    secrets = secrets or mpesa_secrets()
    missing = secrets.missing("consumer_key", "consumer_secret", "passkey")
    if missing:
        raise MpesaUnavailable(
            f"M-Pesa needs {', '.join(missing)} in the environment or .env (see [mpesa] in "
            "config.example.toml)."
        )
    mpesa = settings.mpesa
    return DarajaClient(
        mpesa.base_url,
        mpesa.shortcode,
        Credentials(secrets.consumer_key, secrets.consumer_secret, secrets.passkey),
        till=mpesa.till if mpesa.type == "till" else None,
        timeout=mpesa.timeout,
    )


@dataclass
class Recovery:
    """What one recovery round found."""

    queried: int = 0
    answered: int = 0
    expired: int = 0
    pulled: int = 0
    new_from_pull: int = 0
    applied: list[Applied] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        done = sum(1 for a in self.applied if a.status == MpesaStatus.APPLIED)
        unmatched = sum(1 for a in self.applied if a.status == MpesaStatus.UNMATCHED)
        text = (
            f"{self.queried} push(es) queried, {self.answered} answered, {self.expired} "
            f"expired; {self.pulled} pulled, "
            f"{self.new_from_pull} of them new; {done} applied, {unmatched} unmatched"
        )
        return text + (f"; errors: {'; '.join(self.errors)}" if self.errors else "")


def query_pushes(
    engine: Engine,
    settings: Settings,
    client: DarajaClient,
    report: Recovery,
    *,
    older_than: timedelta | None = None,
) -> None:
    """Ask Daraja for the result of every push still pending `query_after` after it was made."""
    wait = older_than if older_than is not None else timedelta(seconds=settings.mpesa.query_after)
    give_up = timedelta(seconds=settings.mpesa.push_expiry)
    for row in pushes_to_query(engine, wait, give_up_after=give_up):
        query_push(engine, settings, client, str(row.checkout_request_id), report)


def expire_pushes(
    engine: Engine,
    settings: Settings,
    client: DarajaClient | None,
    report: Recovery,
    *,
    now: datetime | None = None,
) -> None:
    """Close as expired every push still unresolved `push_expiry` after it was made.

    Each is queried once more first: an answer is stored as any query's (a success is applied);
    Daraja refusing the query (it no longer knows the push) or still having no result closes
    it; Daraja out of reach leaves it for the next round.
    """
    for row in pushes_to_expire(engine, timedelta(seconds=settings.mpesa.push_expiry), now=now):
        why = "no callback, and no result from Daraja"
        if client is not None:
            answer = query_push(engine, settings, client, str(row.checkout_request_id), report)
            if answer == "answered" or answer == "unreachable":
                continue
            if answer == "refused":
                why = "no callback, and Daraja no longer knows the push"
        if expire_push(engine, int(row.id or 0), f"{why} after {_age(settings)}."):
            report.expired += 1


def _age(settings: Settings) -> str:
    seconds = settings.mpesa.push_expiry
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds / 60:g} min"


def query_push(
    engine: Engine, settings: Settings, client: DarajaClient, checkout: str, report: Recovery
) -> str:
    """One push's result by STK Push Query, stored and applied as its callback would be.

    The query tells whether the customer paid but not the receipt: a paid push is applied under
    its CheckoutRequestID, and a callback or pull arriving later only adds the receipt.
    Returns what the query found: answered, waiting (no result yet), refused (Daraja refused
    the query) or unreachable.
    """
    report.queried += 1
    try:
        status = client.stk_query(checkout)
    except DarajaError as error:
        report.errors.append(f"{checkout}: {error}")
        return "refused" if error.status and 400 <= error.status < 500 else "unreachable"
    if status.result_code is None:
        return "waiting"  # the customer has not answered yet
    report.answered += 1
    result = StkResult(
        checkout_request_id=checkout,
        merchant_request_id=str(status.raw.get("MerchantRequestID") or ""),
        result_code=status.result_code,
        result_desc=status.result_desc,
    )
    stored = store_stk_result(engine, result, status.raw, source="query")
    if stored.status == MpesaStatus.RECEIVED:
        report.applied.append(apply(engine, settings, stored.id))
    return "answered"


def pull(
    engine: Engine,
    settings: Settings,
    client: DarajaClient,
    report: Recovery,
    *,
    since: datetime,
    until: datetime | None = None,
) -> None:
    """Store and apply every transaction of the window that no callback brought."""
    try:
        items = client.pull(since, until or utcnow())
    except DarajaError as error:
        report.errors.append(f"pull: {error}")
        return
    shortcode = client.till or client.shortcode
    for item in items:
        report.pulled += 1
        try:
            payment = parse_pulled(item, shortcode)
        except Invalid as invalid:
            report.errors.append(f"pulled line skipped: {invalid}")
            continue
        stored = store_c2b(engine, payment, item, source="pull")
        if stored.fresh:
            report.new_from_pull += 1
        if stored.status == MpesaStatus.RECEIVED:
            report.applied.append(apply(engine, settings, stored.id))


def recover(
    engine: Engine,
    settings: Settings,
    client: DarajaClient | None,
    *,
    pull_since: datetime | None = None,
    query_older_than: timedelta | None = None,
) -> Recovery:
    """One round: apply what was stored and not applied, query pushes, pull a window."""
    report = Recovery()
    report.applied += apply_received(engine, settings)
    expire_pushes(engine, settings, client, report)
    if client is not None:
        query_pushes(engine, settings, client, report, older_than=query_older_than)
        if pull_since is not None:
            pull(engine, settings, client, report, since=pull_since)
    return report
