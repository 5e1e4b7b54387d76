"""Rate limits counted in the database: two processes serving the portal count together, the
window slides, the last attempt goes to one of two racing processes only, and idle rows go."""

from __future__ import annotations

import threading

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from db.engine import make_engine
from db.limits import SWEEP_SECONDS, SharedLimit, allow_all
from db.models import RateLimit


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def rows(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(RateLimit)).scalar_one())


def test_two_processes_count_one_limit_together(engine: Engine) -> None:
    other = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        clock = Clock()
        here = SharedLimit(engine, "stk-phone", 3, 600, clock)
        there = SharedLimit(other, "stk-phone", 3, 600, clock)
        said = [
            here.allow("+254711000001"),
            there.allow("+254711000001"),
            here.allow("+254711000001"),
        ]
        assert said == [True, True, True]
        assert there.full("+254711000001") and here.full("+254711000001")
        assert not there.allow("+254711000001")
        assert here.allow("+254711000002"), "another phone has its own count"
        assert not SharedLimit(engine, "stk-device", 3, 600, clock).full("+254711000001"), (
            "another kind has its own count"
        )
    finally:
        other.dispose()


def test_the_window_slides_and_a_refused_attempt_is_not_counted(engine: Engine) -> None:
    clock = Clock()
    limit = SharedLimit(engine, "wrong-code", 2, 600, clock)
    assert limit.allow("AA:BB:CC:00:00:01")
    clock.now += 300
    assert limit.allow("AA:BB:CC:00:00:01")
    clock.now += 299
    assert not limit.allow("AA:BB:CC:00:00:01")
    clock.now += 2  # the first attempt left the window; the refused one was never counted
    assert limit.allow("AA:BB:CC:00:00:01")
    assert not limit.allow("AA:BB:CC:00:00:01")


def test_racing_processes_never_take_more_than_the_limit(engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    engines = [make_engine(url) for _ in range(4)]
    allowed: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(len(engines))

    def attempt(each: Engine) -> None:
        limit = SharedLimit(each, "stk-phone", 5, 600)
        start.wait()
        for _ in range(4):
            said = limit.allow("+254722000333")
            with lock:
                allowed.append(said)

    threads = [threading.Thread(target=attempt, args=(each,)) for each in engines]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    finally:
        for each in engines:
            each.dispose()
    assert len(allowed) == 16
    assert allowed.count(True) == 5


def test_rows_idle_for_a_window_are_swept(engine: Engine) -> None:
    clock = Clock()
    limit = SharedLimit(engine, "stk-device", 3, 60, clock)
    for n in range(5):
        limit.allow(f"AA:BB:CC:00:00:0{n}")
    assert rows(engine) == 5
    clock.now += max(SWEEP_SECONDS, 60) + 1
    assert limit.allow("AA:BB:CC:00:00:09")
    assert rows(engine) == 1


def test_a_request_refused_by_one_limit_uses_up_nothing_of_the_other(engine: Engine) -> None:
    """A device whose pushes went to a phone that asked too often keeps its own attempts for
    another phone; the portal counts a push under both limits or under neither."""
    clock = Clock()
    phones = SharedLimit(engine, "stk-phone", 2, 600, clock)
    devices = SharedLimit(engine, "stk-device", 3, 600, clock)
    device = "AA:BB:CC:00:00:01"
    busy = "+254711000001"
    assert allow_all(engine, [(phones, busy), (devices, "AA:BB:CC:00:00:02")])
    assert allow_all(engine, [(phones, busy), (devices, "AA:BB:CC:00:00:03")])
    for _ in range(5):
        assert not allow_all(engine, [(phones, busy), (devices, device)])
    assert [
        allow_all(engine, [(phones, f"+25471100010{n}"), (devices, device)]) for n in range(4)
    ] == [True, True, True, False]
