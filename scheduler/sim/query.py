"""Print queries: the RouterOS query stack machine (MT-API "Queries").

Each row is tested on its own. The stack starts as an endless run of true; every word
pushes a value or runs `?#` operations; the row is kept when no value left is false.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from scheduler.sim.schema import Menu
from scheduler.sim.values import BadValue

RowTest = Callable[[Mapping[str, str]], bool]


class QueryError(ValueError):
    """A query word the router cannot read."""


class Query:
    """A compiled list of query words."""

    def __init__(
        self, menu: Menu, words: list[str], numeric: bool = True, strict: bool = True
    ) -> None:
        self._menu = menu
        self._numeric = numeric
        self._strict = strict
        self._steps: list[RowTest | str] = [self._compile(w[1:]) for w in words]
        if strict:
            _check_depth(self._steps)
        self.key_lookup = self._key_lookup(words)

    def matches(self, row: Mapping[str, str]) -> bool:
        """True when the row passes every query word."""
        stack: list[bool] = []
        for step in self._steps:
            if isinstance(step, str):
                stack = _run_ops(step, stack)
            else:
                stack.append(step(row))
        return all(stack)

    def _key_lookup(self, words: list[str]) -> str | None:
        """The key value when the words AND an equality on the menu key (index shortcut)."""
        key = self._menu.key
        if key is None or any(w.startswith("?#") for w in words):
            return None
        for word in words:
            body = word[2:] if word.startswith("?=") else word[1:]
            name, sep, value = body.partition("=")
            if sep and name == key:
                return value
        return None

    def _compile(self, body: str) -> RowTest | str:
        if body.startswith("#"):
            return body[1:]
        if body.startswith("-"):
            name = body[1:]
            return lambda row: name not in row
        if body[:1] in ("<", ">"):
            return self._compare(body[0], *_split(body[1:]))
        if body.startswith("="):
            body = body[1:]
        name, sep, value = body.partition("=")
        if not sep:
            return lambda row: name in row
        wanted = self._normalise(name, value)
        return lambda row: row.get(name, "") == wanted

    def _compare(self, op: str, name: str, value: str) -> RowTest:
        def test(row: Mapping[str, str]) -> bool:
            have = row.get(name)
            if have is None:
                return False
            if self._numeric and _is_integer(have) and _is_integer(value):
                return int(have) < int(value) if op == "<" else int(have) > int(value)
            return have < value if op == "<" else have > value

        return test

    def _normalise(self, name: str, value: str) -> str:
        # So that ?=disabled=no matches a row printed disabled=false.
        field = self._menu.field(name)
        if field is None or not value:
            return value
        try:
            return field.kind(value)
        except BadValue:
            return value


def _check_depth(steps: list[RowTest | str]) -> None:
    """Refuse ?# operations that would take a value no word pushed (the same for every row)."""
    depth = 0
    for step in steps:
        depth = depth + 1 if not isinstance(step, str) else _ops_depth(step, depth)


def _ops_depth(ops: str, depth: int) -> int:
    """The stack depth after the operations of one ?# word; QueryError if one runs short."""
    i, after_index = 0, False
    while i < len(ops):
        ch = ops[i]
        if ch.isdigit():
            j = i
            while j < len(ops) and ops[j].isdigit():
                j += 1
            if int(ops[i:j]) >= depth:
                raise QueryError(f"?#{ops}: no value at {ops[i:j]}")
            if j == len(ops):
                return 1
            i, after_index, depth = j, True, depth + 1
            continue
        if ch == "!" and depth < 1 or ch in "&|" and depth < 2:
            raise QueryError(f"?#{ops}: {ch} needs more values than the stack holds")
        if ch in "&|":
            depth -= 1
        elif ch == "." and not after_index:
            if depth < 1:
                raise QueryError(f"?#{ops}: nothing to copy")
            depth += 1
        i, after_index = i + 1, False
    return depth


def _split(body: str) -> tuple[str, str]:
    name, sep, value = body.partition("=")
    if not sep:
        raise QueryError(body)
    return name, value


def _is_integer(text: str) -> bool:
    return text.lstrip("-").isdigit()


def _pop(stack: list[bool]) -> bool:
    # Below the pushed values the stack is an endless run of true.
    return stack.pop() if stack else True


def _peek(stack: list[bool], index: int) -> bool:
    return stack[-1 - index] if index < len(stack) else True


def _run_ops(ops: str, stack: list[bool]) -> list[bool]:
    """Run the characters of a `?#` word on the stack."""
    i, after_index = 0, False
    while i < len(ops):
        ch = ops[i]
        if ch.isdigit():
            j = i
            while j < len(ops) and ops[j].isdigit():
                j += 1
            value = _peek(stack, int(ops[i:j]))
            if j == len(ops):
                return [value]
            stack.append(value)
            i, after_index = j, True
            continue
        if ch == "!":
            stack.append(not _pop(stack))
        elif ch in "&|":
            a, b = _pop(stack), _pop(stack)
            stack.append((a and b) if ch == "&" else (a or b))
        elif ch == "." and not after_index:
            stack.append(_peek(stack, 0))
        elif ch != ".":
            raise QueryError(ops)
        i, after_index = i + 1, False
    return stack
