"""`wisp voucher generate|batches|list|print|revoke|redeem` and `wisp report sales`.

A voucher is a hotspot user whose clock starts at its first login (db.vouchers); its batch is
printed as cards with a QR code that logs in on the hotspot (console.printing).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path

from console.cli import common
from console.cli.exits import UsageError
from console.cli.reports import moment

MODES = ("code", "user-pass")
"""db.models.VoucherMode's values; STATES: VoucherState's. Written out so that building the parser
loads no database library (tests/cli/test_light_imports.py checks that they agree)."""
STATES = ("unused", "in use", "expired", "revoked")
FORMATS = ("pdf", "html")
LAYOUTS = ("a4-36", "thermal-58", "thermal-80")
PREVIEW = 5
"""Codes shown after `generate`: enough to check the shape before printing."""


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    actions = common.family(commands, "voucher", "hotspot vouchers: batches to print and sell")
    generate = common.command(
        actions,
        "generate",
        run_generate,
        "make a batch of vouchers for a hotspot package and queue them to its router",
        ("package", "the hotspot package each voucher sells"),
        description="Each voucher becomes a hotspot user on the package's router, queued behind "
        "customers' accounts; its clock starts at its first login and runs for the package's "
        "validity.",
    )
    generate.add_argument("--count", type=int, required=True, help="how many (up to 20,000)")
    generate.add_argument("--prefix", default="", help="letters or digits every code starts with")
    generate.add_argument(
        "--length", type=int, default=6, help="symbols after the prefix (4 to 16, default 6)"
    )
    generate.add_argument(
        "--mode",
        choices=list(MODES),
        default=MODES[0],
        help="code: the code is user and password (default); user-pass: a code and a PIN",
    )
    generate.add_argument("--note", help="a word for the batch (shop, agent), on the router too")

    common.command(actions, "batches", run_batches, "list batches with their vouchers by state")

    listing = common.command(actions, "list", run_list, "list vouchers, oldest first")
    listing.add_argument("--batch", help="one batch (B12 or 12)")
    listing.add_argument("--state", choices=list(STATES), help="only vouchers in this state")
    common.flag(listing, "--passwords", "show user-pass passwords (they are secrets)")

    printing = common.command(
        actions,
        "print",
        run_print,
        "write a batch's unused vouchers as cards to print (PDF or HTML)",
        ("batch", "the batch (B12 or 12)"),
        json=False,
    )
    printing.add_argument("--format", choices=FORMATS, default="pdf", help="pdf (default) or html")
    printing.add_argument(
        "--layout", choices=LAYOUTS, default="a4-36", help="A4 sheet of 36, or a 58/80 mm roll"
    )
    printing.add_argument(
        "--output", metavar="FILE", help="default: BATCH.pdf or BATCH.html; - for stdout"
    )
    printing.add_argument(
        "--dns-name",
        help="the hotspot's DNS name the QR codes log in at (default: [vouchers] hotspot_dns, "
        "else the router's hotspot profile)",
    )

    revoke = common.command(
        actions,
        "revoke",
        run_revoke,
        "withdraw unused vouchers: one code, or every unused one of --batch",
    )
    revoke.add_argument("code", nargs="?", help="the voucher's code")
    revoke.add_argument("--batch", help="every unused voucher of this batch")

    common.command(
        actions,
        "redeem",
        run_redeem,
        "give an unused voucher's package to a client (the code's own user is removed)",
        ("code", "the voucher's code"),
        ("client", "the client's username"),
    )

    reports = common.family(commands, "report", "business reports")
    sales = common.command(
        reports,
        "sales",
        run_sales,
        "vouchers sold (first logged in) by day, batch, package and router, with their value",
    )
    sales.add_argument("--from", dest="start", metavar="WHEN", help="a date, time or 7d back")
    sales.add_argument("--to", dest="end", metavar="WHEN", help="a date or time (default: now)")


def operator_name() -> str:
    """Who made the batch: the login name of the person running the command."""
    try:
        return os.environ.get("SUDO_USER") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def run_generate(args: argparse.Namespace) -> int:
    from db import vouchers
    from db.voucher_codes import check_length, check_prefix

    prefix = args.prefix.strip().upper()
    if not 1 <= args.count <= vouchers.MAX_BATCH:
        raise UsageError(f"--count must be from 1 to {vouchers.MAX_BATCH:,}, not {args.count}.")
    try:
        check_length(args.length)
        check_prefix(prefix)
    except ValueError as error:
        raise UsageError(str(error)) from None
    made = vouchers.generate(
        common.engine(args),
        package=args.package,
        count=args.count,
        created_by=operator_name(),
        prefix=prefix,
        length=args.length,
        mode=args.mode,
        note=args.note,
    )
    total = made.price * made.count
    common.say(
        args,
        {
            "batch": made.name,
            "package": made.package,
            "router": made.router,
            "count": made.count,
            "price": made.price,
            "value": total,
            "validity_seconds": made.validity_seconds,
            "mode": made.mode,
            "codes": made.codes,
        },
        f"batch {made.name}: {made.count:,} voucher(s) of {made.package} at {made.price} each "
        f"({total} in all), queued for router {made.router}.",
        "first codes: " + ", ".join(made.codes[:PREVIEW]) + (" …" if made.count > PREVIEW else ""),
        f"`wisp voucher batches` shows how many reached the router; "
        f"`wisp voucher print {made.name}` writes the cards.",
    )
    return 0


def run_batches(args: argparse.Namespace) -> int:
    from db import vouchers

    rows = vouchers.batches(common.engine(args))
    for row in rows:
        row["created_at"] = common.local(args, row["created_at"])
    common.print_rows(
        rows,
        ["batch", "package", "router", "count", "on_router", "unused", "in_use", "expired"]
        + ["revoked", "sold_value", "note"],
        as_json=args.json,
        empty="no voucher batches yet; make one with `wisp voucher generate PACKAGE --count N`.",
    )
    return 0


def run_list(args: argparse.Namespace) -> int:
    from db import secrets, vouchers

    rows = vouchers.vouchers(common.engine(args), batch=args.batch, state=args.state)
    for row in rows:
        encrypted = row.pop("password")
        if args.passwords and encrypted:
            row["password"] = secrets.decrypt(encrypted)
        row["first_login"] = common.local(args, row["first_login"])
        row["expires"] = common.local(args, row["expires"])
    columns = ["code", "batch", "package", "state", "first_login", "expires", "on_router"]
    common.print_rows(
        rows,
        columns + (["password"] if args.passwords else []),
        as_json=args.json,
        empty="no vouchers" + (f" in state {args.state}" if args.state else "") + ".",
    )
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    from db import vouchers

    if bool(args.code) == bool(args.batch):
        raise UsageError("give a voucher's code or --batch B, not both and not neither.")
    result = vouchers.revoke(common.engine(args), code=args.code, batch=args.batch)
    kept = [f"{code} ({state})" for code, state in sorted(result.kept.items())]
    common.say(
        args,
        {"revoked": result.revoked, "kept": result.kept},
        f"revoked {len(result.revoked)} unused voucher(s); their router users are queued for "
        "removal.",
        *(
            ["left as they are (only unused vouchers are revoked): " + ", ".join(kept)]
            if kept
            else []
        ),
    )
    return 0


def run_redeem(args: argparse.Namespace) -> int:
    from db import vouchers

    done = vouchers.redeem(
        common.engine(args), args.code, args.client, settings=common.settings(args)
    )
    expires = common.local(args, done.expires_on)
    common.say(
        args,
        {
            "code": args.code.strip().upper(),
            "client": done.client,
            "package": done.package,
            "subscription": done.subscription_id,
            "job": done.job_id,
            "expires_on": expires,
        },
        f"voucher {args.code.strip().upper()} redeemed onto {done.client}: {done.package}"
        + (f" until {expires:%Y-%m-%d %H:%M %Z}" if expires else "")
        + "; the code's own router user is queued for removal.",
    )
    return 0


def run_sales(args: argparse.Namespace) -> int:
    from db import vouchers
    from db.types import utcnow

    settings = common.settings(args)
    now = utcnow()
    start = (
        moment(args.start, settings.zone, now, "--from")
        if args.start
        else datetime.combine(now.astimezone(settings.zone).date(), datetime.min.time()).replace(
            tzinfo=settings.zone
        )
        - timedelta(days=6)
    )
    end = moment(args.end, settings.zone, now, "--to") if args.end else now
    if end <= start:
        raise UsageError("--to must be after --from.")
    rows = vouchers.sales(common.engine(args), start=start, end=end, zone=settings.zone)
    if args.json:
        common.print_json(rows)
        return 0
    if not rows:
        print(f"no vouchers first used from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M %Z}.")
        return 0
    common.print_table(rows, ["day", "batch", "package", "router", "vouchers", "value"])
    count = sum(row["vouchers"] for row in rows)
    value = sum(row["value"] for row in rows)
    print(f"total: {count:,} voucher(s), {value}")
    return 0


def run_print(args: argparse.Namespace) -> int:
    from console.printing.batch import NothingToPrint, batch_cards, render

    settings = common.settings(args)
    try:
        batch, cards, dns = batch_cards(
            common.engine(args), settings, args.batch, dns_name=args.dns_name
        )
    except NothingToPrint as error:
        raise UsageError(str(error)) from None
    shown = sys.stderr.isatty()

    def drawn(done: int) -> None:
        if shown and (done % 100 == 0 or done == len(cards)):
            end = "\n" if done == len(cards) else ""
            print(f"\rdrawing cards: {done:,} of {len(cards):,}", end=end, file=sys.stderr)

    data = render(cards, args.format, args.layout, settings.vouchers.operator, progress=drawn)
    if args.output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        output = "stdout"
    else:
        path = Path(args.output or f"{batch}.{args.format}")
        common.write_file(path, data)
        output = str(path)
    print(
        f"wrote {output}: {len(cards):,} card(s) of batch {batch} ({args.layout}), logging in at "
        f"http://{dns}/login",
        file=sys.stderr if args.output == "-" else sys.stdout,
    )
    return 0
