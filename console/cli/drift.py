"""`wisp reconcile ROUTER` and `wisp import ROUTER`: drift between a router and the database, adoption.

Both read the router with progress on stderr (when it is a terminal); Ctrl-C stops the read cleanly
and nothing is changed. Neither imports Textual.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from typing import TYPE_CHECKING, Any

from console.cli import common
from console.cli.exits import Exit
from scheduler.reconcile.comment_dates import FORMATS

if TYPE_CHECKING:
    from scheduler.reconcile.compare import DriftReport
    from scheduler.reconcile.import_plan import ImportPlan
    from scheduler.reconcile.sides import Progress

CANCELLED = 130


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    check = common.command(
        commands,
        "reconcile",
        run_reconcile,
        "compare a router with the database: missing, unknown, foreign, different",
        ("router", "router name"),
        description="Compare a router with the database. Exit code 4 when they differ.",
    )
    common.flag(
        check, "--fix", "queue the jobs that repair the drift (never touches objects not ours)"
    )

    adopt = common.command(
        commands,
        "import",
        run_import,
        "turn an existing router's profiles and users into packages and clients",
        ("router", "router name"),
        description="Recognised expiry dates in comments: " + "; ".join(FORMATS) + ".",
    )
    common.flag(adopt, "--dry-run", "show what would be imported, write nothing")
    adopt.add_argument(
        "--validity",
        default="30d",
        help="expiry for accounts whose comment states none (default 30d)",
    )
    common.flag(
        adopt,
        "--adopt-profiles",
        "let WISP Console manage the router profiles the packages use (read-only otherwise)",
    )
    common.flag(adopt, "--yes", "import without asking")


class StderrProgress:
    """One self-overwriting progress line on stderr, only when stderr is a terminal."""

    def __init__(self) -> None:
        self.live = sys.stderr.isatty()

    def __call__(self, progress: Progress) -> None:
        if self.live:
            total = f"/{progress.total}" if progress.total is not None else ""
            print(
                f"\rreading {progress.stage}: {progress.done}{total}\033[K",
                end="",
                file=sys.stderr,
                flush=True,
            )

    def end(self) -> None:
        """Clear the progress line."""
        if self.live:
            print("\r\033[K", end="", file=sys.stderr, flush=True)


def run_reconcile(args: argparse.Namespace) -> int:
    from scheduler.reconcile.compare import reconcile
    from scheduler.reconcile.fix import queue_fixes

    engine = common.engine(args)
    shown = StderrProgress()
    try:
        report = reconcile(engine, common.settings(args), args.router, progress=shown)
    except KeyboardInterrupt:
        shown.end()
        print("reconcile cancelled; nothing was changed", file=sys.stderr)
        return CANCELLED
    shown.end()
    queued = queue_fixes(engine, report) if args.fix else []
    if args.json:
        print(json.dumps({**report.as_dict(), "queued": queued}, indent=2))
    else:
        print_report(report)
        if args.fix:
            print(_fixed(report, queued))
    return Exit.DONE if report.clean else Exit.DRIFT


def print_report(report: DriftReport) -> None:
    """The findings grouped by category, then the counts."""
    from scheduler.reconcile.compare import CATEGORIES

    headings = {
        "missing": "In the database, missing on the router",
        "unknown": "On the router, tagged as ours, unknown to the database",
        "different": "Different on the router",
        "foreign": "Not ours (left alone)",
    }
    for category in ("missing", "unknown", "different", "foreign"):
        findings = report.of(category)
        if not findings:
            continue
        print(f"{headings[category]} ({len(findings)}):")
        rows = [
            {
                "kind": f.kind,
                "service": f.service,
                "name": f.name,
                "detail": "; ".join(f.differences) or f.comment,
            }
            for f in findings
        ]
        common.print_table(rows, ["kind", "service", "name", "detail"])
        print()
    counts = report.counts
    summary = ", ".join(f"{counts[c]} {c}" for c in CATEGORIES)
    verdict = "matches the database" if report.clean else "has drifted"
    print(
        f"router {report.router} {verdict}: {summary}; {report.in_queue} account(s) still in the queue."
    )


def _fixed(report: DriftReport, queued: list[int]) -> str:
    if not queued:
        return "nothing to queue." if report.clean else "nothing could be queued (see above)."
    listed = f": {', '.join(map(str, queued))}" if len(queued) <= 20 else ""
    return f"queued {len(queued)} corrective job(s){listed}; `wisp jobs` shows them."


def run_import(args: argparse.Namespace) -> int:
    from scheduler.reconcile.import_plan import plan_import
    from scheduler.reconcile.import_write import apply_import

    engine = common.engine(args)
    shown = StderrProgress()
    try:
        plan = plan_import(
            engine,
            common.settings(args),
            args.router,
            validity=args.validity,
            adopt_profiles=args.adopt_profiles,
            progress=shown,
        )
    except KeyboardInterrupt:
        shown.end()
        print("import cancelled; nothing was written", file=sys.stderr)
        return CANCELLED
    shown.end()
    if args.json:
        shown_plan = plan.as_dict()
        for account in shown_plan["accounts"]:
            account["expires_on"] = common.local(args, account["expires_on"])
        common.print_json(shown_plan)
    else:
        print_plan(args, plan)
    if args.dry_run or plan.empty:
        return 0
    if not args.yes:
        _confirm(plan)
    result = apply_import(engine, plan)
    out = sys.stderr if args.json else sys.stdout
    unpriced = sum(1 for p in plan.packages if p.terms is None or p.terms.price is None)
    print(
        f"imported {result.packages} package(s), {result.accounts} account(s) and {result.clients} new "
        f"client(s) from {plan.router}; the router was not changed."
        + (
            f" Set package prices with care: {unpriced} imported package(s) cost 0."
            if unpriced and result.packages
            else ""
        ),
        file=out,
    )
    if result.accounts_adopted:
        print(
            f"{result.accounts_adopted} account row(s) may now take over their router account "
            "(comment text and fields kept); `wisp retry --failed` delivers those that failed.",
            file=out,
        )
    if result.vouchers:
        print(
            f"imported {result.vouchers} Mikhmon voucher(s) in {result.voucher_batches} new "
            "batch(es), each in the state the router shows (`wisp voucher batches`).",
            file=out,
        )
    if result.profiles_adopted:
        print(
            f"adopted {result.profiles_adopted} profile(s): WISP Console now keeps them as their "
            "packages shape them.",
            file=out,
        )
    return 0


def _confirm(plan: ImportPlan) -> None:
    from db.catalog import Refused

    if not sys.stdin.isatty():
        raise Refused(
            "add --yes to import without a terminal to confirm on (or --dry-run to look first)."
        )
    answer = input(
        f"Import {len(plan.packages)} package(s) and {len(plan.accounts)} account(s)? [y/N] "
    )
    if answer.strip().lower() not in ("y", "yes"):
        raise Refused("import not confirmed; nothing was written.")


def _seconds_text(seconds: int | None) -> str | None:
    if not seconds:
        return None
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def print_plan(args: argparse.Namespace, plan: ImportPlan) -> None:
    """What the import would create, what it skips and why."""
    if plan.packages:
        print(f"Packages from profiles ({len(plan.packages)}):")
        rows = [
            {
                "service": p.service,
                "profile": p.name,
                "rate_limit": p.rate_limit,
                "devices": p.device_limit,
                "price": p.terms.price if p.terms else None,
                "validity": _seconds_text(p.terms.validity) if p.terms else None,
            }
            for p in plan.packages
        ]
        columns = ["service", "profile", "rate_limit", "devices"]
        if any(p.terms for p in plan.packages):
            columns += ["price", "validity"]  # from Mikhmon's on-login scripts
        common.print_table(rows, columns)
        print()
    if plan.vouchers:
        states = Counter(v.voucher.state.value.replace("_", " ") for v in plan.vouchers)
        batches = {v.voucher.batch.name for v in plan.vouchers if v.voucher.batch}
        print(
            f"Mikhmon vouchers ({len(plan.vouchers)}, in {len(batches)} batch(es) still named on "
            "the router): "
            + ", ".join(f"{count} {state}" for state, count in sorted(states.items()))
        )
        print()
    if plan.accounts:
        print(f"Accounts ({len(plan.accounts)}):")
        common.print_table(
            [_account_row(args, a) for a in plan.accounts],
            ["service", "username", "profile", "state", "expires", "from"],
        )
        print()
    if plan.skipped:
        print(f"Not imported ({len(plan.skipped)}):")
        common.print_table(
            [s.__dict__ for s in plan.skipped], ["kind", "service", "name", "reason"]
        )
        print()
    if plan.adoptions:
        print(
            f"Account rows that will take over their router account, not tagged as ours "
            f"({len(plan.adoptions)}):"
        )
        common.print_table(
            [
                {"service": a.service, "username": a.username, "kept": ", ".join(sorted(a.extra))}
                for a in plan.adoptions
            ],
            ["service", "username", "kept"],
        )
        print()
    if plan.data_limits:
        print(
            f"note: {plan.data_limits} user(s) carry their own data limit; it is kept on the router "
            "(their package sets none), as are limit-uptime, MAC bindings and comments."
        )
    print_profiles(plan)
    vouchers = f", {len(plan.vouchers)} voucher(s)" if plan.vouchers else ""
    print(
        f"{len(plan.packages)} package(s), {len(plan.accounts)} account(s){vouchers} to import; "
        f"already in the database: {plan.known_packages} package(s), {plan.known_accounts} "
        "account(s)."
    )


def print_profiles(plan: ImportPlan) -> None:
    """Which router profiles the packages use that are not ours, and how they can become ours."""
    if not plan.profiles:
        return
    names = ", ".join(name for _, name in plan.profiles)
    if plan.adopt_profiles:
        print(
            f"profiles to adopt ({len(plan.profiles)}): {names}; WISP Console will keep them as "
            "their packages shape them."
        )
    else:
        print(
            f"read-only profiles ({len(plan.profiles)}): {names}; WISP Console uses them as they "
            f"are and never changes them. To let it manage them: `wisp import {plan.router} "
            "--adopt-profiles`."
        )


def _account_row(args: argparse.Namespace, account: Any) -> dict[str, Any]:
    return {
        "service": account.service,
        "username": account.username,
        "profile": account.profile,
        "state": "disabled" if account.disabled else "enabled",
        "expires": common.local(args, account.expires_on),
        "from": account.expiry_source or "-",
    }
