"""`wisp reconcile` and `wisp import` as an operator runs them."""

from __future__ import annotations

import json

from console.cli import main
from tests.drift.conftest import USERS, Drifted


def config(tmp_path, engine) -> str:
    path = tmp_path / "config.toml"
    path.write_text(f'[database]\nurl = "{engine.url}"\n[routers]\nconnect_timeout = 2.0\n')
    return str(path)


def test_reconcile_prints_each_category_and_a_summary(drifted: Drifted, tmp_path, capsys):
    assert main(["--config", config(tmp_path, drifted.engine), "reconcile", "r1"]) == 4  # drift
    out = capsys.readouterr().out
    assert "In the database, missing on the router (1):" in out
    assert "Not ours (left alone) (3):" in out
    assert "password differs" in out and "changed-by-hand" not in out
    assert "router r1 has drifted: 1 missing, 1 unknown, 3 foreign, 4 different" in out


def test_reconcile_fix_json_lists_the_queued_jobs_and_a_second_run_is_clean(
    drifted: Drifted, tmp_path, capsys
):
    from tests.drift.conftest import drain

    path = config(tmp_path, drifted.engine)
    assert main(["--config", path, "reconcile", "r1", "--fix", "--json"]) == 4  # drift found
    first = json.loads(capsys.readouterr().out)
    assert first["counts"]["different"] == 4 and len(first["queued"]) == 6
    drain(drifted.engine, drifted.settings)
    assert main(["--config", path, "reconcile", "r1", "--json"]) == 0  # foreign is not drift
    second = json.loads(capsys.readouterr().out)
    assert second["counts"] == {
        "missing": 0,
        "unknown": 0,
        "foreign": 3,
        "different": 0,
        "in_queue": 0,
    }


def test_a_down_router_is_one_line_and_exit_1(drifted: Drifted, tmp_path, capsys):
    drifted.sim.down()
    assert main(["--config", config(tmp_path, drifted.engine), "reconcile", "r1"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("wisp: router r1 (127.0.0.1:") and "\n" not in err


def test_import_dry_run_writes_nothing_and_without_a_terminal_asks_for_yes(
    drifted: Drifted, tmp_path, capsys
):
    path = config(tmp_path, drifted.engine)
    assert main(["--config", path, "import", "r1", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "walkin1" in out and "OLD_PLAN" in out and "1 package(s), 1 account(s) to import" in out
    assert main(["--config", path, "import", "r1"]) == 1
    assert "add --yes" in capsys.readouterr().err
    assert main(["--config", path, "import", "r1", "--yes", "--validity", "7d"]) == 0
    assert "imported 1 package(s), 1 account(s)" in capsys.readouterr().out
    assert main(["--config", path, "import", "r1", "--yes"]) == 0
    assert "0 package(s), 0 account(s) to import" in capsys.readouterr().out
    assert drifted.sim.rows(USERS)  # untouched, still there
