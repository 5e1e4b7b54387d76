"""The dependency rule, read from the source: console → scheduler → db, never back.

The router client (scheduler/routeros) and the simulator (scheduler/sim) know nothing of the
database; the simulator knows nothing else of the project either, so it can stand in for a router
anywhere. Every import counts, those inside functions too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "db": ("console", "scheduler", "textual"),
    "scheduler": ("console", "textual"),
    "scheduler/routeros": ("db", "scheduler.engine", "scheduler.reconcile", "scheduler.sim"),
    "scheduler/sim": ("db", "scheduler.engine", "scheduler.reconcile", "scheduler.routeros"),
}


def imported_names(path: Path) -> set[str]:
    """Every module an import statement of the file names (absolute imports)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def breaches(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for name in sorted(imported_names(path)):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


@pytest.mark.parametrize(("folder", "forbidden"), FORBIDDEN.items())
def test_nothing_imports_against_the_dependency_rule(folder, forbidden):
    assert breaches(folder, forbidden) == []


def test_the_rule_sees_an_import_inside_a_function(tmp_path):
    module = tmp_path / "late.py"
    module.write_text("def f():\n    from db.models import Router\n")
    assert "db.models" in imported_names(module)
