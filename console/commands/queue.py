"""`wisp activate`, `wisp jobs`, `wisp retry`: the payment and provisioning side."""

from __future__ import annotations

import argparse
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from console.commands import common
from db import queue
from db.activation import ActivationService
from db.catalog import Refused
from db.models import JOB_STATUSES, Router, RouterProvisioning
from db.types import utcnow


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    activate = commands.add_parser(
        "activate", help="activate a client on a package (queues the router account)"
    )
    activate.add_argument("client", help="client username")
    activate.add_argument("package", help="package name")
    activate.add_argument(
        "--payment-ref", help="payment reference, e.g. the M-Pesa receipt (applied at most once)"
    )
    activate.add_argument("--amount", help="amount paid (default: the package price)")
    activate.add_argument(
        "--method", help="mpesa, cash, bank … (default: mpesa with a reference, else cash)"
    )
    activate.set_defaults(handler=run_activate)

    jobs = commands.add_parser("jobs", help="list the provisioning queue")
    jobs.add_argument("--status", choices=JOB_STATUSES)
    jobs.add_argument("--limit", type=int, default=200)
    common.add_json_flag(jobs)
    jobs.set_defaults(handler=run_jobs)

    retry = commands.add_parser(
        "retry", help="put a failed job (or every failed job) back in the queue"
    )
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("job", nargs="?", type=int, help="job id")
    which.add_argument("--failed", action="store_true", help="retry every failed job")
    retry.set_defaults(handler=run_retry)


def _amount(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise Refused(f"amount {text!r} is not a number.") from None
    if not amount.is_finite() or amount < 0:
        raise Refused(f"amount {text!r} must be zero or more.")
    return amount


def run_activate(args: argparse.Namespace) -> int:
    service = ActivationService(common.engine(args))
    result = service.activate(
        args.client, args.package, args.payment_ref, amount=_amount(args.amount), method=args.method
    )
    verb = "renewed" if result.renewed else "activated"
    until = common.local(args, result.expires_on)
    print(
        f"{result.client} {verb} on {result.package} until {until:%Y-%m-%d %H:%M %Z}; "
        f"router account queued as job {result.job_id}"
    )
    return 0


def job_row(
    args: argparse.Namespace, job: RouterProvisioning, routers: dict[int, str]
) -> dict[str, Any]:
    return {
        "id": job.id,
        "account": job.router_username,
        "router": routers.get(job.router_id, str(job.router_id)),
        "service": job.service_type,
        "action": job.action,
        "profile": job.router_profile,
        "status": job.status,
        "attempts": job.attempts,
        "next_attempt": common.local(args, job.next_attempt_at)
        if job.status == "pending"
        else None,
        "completed_at": common.local(args, job.completed_at),
        "updated_at": common.local(args, job.updated_at),
        "last_error": job.last_error,
    }


def run_jobs(args: argparse.Namespace) -> int:
    query = select(RouterProvisioning).order_by(RouterProvisioning.id.desc()).limit(args.limit)  # type: ignore[union-attr]
    if args.status:
        query = query.where(RouterProvisioning.status == args.status)  # type: ignore[arg-type]
    with common.session_for(args) as session:
        routers = dict(session.execute(select(col(Router.id), col(Router.name))).all())
        rows = [job_row(args, job, routers) for job in session.scalars(query)]
    common.print_rows(
        rows,
        ["id", "account", "router", "action", "status", "attempts", "next_attempt", "last_error"],
        as_json=args.json,
        empty="no jobs" + (f" with status {args.status}" if args.status else ""),
    )
    return 0


def run_retry(args: argparse.Namespace) -> int:
    with common.session_for(args) as session:
        if args.job is not None:
            job = session.get(RouterProvisioning, args.job)
            if job is None:
                raise Refused(f"there is no job {args.job}.")
            if job.status != "failed":
                raise Refused(
                    f"job {args.job} is {job.status}, not failed; only failed jobs are retried."
                )
        ids = queue.retry(session, args.job, now=utcnow())
    print(
        f"{len(ids)} job(s) back in the queue"
        + (f": {', '.join(map(str, ids))}" if 0 < len(ids) <= 20 else "")
    )
    return 0
