"""Every time shown to a person is in the configured zone, with its abbreviation."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from db.models import SystemLog
from tests.cli.conftest import Wisp


def in_zone(wisp: Wisp, zone: str) -> Wisp:
    """The same database and router, with `console.timezone = zone` (a file of its own)."""
    path = Path(wisp.config).with_name(f"{zone.replace('/', '-')}.toml")
    path.write_text(Path(wisp.config).read_text() + f'[console]\ntimezone = "{zone}"\n')
    return Wisp(path)


def test_a_repeated_payment_says_when_it_was_applied_in_the_operators_zone(shop: Wisp) -> None:
    shop.ok("activate", "amina", "Day", "--payment-ref", "QZ1")
    again = shop("activate", "amina", "Day", "--payment-ref", "QZ1")
    assert again.code == 3
    assert re.search(r"already applied on \d{4}-\d\d-\d\d \d\d:\d\d EAT to amina", again.err)
    kolkata = in_zone(shop, "Asia/Kolkata")("activate", "amina", "Day", "--payment-ref", "QZ1")
    assert re.search(r"applied on \d{4}-\d\d-\d\d \d\d:\d\d IST to amina", kolkata.err)
    assert "UTC" not in again.err + kolkata.err


def test_run_log_lines_are_stamped_in_the_operators_zone(shop: Wisp) -> None:
    shop.ok("activate", "amina", "Day", "--method", "cash")
    lines = shop.ok("run", "--once").err.splitlines()
    assert lines and all(
        re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d EAT (INFO|WARNING) wisp\.", line)
        for line in lines
    ), lines


def test_the_history_says_until_when_in_the_operators_zone(shop: Wisp, engine: Engine) -> None:
    shop.ok("activate", "amina", "Day", "--method", "cash")
    shop.ok("run", "--once")
    shop.ok("activate", "amina", "Day", "--method", "cash")  # renewed: extended to ...
    in_zone(shop, "America/New_York").ok("activate", "amina", "Day", "--method", "cash")
    with Session(engine) as session:
        history = list(session.scalars(select(SystemLog.message).order_by(col(SystemLog.id))))
    extended = [m for m in history if "extended by 1 day to" in m]
    delivered = [m for m in history if "clock starts now" in m]
    assert len(extended) == 2 and delivered
    assert extended[0].endswith(" EAT.") and extended[1].endswith((" EST.", " EDT."))
    assert delivered[0].endswith(" EAT.")
    assert not [m for m in history if "UTC" in m]


def test_tables_show_times_with_the_zone(shop: Wisp) -> None:
    shop.ok("activate", "amina", "Day", "--method", "cash")
    shown = shop.ok("client", "show", "amina").out
    assert re.search(r"\d\d:\d\d EAT", shown) and "UTC" not in shown
