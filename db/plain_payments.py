"""Plain C2B payments applied set-wise: a handful of statements for a whole batch.

Most callbacks are the plain case: a paybill payment whose account number names one active client,
of exactly the price of the client's package (or, for a client with none yet, of the one package
at that price), that starts a subscription or renews the one running. `plan` finds those rows of a
batch with one query per table; `write` applies a run of them with one statement per table, and
leaves the database as `db.mpesa.apply` does row by row: the same payments, subscriptions, router
account rows, notes and log texts, in the same order (tests/mpesa/test_apply_batch.py holds the
two ways to each other).

Every other row (an STK push, an assigned or device-bound payment, a phone-matched till payment,
an amount that is not the price, a package change, a client named twice in the batch, a running
subscription past its end, an account the client no longer pays for, a repeated reference) is
left to `db.mpesa.apply`'s rules, and so is any row whose client has such a row in the batch.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, tuple_, update
from sqlmodel import Session

from db import logs, secrets, wakes
from db.accounts import queued_text
from db.config import Settings
from db.models import (
    Action,
    C,
    ClientStatus,
    J,
    JobStatus,
    M,
    MpesaStatus,
    P,
    Payment,
    PaymentStatus,
    S,
    SubscriptionStatus,
)
from db.shaping import add_validity
from db.validation import check_values

PAY: Table = Payment.__table__  # type: ignore[attr-defined]
CENT = Decimal("0.01")


@dataclass
class Plan:
    """What one plain row buys, as read when the batch was planned."""

    row_id: int
    reference: str
    amount: Decimal
    client: Any
    package: Any
    running: Any | None
    """The subscription it renews (None: it starts a new one)."""
    account: Any | None
    """The client's router account row for the package (None: a new one)."""


def plan(session: Session, settings: Settings, ids: list[int], now: datetime) -> dict[int, Plan]:
    """The rows of `ids` that are plain, each with what it buys; the others are not in it.

    The rows are locked as `db.mpesa.apply` locks them: the transaction rows, the clients, their
    active subscriptions and the router account rows the payments re-queue."""
    from db.mpesa import C2B, account_key

    counted = Counter(ids)
    rows = [
        r
        for r in session.execute(
            select(M).where(M.c.id.in_(set(ids))).with_for_update().order_by(M.c.id)
        )
        if counted[r.id] == 1
        and r.kind == C2B
        and r.status == MpesaStatus.RECEIVED
        and not r.device
        and not (r.client_id and r.package_id)
        and (r.payment_ref or r.receipt)
        and r.bill_ref
        and account_key(r.bill_ref)
        and r.amount is not None
    ]
    if not rows:
        return {}
    keys = {r.id: account_key(r.bill_ref) for r in rows}
    named: dict[str, list[int]] = {}
    key = func.lower(func.replace(C.c.username, " ", ""))
    for client_id, account in session.execute(
        select(C.c.id, key.label("account")).where(key.in_(set(keys.values())))
    ):
        named.setdefault(account, []).append(client_id)
    # A client named by two rows of the batch is applied row by row: the second sees the first.
    times = Counter(found[0] for k in keys.values() if len(found := named.get(k, [])) == 1)
    client_id_of = {
        r.id: found[0]
        for r in rows
        if len(found := named.get(keys[r.id], [])) == 1 and times[found[0]] == 1
    }
    if not client_id_of:
        return {}
    clients = {
        c.id: c
        for c in session.execute(
            select(C).where(C.c.id.in_(list(client_id_of.values()))).with_for_update()
        )
    }
    packages = {p.id: p for p in session.execute(select(P))}
    priced: dict[Decimal, list[Any]] = {}
    for offered in packages.values():
        priced.setdefault(offered.price, []).append(offered)
    latest: dict[int, Any] = {}
    for sub in session.execute(
        select(S.c.id, S.c.client_id, S.c.package_id, S.c.expires_on).where(
            S.c.client_id.in_(list(clients))
        )
    ):
        best = latest.get(sub.client_id)
        if best is None or (sub.expires_on, sub.id) > (best.expires_on, best.id):
            latest[sub.client_id] = sub
    running: dict[int, list[Any]] = {}
    for sub in session.execute(
        select(S)
        .where(S.c.client_id.in_(list(clients)), S.c.status == SubscriptionStatus.ACTIVE)
        .with_for_update()
    ):
        running.setdefault(sub.client_id, []).append(sub)
    enabled: dict[int, list[Any]] = {}
    for account in session.execute(
        select(J.c.client_id, J.c.router_id, J.c.service_type).where(
            J.c.client_id.in_(list(clients)), J.c.action == Action.ACTIVATE
        )
    ):
        enabled.setdefault(account.client_id, []).append(account)
    references = {r.id: (r.payment_ref or r.receipt).strip().upper() for r in rows}
    paid_before = set(
        session.scalars(
            select(PAY.c.reference).where(PAY.c.reference.in_(set(references.values())))
        )
    )

    chosen = []
    for r in rows:
        client = clients.get(client_id_of.get(r.id, -1))
        if client is None or client.status != ClientStatus.ACTIVE:
            continue
        amount = r.amount.quantize(CENT)
        last = latest.get(client.id)
        current = packages.get(last.package_id) if last is not None else None
        if current is not None:
            package = current if current.price == amount else None
        else:
            same_price = priced.get(amount, [])
            package = same_price[0] if len(same_price) == 1 else None
        if package is None or package.router_id is None:
            continue
        if references[r.id] in paid_before:
            continue
        subs = running.get(client.id, [])
        if len(subs) > 1 or any(s.expires_on <= now and not _waiting(s) for s in subs):
            continue  # several run, or one ran out unswept: the row-by-row rules settle it
        if subs and subs[0].package_id != package.id:
            continue  # a package change
        paid = (package.router_id, package.type)
        if any((a.router_id, a.service_type) != paid for a in enabled.get(client.id, [])):
            continue  # an account its money no longer pays for is withdrawn row by row
        chosen.append((r, client, package, subs[0] if subs else None))
    if not chosen:
        return {}
    wanted = {(p.router_id, p.type, c.username) for _, c, p, _ in chosen}
    accounts = {
        (a.router_id, a.service_type, a.router_username): a
        for a in session.execute(
            select(J)
            .where(tuple_(J.c.router_id, J.c.service_type, J.c.router_username).in_(wanted))
            .with_for_update()
        )
    }
    return {
        r.id: Plan(
            row_id=r.id,
            reference=references[r.id],
            amount=r.amount.quantize(CENT),
            client=client,
            package=package,
            running=sub,
            account=accounts.get((package.router_id, package.type, client.username)),
        )
        for r, client, package, sub in chosen
    }


