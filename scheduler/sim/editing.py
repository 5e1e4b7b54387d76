"""add, set, remove, enable, disable and unset over a table, driven by its declaration."""

from __future__ import annotations

from collections.abc import Callable

from scheduler.sim import traps, values
from scheduler.sim.behaviour import Behaviour
from scheduler.sim.schema import Field
from scheduler.sim.table import Row, Table, parse_id
from scheduler.sim.traps import Trap

# Finds the table a reference points to (a user's profile -> /ip/hotspot/user/profile).
TableLookup = Callable[[str], Table]


class Editor:
    """Applies writes to the tables of one router."""

    def __init__(self, tables: TableLookup, behaviour: Behaviour) -> None:
        self._tables = tables
        self._behaviour = behaviour

    def add(self, table: Table, attributes: dict[str, str]) -> str:
        """Create a row and return its id (the =ret= of !done)."""
        menu = table.menu
        row: Row = menu.initial_values()
        for name, value in attributes.items():
            self._apply(row, self._writable(table, name), value)
        for field in menu.fields:
            if field.required and field.name not in row:
                raise Trap(traps.missing_value(field.name))
        self._check_unique(table, row, None)
        _derive(table, row, {})
        return table.insert(row)

    def set(self, table: Table, ids: list[str], attributes: dict[str, str]) -> None:
        """Change properties of rows; `=!prop=` unsets prop."""
        for row_id in ids:
            row = dict(table.rows[row_id])
            for name, value in attributes.items():
                if name.startswith("!"):
                    self._unset(table, row, name[1:])
                else:
                    self._apply(row, self._writable(table, name), value)
            self._check_unique(table, row, row_id)
            _derive(table, row, attributes)
            table.update(row_id, _diff(table.rows[row_id], row))

    def unset(self, table: Table, ids: list[str], name: str) -> None:
        """Return one property of rows to its default."""
        self.set(table, ids, {f"!{name}": ""})

    def remove(self, table: Table, ids: list[str]) -> None:
        """Delete rows; built-in rows refuse."""
        builtin = {f"*{number:X}" for number, _ in table.menu.builtin_rows}
        if builtin.intersection(ids):
            raise Trap(table.menu.builtin_remove_message)
        for row_id in ids:
            table.delete(row_id)

    def resolve_ids(self, table: Table, attributes: dict[str, str]) -> list[str]:
        """Turn =.id=*1,*2 (or =numbers=) into existing ids, or trap."""
        text = attributes.pop(".id", None)
        numbers = attributes.pop("numbers", None)
        text = text if text is not None else numbers
        if table.menu.single:
            return list(table.rows)
        if text is None:
            raise Trap(traps.missing_value("numbers"))
        return [self._resolve_one(table, item) for item in text.split(",") if item]

    def _resolve_one(self, table: Table, item: str) -> str:
        number = parse_id(item)
        if number is None:
            found = table.find(item) if self._behaviour.ids_by_name else None
            if found is None:
                raise Trap(traps.INVALID_ITEM_NUMBER)
            return found
        row_id = f"*{number:X}"
        if row_id not in table.rows:
            raise Trap(traps.NO_SUCH_ITEM)
        return row_id

    def _writable(self, table: Table, name: str) -> Field:
        field = table.menu.field(name)
        if field is None or field.read_only:
            raise Trap(traps.UNKNOWN_PARAMETER)
        return field

    def _apply(self, row: Row, field: Field, value: str) -> None:
        if value == "" and (field.kind is not values.text or not field.shown_by_default):
            # An empty value (routeros-api sends =key) clears the property.
            self._reset(row, field)
            return
        try:
            if field.kind is values.byte_count:
                stored = values.byte_count(value, self._behaviour.byte_suffixes)
            else:
                stored = field.kind(value)
        except values.BadValue:
            raise Trap(traps.invalid_value(field.name)) from None
        if field.ref is not None:
            stored = self._resolve_reference(field, stored)
        if stored == field.default and not field.shown_by_default:
            row.pop(field.name, None)
        else:
            row[field.name] = stored

    def _unset(self, table: Table, row: Row, name: str) -> None:
        field = table.menu.field(name)
        if field is None or field.read_only or not field.unsettable:
            raise Trap(traps.UNKNOWN_PARAMETER)
        self._reset(row, field)

    @staticmethod
    def _reset(row: Row, field: Field) -> None:
        if field.shown_by_default and field.default is not None:
            row[field.name] = field.default
        else:
            row.pop(field.name, None)

    def _resolve_reference(self, field: Field, value: str) -> str:
        target = self._tables(field.ref or "")
        if target.find(value) is not None:
            return value
        if self._behaviour.reference_prefixes:
            names = [name for name in target.by_key if name.startswith(value)]
            if len(names) == 1:
                return names[0]
            if len(names) > 1:
                raise Trap(traps.ambiguous(field.name))
        raise Trap(traps.no_match(field.name), field.ref_category)

    @staticmethod
    def _check_unique(table: Table, row: Row, row_id: str | None) -> None:
        key = table.menu.key
        if key is None or key not in row:
            return
        owner = table.find(row[key])
        if owner is not None and owner != row_id:
            raise Trap(table.menu.duplicate_message)


def _derive(table: Table, row: Row, given: dict[str, str]) -> None:
    """Recompute derived properties the client did not give (network from address)."""
    for field in table.menu.fields:
        if field.derived is not None and field.name not in given:
            value = field.derived(row)
            if value is not None:
                row[field.name] = value


def _diff(old: Row, new: Row) -> dict[str, str | None]:
    changes: dict[str, str | None] = {k: v for k, v in new.items() if old.get(k) != v}
    changes.update({k: None for k in old if k not in new})
    return changes
