"""The dependency rule, read from the source: console → scheduler → db, never back.

The router client (scheduler/routeros) and the simulator (scheduler/sim) know nothing of the
database; the simulator knows nothing else of the project either, so it can stand in for a router
anywhere. Every import counts, those inside functions too.
"""

from __future__ import annotations

import pytest

from tests.architecture.imports import breaches, imported_names

FORBIDDEN = {
    "db": ("console", "scheduler", "textual"),
    "scheduler": ("console", "textual"),
    "scheduler/routeros": ("db", "scheduler.engine", "scheduler.reconcile", "scheduler.sim"),
    "scheduler/sim": ("db", "scheduler.engine", "scheduler.reconcile", "scheduler.routeros"),
}


@pytest.mark.parametrize(("folder", "forbidden"), FORBIDDEN.items())
def test_nothing_imports_against_the_dependency_rule(folder, forbidden):
    assert breaches(folder, forbidden) == []


def test_the_rule_sees_an_import_inside_a_function(tmp_path):
    module = tmp_path / "late.py"
    module.write_text("def f():\n    from db.models import Router\n")
    assert "db.models" in imported_names(module)
