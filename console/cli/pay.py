"""`wisp pay ...` (M-Pesa payments) and `wisp sim-mpesa` (the Daraja simulator).

pay request   an STK Push to the client's phone for a package; --wait follows it to paid,
              cancelled or timed out, and on to the router
pay list      M-Pesa transactions, newest first
pay reconcile ask Daraja about unanswered pushes and pull recent transactions, then apply
pay register  register the C2B validation and confirmation URLs (and Pull) with Daraja
"""

from __future__ import annotations

import argparse
import time
from datetime import timedelta
from typing import Any

from console.cli import common
from console.cli.exits import Exit
from db.errors import UserError


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add sim-mpesa and the pay family."""
    from scheduler.mpesa_sim import cli

    sim = commands.add_parser(
        "sim-mpesa",
        help="run a simulated Daraja (M-Pesa API): STK Push, C2B, Pull Transactions",
        description="A Daraja API server for development, demos and tests: no sandbox needed.",
    )
    cli.configure_parser(sim)
    sim.set_defaults(handler=cli.run)

    pay = common.family(commands, "pay", "M-Pesa payments: STK Push requests, listing, recovery")

    request = pay.add_parser(
        "request", help="send an STK Push to the client's phone for a package's price"
    )
    request.add_argument("client", help="the client's username")
    request.add_argument("package", help="the package's name")
    request.add_argument("--phone", help="the phone to ask (default: the client's phone)")
    request.add_argument(
        "--wait",
        action="store_true",
        help="follow it: paid, cancelled or timed out, then the router job (exit 0 delivered, "
        "1 not paid, 5 paid but not delivered in time)",
    )
    request.add_argument(
        "--timeout",
        type=float,
        default=180.0,
        metavar="SECONDS",
        help="how long --wait follows it (default 180)",
    )
    request.set_defaults(handler=request_payment)

    listing = pay.add_parser("list", help="M-Pesa transactions, newest first")
    listing.add_argument(
        "--status", choices=["pending", "received", "applied", "unmatched", "failed", "expired"]
    )
    listing.add_argument("--since", metavar="WHEN", help="a date, a time, or a window like 24h")
    listing.add_argument("--limit", type=int, default=200, help="at most this many (200)")
    common.add_json_flag(listing)
    listing.set_defaults(handler=list_transactions)

    reconcile = pay.add_parser(
        "reconcile",
        help="query unanswered pushes and pull recent transactions from Daraja, then apply them",
    )
    reconcile.add_argument(
        "--since", default="24h", metavar="WINDOW", help="how far back to pull (default 24h)"
    )
    reconcile.add_argument(
        "--no-pull", action="store_true", help="only query pushes (Pull not registered)"
    )
    reconcile.set_defaults(handler=reconcile_payments)

    assign = pay.add_parser(
        "assign", help="give an unmatched payment to a client (and package), then apply it"
    )
    assign.add_argument("id", type=int, help="the M-Pesa transaction (see `wisp pay list`)")
    assign.add_argument("client", help="the client's username")
    assign.add_argument(
        "package", nargs="?", help="the package (default: the one its amount matches)"
    )
    assign.set_defaults(handler=assign_payment)

    urls = pay.add_parser(
        "register", help="register the C2B validation and confirmation URLs with Daraja"
    )
    urls.add_argument(
        "--pull",
        metavar="PHONE",
        help="also register Pull Transactions, with this nominated phone number",
    )
    urls.set_defaults(handler=register_urls)


def _client(args: argparse.Namespace) -> Any:
    from scheduler.mpesa.recovery import daraja_client

    return daraja_client(common.settings(args))


def _callback_urls(args: argparse.Namespace) -> dict[str, str]:
    from scheduler.mpesa.push import callback_urls_of

    return callback_urls_of(common.settings(args))


def _daraja_errors() -> Any:
    from scheduler.mpesa.daraja import DarajaError

    return DarajaError


def request_payment(args: argparse.Namespace) -> int:
    """`wisp pay request CLIENT PACKAGE`."""
    from scheduler.mpesa.push import push_order, send_push

    settings, engine = common.settings(args), common.engine(args)
    order = push_order(engine, args.client, args.package, args.phone)
    with _client(args) as daraja:
        sent = send_push(engine, settings, daraja, order)
        print(
            f"STK Push sent to {order.phone}: KES {order.amount:.0f} for {order.package} "
            f"({order.client}); M-Pesa transaction {sent.row_id}, CheckoutRequestID "
            f"{sent.checkout_request_id}.",
            flush=True,
        )
        if not args.wait:
            return 0
        return _follow(args, daraja, sent.row_id)


def _follow(args: argparse.Namespace, daraja: Any, row_id: int) -> int:
    """Wait for the push's result (asking Daraja once it is overdue), then for the router job."""
    from db.models import MpesaStatus
    from scheduler.mpesa.push import PushWatch, settled

    watch = PushWatch(common.engine(args), common.settings(args), daraja, row_id)
    deadline = watch.started + args.timeout
    print("waiting for the customer to answer on the phone...", flush=True)
    row = watch.look()
    while not settled(row):
        if time.monotonic() > deadline:
            print(f"no answer within {args.timeout:g} s; `wisp pay reconcile` asks Daraja again.")
            return Exit.ERROR
        time.sleep(0.3)
        row = watch.look()
    if row.status != MpesaStatus.APPLIED:
        unpaid = row.status in (MpesaStatus.FAILED, MpesaStatus.EXPIRED)
        print(f"not paid: {row.note}" if unpaid else f"paid, {row.note}")
        return Exit.ERROR
    receipt = row.receipt or "(receipt not yet known: the payment was confirmed by query)"
    print(f"paid: {row.amount} from {row.msisdn}, receipt {receipt}; {row.note}.")
    return _follow_job(args, row.client_id, row.package_id, deadline)


