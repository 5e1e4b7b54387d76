"""Declarations of menus: fields with their kind, default, visibility and references.

A menu is data. The engine (engine.py) reads these declarations to serve print, add, set,
remove, enable, disable and unset; no menu has code of its own except live values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from scheduler.sim import values

Normaliser = Callable[[str], str]


@dataclass(frozen=True)
class Field:
    """One property of a menu row."""

    name: str
    kind: Normaliser = values.text
    # Value a row has when the property was never set; None means "unset" (absent from print).
    default: str | None = None
    # Print the property even when it holds its default (booleans, counters, profile).
    shown_by_default: bool = False
    read_only: bool = False
    required: bool = False
    # Path of the menu whose `name` this value must match (e.g. a user's profile).
    ref: str | None = None
    # Property can be cleared with unset / `=!prop=`.
    unsettable: bool = True
    # Category carried by the "input does not match" trap (MT-API shows 1 for interface).
    ref_category: int | None = None
    # Value computed from the other properties when the client gave none (ip address network).
    derived: Callable[[Mapping[str, str]], str | None] | None = None


@dataclass(frozen=True)
class Menu:
    """A RouterOS menu: its path, fields, key and the messages it answers with."""

    path: str
    fields: tuple[Field, ...]
    commands: frozenset[str] = frozenset(
        {"print", "add", "set", "remove", "enable", "disable", "unset"}
    )
    # Unique property and the exact trap a duplicate gets.
    key: str | None = None
    duplicate_message: str = "failure: entry already exists"
    # Rows every router has from the factory: (id number, values).
    builtin_rows: tuple[tuple[int, Mapping[str, str]], ...] = ()
    builtin_remove_message: str = "failure: can not remove default item"
    # One row without .id (system/identity, system/resource).
    single: bool = False
    first_id: int = 1
    extra_print_args: frozenset[str] = frozenset()

    def field(self, name: str) -> Field | None:
        """Return the declaration of a property, or None."""
        return self._by_name.get(name)

    @property
    def _by_name(self) -> dict[str, Field]:
        cache = self.__dict__.get("_fields_by_name")
        if cache is None:
            cache = {f.name: f for f in self.fields}
            object.__setattr__(self, "_fields_by_name", cache)
        return cache

    def initial_values(self) -> dict[str, str]:
        """Values a new row starts with: the defaults that print shows."""
        return {
            f.name: f.default for f in self.fields if f.shown_by_default and f.default is not None
        }

    @property
    def order(self) -> dict[str, int]:
        """Position of each property in print output (after .id)."""
        cache = self.__dict__.get("_order")
        if cache is None:
            cache = {".id": -1} | {f.name: i for i, f in enumerate(self.fields)}
            object.__setattr__(self, "_order", cache)
        return cache
