"""Router work written once as a sequence of commands, run one at a time or many at once.

An action (find an account, add or set it, read it back) is a generator: it yields each command it
needs and is sent the reply (the `!re` rows and the `!done` attributes) or has the command's
`RouterError` thrown into it, so its own `try`/`except` sees a trap where the command was sent.
`run` drives one such sequence on a `RouterClient`, one untagged command after another; the
pipeline (`scheduler.routeros.pipeline`) drives many at once on one session, each one's commands
still in order. Both give the same result for the same answers, because the decisions are made
by the same code.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from scheduler.routeros.client import RouterClient, RouterError, attribute_words, print_words

Row = dict[str, str]
Reply = tuple[list[Row], Row]
"""The `!re` rows of a command and the attributes of its `!done`."""
T = TypeVar("T")


@dataclass(frozen=True)
class Command:
    """One API command: its command word and the words that follow it."""

    command: str
    words: tuple[str, ...] = ()


Steps = Generator[Command, Reply, T]
"""A sequence of commands that ends with a result of type T."""


def print_command(
    path: str, *, where: dict[str, str] | None = None, proplist: Sequence[str] | None = None
) -> Command:
    """A print of a menu, filtered by equality on `where` and limited to `proplist`."""
    return Command(f"{path}/print", tuple(print_words(where, proplist)))


def add_command(path: str, values: dict[str, str]) -> Command:
    """An add of one item (its .id comes back in the !done's `ret`)."""
    return Command(f"{path}/add", tuple(attribute_words(values)))


def set_command(path: str, item_id: str, values: dict[str, str]) -> Command:
    """A change of properties of one item."""
    return Command(f"{path}/set", (f"=.id={item_id}", *attribute_words(values)))


def remove_command(path: str, item_ids: Sequence[str]) -> Command:
    """A remove of items by .id (one command for all of them)."""
    return Command(f"{path}/remove", (f"=.id={','.join(item_ids)}",))


def run(client: RouterClient, steps: Steps[T]) -> T:
    """Run a sequence of commands on `client`, one at a time; its result, or what it raised."""
    try:
        command = next(steps)
        while True:
            try:
                reply = client.exchange(command.command, *command.words)
            except RouterError as error:
                command = steps.throw(error)
            else:
                command = steps.send(reply)
    except StopIteration as end:
        return end.value  # type: ignore[no-any-return]
