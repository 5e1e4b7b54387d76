"""`wisp run [--once]`: the provisioning engine, headless.

None of these import Textual; the engine modules are imported only when a command runs.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from console.cli import common
from console.cli.exits import Exit, UsageError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from scheduler.engine.runner import OnceReport


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add run."""
    run = commands.add_parser("run", help="run the provisioning engine headless (until SIGTERM)")
    run.add_argument(
        "--once",
        action="store_true",
        help="drain what is due and exit (5 if jobs are held on a router that is down or refuses "
        "the login, or a job failed)",
    )
    run.add_argument("--worker", help="name to claim jobs under (default: config, else host:pid)")
    common.flag(
        run,
        "--json",
        "with --once: print what was done as JSON on stdout (the log stays on stderr)",
    )
    run.set_defaults(handler=run_engine)


def held_jobs(engine: Engine) -> int:
    """Jobs waiting on a router that is down or refuses the login (they spend no attempts)."""
    from sqlalchemy import func, select
    from sqlmodel import Session, col

    from db.models import Health, JobStatus, Router, RouterProvisioning

    with Session(engine) as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(RouterProvisioning)
                .join(Router, col(Router.id) == col(RouterProvisioning.router_id))
                .where(
                    col(RouterProvisioning.status) == JobStatus.PENDING,
                    col(Router.health).in_([Health.DOWN, Health.AUTH_FAILED]),
                )
            )
            or 0
        )


def once_json(done: OnceReport, held: int) -> dict[str, object]:
    """`wisp run --once --json`: counts of this run, and the jobs left held on a router away."""
    report = done.drain
    return {
        "reaped": done.reaped,
        "expired": done.expired,
        "vouchers_started": done.vouchers_started,
        "completed": report.completed,
        "failed": report.failed,
        "retried": report.retried,
        "held": held,
        "routers_away": sorted(report.paused_routers),
    }


def run_engine(args: argparse.Namespace) -> int:
    """`wisp run`."""
    from scheduler.engine import runner

    if args.worker is not None and not (0 < len(args.worker) <= 128 and args.worker.isprintable()):
        raise UsageError("--worker must be 1 to 128 printable characters.")
    settings, engine = common.settings(args), common.engine(args)
    if args.once:
        done = runner.run_once(settings, engine, worker=args.worker)
        held = held_jobs(engine)
        if args.json:
            common.print_json(once_json(done, held))
        return Exit.HELD_OR_FAILED if done.drain.failed or held else Exit.DONE
    if args.json:
        raise UsageError("--json goes with --once: `wisp run` alone logs one line per job.")
    from scheduler.mpesa.service import mpesa_running

    with mpesa_running(settings, engine) as mpesa:
        wake_on = mpesa.wakes if mpesa else None
        return runner.run_forever(settings, engine, worker=args.worker, wake_on=wake_on)
