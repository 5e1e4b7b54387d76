"""Our import names are ours: no other installed distribution provides `console`, `db` or `scheduler`.

The names are short because the design names the folders so; they are safe because WISP Console is
installed into its own virtual environment (`make setup` makes `.venv`), where every distribution is
one we depend on. This test reads what that environment really holds, so a dependency that one day
ships a module of the same name fails the suite instead of shadowing ours at run time.
"""

from __future__ import annotations

from importlib.metadata import packages_distributions

import pytest

OURS = ("console", "db", "scheduler")


@pytest.mark.parametrize("name", OURS)
def test_only_wisp_console_provides_the_import_name(name):
    providers = set(packages_distributions().get(name, []))
    assert providers == {"wisp-console"}, (
        f"{name} is also provided by {providers - {'wisp-console'}}"
    )


def test_the_modules_imported_are_the_ones_in_this_repository():
    from pathlib import Path

    import console
    import db
    import scheduler

    root = Path(__file__).resolve().parents[2]
    for module in (console, db, scheduler):
        assert Path(module.__file__ or "").resolve().parent.parent == root
