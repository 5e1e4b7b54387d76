"""The three promises with suspensions: the machine of test_paid_equals_granted, and an operator
who suspends and resumes clients between its steps (while time passes, the router goes away, ...).

A suspended client's accounts are disabled and their clocks stand; resuming gives back exactly the
time they had left: granted (expiry - start - time stood) still equals paid, to the second.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import rule

from db.catalog import Refused
from db.engine import session_scope
from db.suspension import resume_client, suspend_client
from tests.conftest import emptied
from tests.invariants.test_paid_equals_granted import (
    CLIENTS,
    PaidEqualsGranted,
    run_machine,
    sqlite_databases,
)


class WithSuspensions(PaidEqualsGranted):
    """The operations of PaidEqualsGranted, and suspend and resume of any client at any time."""

    @rule(client=st.sampled_from(CLIENTS))
    def suspend(self, client: str) -> None:
        self._suspension(suspend_client, client)

    @rule(client=st.sampled_from(CLIENTS))
    def resume(self, client: str) -> None:
        self._suspension(resume_client, client)

    def _suspension(self, operation, client: str) -> None:  # type: ignore[no-untyped-def]
        try:
            with session_scope(self.engine) as session:
                operation(session, client, now=self.clock())
        except Refused:
            pass  # suspending a suspended client, resuming an active one: refused, nothing done

    @rule(package=st.sampled_from(["Hour 2M", "Day 10M", "Data 1G"]))
    def take_over_newguy(self, package: str) -> None:
        try:
            super().take_over_newguy(package)
        except Refused as refused:
            assert "is suspended" in str(refused)


def test_suspensions_keep_paid_equals_granted_on_sqlite(
    sqlite_template: Path, tmp_path: Path
) -> None:
    run_machine(
        sqlite_databases(sqlite_template, tmp_path),
        examples=10,
        steps=14,
        machine=WithSuspensions,
    )


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_suspensions_keep_paid_equals_granted_on_a_server(
    backend: str, server_databases: dict[str, str]
) -> None:
    from tests.conftest import server_url

    url = server_url(backend, server_databases)
    run_machine(lambda: emptied(url), examples=3, steps=14, machine=WithSuspensions)
