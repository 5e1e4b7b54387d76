"""The outage log: an outage is said once, its end once, and a failure a thread logs after
another thread's first success (it failed during the outage) is not a second outage."""

from __future__ import annotations

import logging

from sqlalchemy.exc import OperationalError

from db.outage import QUIET_SECONDS, OutageLog


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Said(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def failure(log: logging.Logger) -> None:
    try:
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))
    except OperationalError:
        log.exception("the drain failed")


def test_a_failure_logged_late_belongs_to_the_outage_already_said() -> None:
    clock, said = Clock(), Said()
    outages = OutageLog(clock)
    said.addFilter(outages)
    log = logging.getLogger("wisp.test-outage")
    log.propagate = False
    log.addHandler(said)
    back = logging.getLogger("wisp.database")
    back.addHandler(said)
    try:
        failure(log)
        clock.now += 5
        failure(log)  # every timer fails while the outage lasts
        clock.now += 0.1  # the database returns
        outages.recovered()  # a first success right after the last failure: not yet "back"
        clock.now += 0.5
        failure(log)  # failed during the outage, logged now
        clock.now += QUIET_SECONDS
        outages.recovered()
        outages.recovered()
        clock.now += 60
        failure(log)  # a new outage
        clock.now += QUIET_SECONDS
        outages.recovered()
    finally:
        log.removeHandler(said)
        back.removeHandler(said)
    assert [line.split(" (")[0].split(";")[0] for line in said.lines] == [
        "the database cannot be used",
        "the database is back",
        "the database cannot be used",
        "the database is back",
    ]
