"""`wisp activate`, `wisp jobs`, `wisp retry`: the payment and provisioning side."""

from __future__ import annotations

import argparse
import sqlite3
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from console.cli import common
from console.cli.exits import UsageError
from db.errors import UserError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from db.activation import Activation
    from db.config import Settings

STATUSES = ("pending", "processing", "completed", "failed")
"""db.models.JOB_STATUSES, written out so that building the parser loads no database library
(tests/cli/test_light_imports.py checks that they agree)."""


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    activate = common.command(
        commands,
        "activate",
        run_activate,
        "activate a client on a package (queues the router account)",
        ("client", "client username"),
        ("package", "package name"),
        description="Record a payment and activate the client on the package: a new "
        "subscription, or one more validity on the running one. Exit code 3 when the payment "
        "reference was applied before.",
    )
    activate.add_argument(
        "--payment-ref", help="payment reference, e.g. the M-Pesa receipt (applied at most once)"
    )
    activate.add_argument("--amount", help="amount paid (default: the package price)")
    common.flag(
        activate,
        "--partial",
        "an amount below the price is kept as credit until it reaches a price",
    )
    activate.add_argument(
        "--method",
        help="how it was paid, one of activation.payment_methods (default with a reference: mpesa);"
        " a payment without a reference must name its method, e.g. --method cash",
    )
    change = activate.add_mutually_exclusive_group()
    change.add_argument(
        "--after-current",
        dest="change",
        action="store_const",
        const="after_current",
        help="another package while one runs: start it when the current one ends",
    )
    change.add_argument(
        "--switch-now",
        dest="change",
        action="store_const",
        const="switch_now",
        help="another package while one runs: switch now, the unused value converted to time",
    )
    common.flag(
        activate,
        "--adopt",
        "take over a router account of that name that WISP Console did not create",
    )

    jobs = common.command(commands, "jobs", run_jobs, "list the provisioning queue")
    jobs.add_argument("--status", choices=list(STATUSES))
    jobs.add_argument("--limit", type=int, default=200)

    retry = common.command(
        commands, "retry", run_retry, "put a failed job (or every failed job) back in the queue"
    )
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("job", nargs="?", type=int, help="job id")
    common.flag(which, "--failed", "retry every failed job")