def _follow_job(
    args: argparse.Namespace, client_id: int | None, package_id: int | None, deadline: float
) -> int:
    from sqlmodel import Session

    from db.models import JobStatus, RouterProvisioning
    from scheduler.mpesa.push import delivery_job

    engine = common.engine(args)
    job = delivery_job(engine, client_id, package_id)
    if job is None:
        print("nothing to deliver to a router yet (held as credit or scheduled).")
        return 0
    print(f"router job {job.job_id} on {job.router}: waiting for delivery...", flush=True)
    while time.monotonic() < deadline:
        with Session(engine) as session:
            current = session.get(RouterProvisioning, job.job_id)
        if current is not None and current.status == JobStatus.COMPLETED:
            print(
                f"router job {job.job_id} completed: {current.router_username} is on {job.router}."
            )
            return 0
        if current is not None and current.status == JobStatus.FAILED:
            print(f"router job {job.job_id} failed: {current.last_error}")
            return Exit.HELD_OR_FAILED
        time.sleep(0.3)
    print(f"router job {job.job_id} is not delivered yet (is `wisp run` or the console running?).")
    return Exit.HELD_OR_FAILED


def list_transactions(args: argparse.Namespace) -> int:
    """`wisp pay list`."""
    from console.cli.reports import moment
    from db.mpesa import transactions
    from db.types import utcnow

    settings = common.settings(args)
    since = moment(args.since, settings.zone, utcnow(), "--since") if args.since else None
    rows = transactions(common.engine(args), status=args.status, since=since, limit=args.limit)
    shown = [
        {
            "id": row.id,
            "kind": row.kind,
            "origin": row.origin,
            "status": row.status,
            "receipt": row.receipt,
            "checkout_request_id": row.checkout_request_id,
            "phone": row.msisdn,
            "amount": row.amount,
            "account": row.bill_ref,
            "client": username,
            "package": package,
            "payment_id": row.payment_id,
            "source": row.source,
            "deliveries": row.deliveries,
            "time": common.local(args, row.transaction_time or row.created_at),
            "note": row.note,
        }
        for row, username, package in rows
    ]
    common.print_rows(
        shown,
        [
            "id",
            "kind",
            "status",
            "receipt",
            "phone",
            "amount",
            "account",
            "client",
            "package",
            "time",
            "note",
        ],
        as_json=args.json,
        empty="no M-Pesa transactions" + (f" with status {args.status}" if args.status else ""),
    )
    return 0


def reconcile_payments(args: argparse.Namespace) -> int:
    """`wisp pay reconcile [--since 24h]`."""
    from console.cli.reports import window_seconds
    from db.types import utcnow
    from scheduler.mpesa.recovery import recover

    since = utcnow() - timedelta(seconds=window_seconds(args.since, "--since"))
    with _client(args) as daraja:
        report = recover(
            common.engine(args),
            common.settings(args),
            daraja,
            pull_since=None if args.no_pull else since,
            query_older_than=timedelta(0),
        )
    print(f"reconciled: {report.summary()}.")
    return Exit.ERROR if report.errors else Exit.DONE


def assign_payment(args: argparse.Namespace) -> int:
    """`wisp pay assign ID CLIENT [PACKAGE]`."""
    from db.mpesa import assign

    done = assign(common.engine(args), common.settings(args), args.id, args.client, args.package)
    print(f"M-Pesa transaction {done.id}: {done.status}, {done.note}")
    return Exit.DONE if done.status == "applied" else Exit.ERROR


def register_urls(args: argparse.Namespace) -> int:
    """`wisp pay register [--pull PHONE]`."""
    urls = _callback_urls(args)
    with _client(args) as daraja:
        try:
            daraja.register_c2b(
                confirmation_url=urls["confirmation"], validation_url=urls["validation"]
            )
            print(f"C2B URLs registered for {daraja.till or daraja.shortcode}.")
            if args.pull:
                from db.mpesa import daraja_phone, normalise_msisdn

                phone = normalise_msisdn(args.pull)
                if phone is None:
                    raise UserError(f"--pull {args.pull!r} is not a Kenyan mobile number.")
                daraja.pull_register(
                    nominated_number="0" + daraja_phone(phone)[3:],
                    callback_url=urls["pull"],
                )
                print("Pull Transactions registered.")
        except _daraja_errors() as error:
            raise UserError(str(error)) from None
    return 0
