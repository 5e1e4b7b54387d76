"""The core runs without its UI: importing db and scheduler, or running headless commands, loads no Textual."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def modules_of(package: str) -> list[str]:
    found = [package]
    for info in pkgutil.walk_packages([str(ROOT / package)], prefix=f"{package}."):
        if ".migrations" not in info.name and not info.name.endswith("__main__"):
            found.append(info.name)
    return found


def textual_loaded_after(code: str) -> bool:
    probe = f"{code}\nimport sys\nprint(any(m == 'textual' or m.startswith('textual.') for m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return result.stdout.strip().splitlines()[-1] == "True"


@pytest.mark.parametrize("package", ["db", "scheduler"])
def test_core_package_imports_without_textual(package):
    imports = "\n".join(f"import {name}" for name in modules_of(package))
    assert not textual_loaded_after(imports)


def test_headless_cli_does_not_load_textual():
    assert not textual_loaded_after("import console.cli\nconsole.cli.build_parser()")


def test_the_probe_can_see_textual_when_it_is_imported():
    assert textual_loaded_after("import textual.app")