def _waiting(subscription: Any) -> bool:
    return bool(subscription.starts_on_delivery and subscription.delivered_at is None)


def write(session: Session, settings: Settings, run: list[Plan], now: datetime) -> list[Any]:
    """Apply a run of planned rows, in their order; what each did (`db.mpesa.Applied`)."""
    from db.activation import Bought, extended_text, paid_text, started_text
    from db.mpesa import Applied

    zone = settings.zone
    methods = settings.activation.payment_methods
    method = "mpesa" if "mpesa" in methods else methods[0]
    on_delivery = settings.activation.validity_starts == "delivery"
    connection = session.connection()

    payments = [
        {
            "client_id": p.client.id,
            "package_id": p.package.id,
            "amount": p.amount,
            "method": method,
            "reference": p.reference,
            "status": PaymentStatus.COMPLETED,
            "subscription_id": None,
            "granted_seconds": None,
            "transaction_date": now,
            "created_at": now,
            "updated_at": now,
        }
        for p in run
    ]
    payment_ids = _inserted(connection, PAY, payments)

    # What each buys: from now for a new subscription, from its end for a renewal.
    spans = [
        (
            start := (now if p.running is None else p.running.expires_on),
            add_validity(start, p.package.duration_length, p.package.duration_unit),
        )
        for p in run
    ]
    fresh = [i for i, p in enumerate(run) if p.running is None]
    new_subscriptions = [
        {
            "client_id": run[i].client.id,
            "package_id": run[i].package.id,
            "router_id": run[i].package.router_id,
            "payment_id": payment_ids[i],
            "provisioning_id": None,
            "start_date": now,
            "expires_on": spans[i][1],
            "status": SubscriptionStatus.ACTIVE,
            "starts_on_delivery": on_delivery,
            "paused_seconds": 0,
            "created_at": now,
            "updated_at": now,
        }
        for i in fresh
    ]
    subscription_ids = dict(zip(fresh, _inserted(connection, S, new_subscriptions), strict=True))
    for i, p in enumerate(run):
        if p.running is not None:
            subscription_ids[i] = p.running.id

    # The router account rows: a new one for a client's first account, else re-queued.
    created = [i for i, p in enumerate(run) if p.account is None]
    new_accounts = [
        {
            "client_id": run[i].client.id,
            "router_id": run[i].package.router_id,
            "package_id": run[i].package.id,
            "subscription_id": subscription_ids[i],
            "service_type": run[i].package.type,
            "action": Action.ACTIVATE,
            "router_username": run[i].client.username,
            "router_password": secrets.encrypt(secrets.generate_password()),
            "router_profile": run[i].package.router_profile,
            "adopt": False,
            "status": JobStatus.PENDING,
            "priority": 0,
            "attempts": 0,
            "revision": 1,
            "last_error": None,
            "next_attempt_at": now,
            "completed_at": None,
            "created_at": now,
            "updated_at": now,
        }
        for i in created
    ]
    account_ids = dict(zip(created, _inserted(connection, J, new_accounts), strict=True))
    revisions = dict.fromkeys(created, 1)
    requeued = []
    for i, p in enumerate(run):
        a = p.account
        if a is None:
            continue
        account_ids[i], revisions[i] = a.id, a.revision + 1
        requeued.append(
            {
                "b_id": a.id,
                "action": Action.ACTIVATE,
                "adopt": bool(a.adopt),
                "router_profile": p.package.router_profile or a.router_profile,
                "router_password": a.router_password
                or secrets.encrypt(secrets.generate_password()),
                "client_id": p.client.id,
                "package_id": p.package.id,
                "subscription_id": subscription_ids[i],
                "revision": a.revision + 1,
                "priority": 0,
                "status": a.status if a.status == JobStatus.PROCESSING else JobStatus.PENDING,
                "attempts": 0,
                "last_error": None,
                "next_attempt_at": now,
                "completed_at": None,
                "updated_at": now,
            }
        )
    if requeued:
        connection.execute(_by_id(J, requeued[0]), requeued)
    wakes.jobs_queued(session)

    linked = [
        {
            "b_id": subscription_ids[i],
            "provisioning_id": account_ids[i],
            "expires_on": spans[i][1],
            "payment_id": payment_ids[i],
            "updated_at": now,
        }
        for i in range(len(run))
    ]
    connection.execute(_by_id(S, linked[0]), linked)
    granted = [
        {
            "b_id": payment_ids[i],
            "subscription_id": subscription_ids[i],
            "granted_seconds": int((end - start).total_seconds()),
            "updated_at": now,
        }
        for i, (start, end) in enumerate(spans)
    ]
    connection.execute(_by_id(PAY, granted[0]), granted)

    done = []
    finished = []
    for i, p in enumerate(run):
        client, package = p.client, p.package
        credit = (client.credit or Decimal("0")).quantize(CENT) + p.amount - package.price
        logs.info(
            session,
            "Payment",
            paid_text(p.amount, method, p.reference, client.username, package.name, credit),
            {
                "payment_id": payment_ids[i],
                "reference": p.reference,
                "amount": str(p.amount),
                "credit": str(credit),
            },
            client_id=client.id,
        )
        if p.running is not None:
            outcome = Bought.RENEWED
            logs.info(
                session,
                "Subscription",
                extended_text(
                    p.running.id, p.running.status, client.username, package, spans[i][1], zone
                ),
                {"subscription_id": p.running.id},
                client_id=client.id,
            )
        else:
            outcome = Bought.NEW
            logs.info(
                session,
                "Subscription",
                started_text(
                    subscription_ids[i],
                    SubscriptionStatus.ACTIVE,
                    client.username,
                    package.name,
                    spans[i],
                    on_delivery,
                    zone,
                ),
                {"subscription_id": subscription_ids[i], "package_id": package.id},
                client_id=client.id,
            )
        logs.info(
            session,
            "Activation",
            queued_text(client.username, package, account_ids[i], revisions[i], adopt=None),
            {
                "job_id": account_ids[i],
                "router_id": package.router_id,
                "profile": package.router_profile,
            },
            client_id=client.id,
            provisioning_id=account_ids[i],
        )
        note = f"{outcome}: {client.username} on {package.name}" + (
            f", credit {credit}" if credit else ""
        )
        finished.append(
            {
                "b_id": p.row_id,
                "status": MpesaStatus.APPLIED,
                "note": note,
                "client_id": client.id,
                "package_id": package.id,
                "payment_id": payment_ids[i],
                "applied_at": now,
                "updated_at": now,
            }
        )
        done.append(
            Applied(
                p.row_id,
                MpesaStatus.APPLIED,
                note,
                str(outcome),
                payment_ids[i],
                account_ids[i],
            )
        )
    connection.execute(_by_id(M, finished[0]), finished)
    return done


def _inserted(connection: Any, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert `rows` in their order (one statement); their ids in the same order."""
    if not rows:
        return []
    for row in rows:
        check_values(table, row)
    result = connection.execute(
        insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
    )
    return [int(row_id) for row_id in result.scalars()]


def _by_id(table: Table, sample: dict[str, Any]) -> Any:
    """UPDATE `table` by id (`b_id`) setting the columns of `sample`, for executemany."""
    return (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values({k: bindparam(k) for k in sample if k != "b_id"})
    )