def _amount(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise UsageError(f"amount {text!r} is not a number.") from None
    if not amount.is_finite() or amount < 0:
        raise UsageError(f"amount {text!r} must be zero or more.")
    return amount


def run_activate(args: argparse.Namespace) -> int:
    from db.activation import ActivationService

    if not (args.payment_ref or "").strip() and not args.method:
        raise UsageError(
            "a payment without a reference must name its method: pass the M-Pesa receipt with "
            "--payment-ref, or --method cash (or bank, ...)."
        )
    settings = common.settings(args)
    engine = common.engine(args)
    if not args.adopt:
        refuse_foreign_account(settings, engine, args.client, args.package)
    result = ActivationService(engine, settings).activate(
        args.client,
        args.package,
        args.payment_ref,
        amount=_amount(args.amount),
        method=args.method,
        change=args.change,
        partial=args.partial,
        adopt=args.adopt,
    )
    if args.json:
        common.print_json(activation_row(args, result))
        return 0
    for line in activation_lines(args, result):
        print(line)
    if args.adopt and result.job_id is not None:
        print(
            f"{result.client}: an existing router account of that name, not created by WISP "
            "Console, is taken over (its comment text and the limits no package sets are kept)"
        )
    return 0


def refuse_foreign_account(settings: Settings, engine: Engine, client: str, package: str) -> None:
    """Refuse, before anything is written, to take over a router account that is not ours."""
    from sqlalchemy import select
    from sqlmodel import Session, col

    from db.catalog import Refused
    from db.models import Package
    from scheduler.engine.ownership import foreign_account

    with Session(engine) as session:
        found = session.execute(
            select(col(Package.router_id), col(Package.type)).where(col(Package.name) == package)
        ).first()
    if found is None or found[0] is None:
        return  # the activation itself names what is wrong
    sentence = foreign_account(settings, engine, found[0], found[1], client.strip())
    if sentence:
        raise Refused(sentence)


def activation_row(args: argparse.Namespace, result: Activation) -> dict[str, Any]:
    """What an activation did, typed for scripts."""
    return {
        "client": result.client,
        "package": result.package,
        "outcome": result.outcome,
        "subscription": result.subscription_id,
        "payment": result.payment_id,
        "job": result.job_id,
        "start": common.local(args, result.starts_on),
        "expires_on": common.local(args, result.expires_on),
        "waits_for_delivery": result.waits_for_delivery,
        "credit": result.credit,
        "withdrawn": list(result.withdrawn),
        "converted": common.Seconds(result.converted.total_seconds()) if result.converted else None,
    }


def activation_lines(args: argparse.Namespace, result: Activation) -> list[str]:
    """What an activation did, in an operator's words."""
    from db.activation import Bought
    from db.localtime import describe

    def when(value: datetime | None) -> str:
        return common.shown_time(args, value)

    who = f"{result.client} on {result.package}"
    if result.outcome == "credit":
        return [f"{result.client}: payment kept as credit ({result.credit}); nothing activated yet"]
    if result.outcome == Bought.SCHEDULED:
        lines = [
            f"{who} from {when(result.starts_on)} until {when(result.expires_on)}, "
            "when the current package ends; the router changes then"
        ]
    else:
        verb = {"renewed": "renewed", "switched": "switched now", "requeued": "re-queued"}.get(
            result.outcome, "activated"
        )
        until = (
            f"for {describe(result.expires_on - result.starts_on)} from delivery on the router"
            if result.waits_for_delivery and result.expires_on and result.starts_on
            else f"until {when(result.expires_on)}"
        )
        lines = [f"{who} {verb} {until}; router account queued as job {result.job_id}"]
    if result.converted:
        lines.append(f"the unused value of the old package became {describe(result.converted)}")
    if result.withdrawn:
        lines.append(
            "old router account(s) queued to be withdrawn: job "
            + ", ".join(str(job) for job in result.withdrawn)
        )
    if result.credit:
        lines.append(f"credit left on {result.client}: {result.credit}")
    return lines


QUEUE = """
SELECT j.id, j.router_username, j.status, j.action, r.name AS router, j.router_id, j.attempts,
       j.next_attempt_at, j.last_error, j.service_type, j.router_profile, j.created_at,
       j.completed_at, j.updated_at
FROM router_provisionings j LEFT JOIN routers r ON r.id = j.router_id
{where}ORDER BY j.id DESC LIMIT :limit
"""
"""The newest jobs, in plain SQL: run by sqlite3 on a plain SQLite file (db.sqlite_read), else by
SQLAlchemy."""


def job_row(args: argparse.Namespace, job: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A job as the console's queue pane shows it (the same names), and the rest of its fields."""
    from db.sqlite_read import utc
    from db.states import JobStatus

    created = utc(job["created_at"])
    return {
        "job": job["id"],
        "account": job["router_username"],
        "status": job["status"],
        "action": job["action"],
        "router": job["router"] or str(job["router_id"]),
        "tries": job["attempts"],
        "next_try": common.local(args, utc(job["next_attempt_at"]))
        if job["status"] == JobStatus.PENDING
        else None,
        "age": common.Seconds(max((now - created).total_seconds(), 0) if created else 0),
        "last_error": job["last_error"],
        "service": job["service_type"],
        "profile": job["router_profile"],
        "created_at": common.local(args, created),
        "completed_at": common.local(args, utc(job["completed_at"])),
        "updated_at": common.local(args, utc(job["updated_at"])),
    }


def queue_rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The newest `--limit` jobs (of `--status`), each as its columns by name.

    On a plain SQLite file at this version's schema, read with sqlite3 alone (db.sqlite_read):
    the command then takes about a third of the time it takes with SQLAlchemy loaded.
    """
    from db.keycheck import check_samples
    from db.sqlite_read import connect_current, scalar

    sql = QUEUE.format(where="WHERE j.status = :status " if args.status else "")
    params: dict[str, object] = {"limit": args.limit, "status": args.status}
    connection = connect_current(*common.database_url_and_folder(args))
    if connection is not None:
        try:
            check_samples(lambda sample: scalar(connection, sample))
            cursor = connection.execute(sql, params)
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor]
        except sqlite3.Error as error:  # told as SQLAlchemy's OperationalError is (common.fail)
            reason = str(error).strip().splitlines()[0]
            raise UserError(f"the database cannot be used: {reason}") from None
        finally:
            connection.close()
    from sqlalchemy import text

    with common.engine(args).connect() as db:
        return [dict(row._mapping) for row in db.execute(text(sql), params)]


def run_jobs(args: argparse.Namespace) -> int:
    from db.localtime import utcnow

    now = utcnow()
    rows = [job_row(args, job, now) for job in queue_rows(args)]
    common.print_rows(
        rows,
        ["job", "account", "status", "action", "router", "tries", "next_try", "age", "last_error"],
        as_json=args.json,
        empty="no jobs" + (f" with status {args.status}" if args.status else ""),
    )
    return 0


def run_retry(args: argparse.Namespace) -> int:
    from db import queue
    from db.catalog import Refused
    from db.models import JobStatus, RouterProvisioning
    from db.types import utcnow

    with common.session_for(args) as session:
        if args.job is not None:
            job = session.get(RouterProvisioning, args.job)
            if job is None:
                raise Refused(f"there is no job {args.job}.")
            if job.status != JobStatus.FAILED:
                raise Refused(
                    f"job {args.job} is {job.status}, not failed; only failed jobs are retried."
                )
        ids = queue.retry(session, args.job, now=utcnow())
    if args.json:
        common.print_json({"retried": ids})
        return 0
    print(
        f"{len(ids)} job(s) back in the queue"
        + (f": {', '.join(map(str, ids))}" if 0 < len(ids) <= 20 else "")
    )
    return 0
