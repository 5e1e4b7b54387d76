"""Which schema revision this version's migration files end at, read without Alembic.

Alembic's own reading of its revision files takes longer than the commands that only need to know
whether a database is at this version's schema; those read the `revision` lines of the files here.
Alembic is asked (db.engine.head_revision) whenever this reading is not sure.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

MIGRATIONS = Path(__file__).parent / "migrations"
"""Alembic's script folder."""
STAMP = "SELECT version_num FROM alembic_version"
"""The revision a database is stamped with (one row)."""

REVISION_NAMES = ("revision", "down_revision", "branch_labels", "depends_on")


@cache
def migrations_head() -> str | None:
    """The revision db/migrations/versions ends at, as Alembic finds it (the one revision no other
    revises), read from each file's top-level literals; None when a file has none to read, names
    a branch or a dependency, or the revisions do not end at exactly one (Alembic is asked then).
    """
    revisions: dict[str, tuple[str, ...]] = {}
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        if path.name.startswith(("__init__", ".#")):
            continue  # not a revision file to Alembic either
        found: dict[str, object] = {}
        try:
            body = ast.parse(path.read_bytes()).body
        except (SyntaxError, ValueError):
            return None
        for node in body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, value = node.targets[0], node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                target, value = node.target, node.value
            else:
                continue
            if isinstance(target, ast.Name) and target.id in REVISION_NAMES:
                try:
                    found[target.id] = ast.literal_eval(value)
                except (ValueError, TypeError, SyntaxError):
                    return None
        if "revision" not in found or "down_revision" not in found:
            return None
        revision, down = found["revision"], found["down_revision"]
        downs = (
            (down,)
            if isinstance(down, str)
            else tuple(down)
            if isinstance(down, tuple | list)
            else ()
        )
        if (
            not isinstance(revision, str)
            or revision in revisions
            or found.get("branch_labels") is not None
            or found.get("depends_on") is not None
            or (down is not None and not downs)
            or not all(isinstance(d, str) for d in downs)
        ):
            return None
        revisions[revision] = downs
    revised = {d for downs in revisions.values() for d in downs}
    heads = [r for r in revisions if r not in revised]
    if not revised <= revisions.keys() or len(heads) != 1:
        return None
    return heads[0]
