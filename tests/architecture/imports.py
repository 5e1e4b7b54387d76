"""Reading a module's imports from its source, to check which parts of the project it may use.

Every import statement counts, those inside functions too.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


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
    """`path imports name` for each import under `folder` (relative to the project) of a module
    in `forbidden` or inside one."""
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for name in sorted(imported_names(path)):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found
