"""Dispatch of menu commands: finds the table and the verb, answers into a Reply."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from scheduler.sim import traps
from scheduler.sim.behaviour import Behaviour
from scheduler.sim.editing import Editor
from scheduler.sim.menus import ALL_MENUS
from scheduler.sim.printing import print_rows
from scheduler.sim.reply import Reply
from scheduler.sim.request import Request
from scheduler.sim.schema import Menu
from scheduler.sim.table import Table
from scheduler.sim.traps import Trap

ALIASES = {"getall": "print"}


class MenuEngine:
    """The menus of one router and the commands on them."""

    def __init__(self, behaviour: Behaviour, menus: tuple[Menu, ...] = ALL_MENUS) -> None:
        self.behaviour = behaviour
        self.tables: dict[str, Table] = {m.path: Table(m) for m in menus}
        self.editor = Editor(self.table, behaviour)
        self.stats: Counter[str] = Counter()
        # Commands that act on the router rather than edit a menu, e.g. /ip/hotspot/active/login.
        self.actions: dict[str, Callable[[dict[str, str]], str | None]] = {}
        for table in self.tables.values():
            for number, row in table.menu.builtin_rows:
                table.insert(table.menu.initial_values() | dict(row), number, builtin=True)

    def table(self, path: str) -> Table:
        """The table of a menu path."""
        return self.tables[path]

    def execute(self, request: Request, reply: Reply) -> None:
        """Run one menu command; a Trap propagates to the caller."""
        action = self.actions.get(request.command)
        if action is not None:
            reply.done(action(dict(request.attributes)))
            return
        table = self.tables.get(request.path)
        verb = ALIASES.get(request.verb, request.verb)
        if table is None or verb not in table.menu.commands:
            raise Trap(self._unknown_command_message(request.command))
        if verb == "print":
            print_rows(table, request, self.behaviour, reply)
            return
        ret = self._write(table, verb, dict(request.attributes))
        reply.done(ret)

    def _write(self, table: Table, verb: str, args: dict[str, str]) -> str | None:
        if verb == "add":
            return self.editor.add(table, args)
        ids = self.editor.resolve_ids(table, args)
        if verb == "set":
            self.editor.set(table, ids, args)
        elif verb == "unset":
            self._unset(table, ids, args)
        elif verb in ("enable", "disable"):
            if args or table.menu.field("disabled") is None:
                raise Trap(traps.UNKNOWN_PARAMETER)
            self.editor.set(table, ids, {"disabled": "yes" if verb == "disable" else "no"})
        elif verb == "remove":
            if args:
                raise Trap(traps.UNKNOWN_PARAMETER)
            self.editor.remove(table, ids)
        return None

    def _unset(self, table: Table, ids: list[str], args: dict[str, str]) -> None:
        name = args.pop("value-name", None)
        if name is None or args:
            raise Trap(traps.UNKNOWN_PARAMETER)
        self.editor.unset(table, ids, name)

    def _unknown_command_message(self, command: str) -> str:
        # A word that names a menu (or the start of one) is a prefix, not a command.
        prefix = command.rstrip("/") + "/"
        if command in self.tables or any(p.startswith(prefix) for p in self.tables):
            return traps.NO_SUCH_COMMAND_PREFIX
        return traps.NO_SUCH_COMMAND
