"""Saving a router's configuration to a JSON file and loading it back.

Configuration menus are kept; sessions are not (a restarted router has nobody online).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from scheduler.sim.engine import MenuEngine

FORMAT = 1
SESSION_MENUS = frozenset(
    {"/ip/hotspot/active", "/ip/hotspot/cookie", "/ppp/active", "/system/resource"}
)


def save_state(engine: MenuEngine, path: Path) -> None:
    """Write every configuration menu (rows and id counters) atomically."""
    menus = {
        table.menu.path: {"next_id": table.next_id, "rows": list(table.rows.values())}
        for table in engine.tables.values()
        if table.menu.path not in SESSION_MENUS
    }
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps({"format": FORMAT, "menus": menus}, indent=1))
    os.replace(temporary, path)


def load_state(engine: MenuEngine, path: Path) -> None:
    """Replace configuration menus with those saved in path."""
    saved = json.loads(path.read_text())
    for menu_path, content in saved.get("menus", {}).items():
        table = engine.tables.get(menu_path)
        if table is None:
            continue
        for row_id in list(table.rows):
            table.delete(row_id)
        for row in content["rows"]:
            values = dict(row)
            row_id = values.pop(".id", "*0")
            table.insert(values, int(row_id[1:], 16), builtin=True)
        table.next_id = content["next_id"]
