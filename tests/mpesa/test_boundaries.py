"""The Daraja simulator imports nothing else of the project; the Daraja client nothing of db/."""

from __future__ import annotations

import subprocess
import sys

from tests.architecture.imports import ROOT, imported_names


def test_the_simulator_imports_nothing_else_of_the_project():
    for path in (ROOT / "scheduler" / "mpesa_sim").rglob("*.py"):
        for name in imported_names(path):
            top = name.split(".")[0]
            assert top not in ("db", "console") and not (
                name.startswith("scheduler.") and not name.startswith("scheduler.mpesa_sim")
            ), f"{path.name} imports {name}"


def test_the_daraja_client_imports_nothing_of_db():
    assert not any(
        n == "db" or n.startswith(("db.", "scheduler.", "console."))
        for n in imported_names(ROOT / "scheduler" / "mpesa" / "daraja.py")
    )


def test_mpesa_modules_load_without_textual():
    code = (
        "import sys, scheduler.mpesa.service, scheduler.mpesa_sim.cli, db.mpesa, console.cli.pay;"
        "print('textual' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "False", out.stderr


def test_the_wisp_command_loads_no_http_stack_until_a_payment_command_runs():
    code = (
        "import sys; from console.cli.main import build_parser; build_parser();"
        "print(sorted(m for m in ('starlette', 'httpx', 'uvicorn') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stderr
