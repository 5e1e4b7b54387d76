"""Print queries: the RouterOS query stack machine (MT-API "Queries").

Each row is tested on its own. The stack starts as an endless run of true; every word
pushes a value or runs `?#` operations; the row is kept when no value left is false.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

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


def _tokens(ops: str) -> Iterator[tuple[str, int]]:
    """The operations of one ?# word: ("index", n) or ("last", n) for a stack index (last: it ends
    the word), ("copy", 0) for a "." that is not an index's separator, (character, 0) otherwise."""
    i, after_index = 0, False
    while i < len(ops):
        if ops[i].isdigit():
            j = i
            while j < len(ops) and ops[j].isdigit():
                j += 1
            yield ("last" if j == len(ops) else "index"), int(ops[i:j])
            i, after_index = j, True
            continue
        if ops[i] != "." or not after_index:
            yield ("copy" if ops[i] == "." else ops[i]), 0
        i, after_index = i + 1, False


NEEDS = {"!": 1, "copy": 1, "&": 2, "|": 2}
"""Values each operation takes from the stack."""


def _ops_depth(ops: str, depth: int) -> int:
    """The stack depth after the operations of one ?# word; QueryError if one runs short."""
    for kind, index in _tokens(ops):
        if kind in ("index", "last"):
            if index >= depth:
                raise QueryError(f"?#{ops}: no value at {index}")
            if kind == "last":
                return 1
            depth += 1
        elif depth < NEEDS.get(kind, 0):
            raise QueryError(f"?#{ops}: {kind} needs more values than the stack holds")
        else:
            depth += {"&": -1, "|": -1, "copy": 1}.get(kind, 0)
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
    """Run the operations of a `?#` word on the stack."""
    for kind, index in _tokens(ops):
        if kind == "last":
            return [_peek(stack, index)]
        if kind == "index":
            stack.append(_peek(stack, index))
        elif kind == "!":
            stack.append(not _pop(stack))
        elif kind in "&|":
            a, b = _pop(stack), _pop(stack)
            stack.append((a and b) if kind == "&" else (a or b))
        elif kind == "copy":
            stack.append(_peek(stack, 0))
        else:
            raise QueryError(ops)
    return stack
