"""Many tagged commands in flight on one router session, their replies routed back by tag.

RouterOS answers each tagged command on its own, its reply sentences carrying the command's
`.tag`, so a router far away (a radio or 3G link) can work on a window of commands instead of
waiting a round trip for each. librouteros neither sends nor routes tags; its encoder
(`encode_sentence`) and its reader (`ApiProtocol.readSentence`) are used as they are, on the
session of a `RouterClient` (its login, deadlines, interrupt and abort), and this module adds the
tags, the window and the routing.

`drive` runs sequences of commands (`scheduler.routeros.steps`), each one's commands in order and
different sequences' commands at the same time. A trap answers its own command only (the router's
message kept verbatim); a session that fails (cut, timed out, closed, interrupted) fails every
sequence not yet finished with the same one RouterError, and is dropped.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from librouteros.exceptions import ProtocolError
from librouteros.protocol import LOGGER, encode_sentence, log

from scheduler.routeros.client import Held, RouterClient, RouterError, parse_attributes, trap_of
from scheduler.routeros.errors import RouterTrap, command_error
from scheduler.routeros.steps import Command, Reply, Row, Steps

WINDOW = 32
"""Commands in flight on one session at most."""
TAG = ".tag="


@dataclass
class InFlight:
    """One tagged command sent and not yet answered in full."""

    owner: int
    command: Command
    sent: float
    rows: list[Row] = field(default_factory=list)
    trap: RouterTrap | None = None


Answer = Reply | RouterError
Result = Any | Exception
"""What a sequence returned, or the exception it ended with."""


class Pipeline:
    """Runs sequences of commands on one client's session, up to `window` commands at a time."""

    def __init__(
        self,
        client: RouterClient,
        window: int = WINDOW,
        *,
        before_sending: Callable[[], None] | None = None,
    ) -> None:
        """`before_sending` is called before each write of commands (bulk work giving way)."""
        if window < 1:
            raise ValueError("a pipeline needs a window of at least one command")
        self.client = client
        self.window = window
        self._before_sending = before_sending
        self._tags = 0
        self._in_flight: dict[str, InFlight] = {}
        self._outgoing: list[bytes] = []
        self._answered: deque[tuple[int, Answer]] = deque()

    def run(self, commands: Sequence[Command]) -> list[Answer]:
        """Send every command (a window at a time); each one's reply or RouterError, in order."""
        return cast("list[Answer]", self.drive([_single(command) for command in commands]))

    def drive(self, sequences: Sequence[Steps[Any]]) -> list[Result]:
        """Run the sequences together; each one's result, or the exception it ended with."""
        if not sequences:
            return []
        results: list[Result] = [None] * len(sequences)
        unfinished = set(range(len(sequences)))
        ready: deque[tuple[int, Answer | None]] = deque((i, None) for i in unfinished)
        self._in_flight.clear()
        self._answered.clear()
        try:
            with self.client.hold("the first command of a pipeline") as held:
                while ready or self._in_flight:
                    while ready and len(self._in_flight) < self.window:
                        index, answer = ready.popleft()
                        command = self._step(sequences[index], answer, index, results)
                        if command is None:
                            unfinished.discard(index)
                        else:
                            self._queue(held, index, command)
                    self._flush(held)
                    if self._in_flight:
                        self._read(held)
                    ready.extend(self._answered)
                    self._answered.clear()
        except RouterError as failure:
            # Answers read before the session failed still count: a sequence they finish has
            # its result; one that needed another command fails with the session.
            for index, answer in self._answered:
                if self._step(sequences[index], answer, index, results) is None:
                    unfinished.discard(index)
            for index in unfinished:
                sequences[index].close()
                results[index] = failure
        finally:
            self._in_flight.clear()
            self._outgoing.clear()
        return results

    def _step(
        self, steps: Steps[Any], answer: Answer | None, index: int, results: list[Result]
    ) -> Command | None:
        """The sequence's next command, given the answer to its last; None once it has ended."""
        try:
            if answer is None:
                return next(steps)
            if isinstance(answer, RouterError):
                return steps.throw(answer)
            return steps.send(answer)
        except StopIteration as end:
            results[index] = end.value
        except Exception as error:  # the sequence's own verdict (NotOurs, a trap it re-raised)
            results[index] = error
        return None

    def _queue(self, held: Held, owner: int, command: Command) -> None:
        """Encode a tagged command for the next write; text the encoding lacks fails it alone."""
        self._tags += 1
        tag = str(self._tags)
        try:
            sentence = encode_sentence(
                command.command, *command.words, f"{TAG}{tag}", encoding=held.protocol.encoding
            )
        except (UnicodeError, ProtocolError) as refused:
            self._answered.append((owner, self._failure(refused, command.command)))
            return
        if LOGGER.isEnabledFor(logging.DEBUG):  # as librouteros logs what it writes (masked)
            log("<---", command.command, *command.words, f"{TAG}{tag}")
        self._outgoing.append(sentence)
        self._in_flight[tag] = InFlight(owner, command, time.monotonic())

    def _flush(self, held: Held) -> None:
        """Write the queued commands at once, within the oldest command's deadline."""
        if self._outgoing:
            if self._before_sending is not None:
                self._before_sending()
            self._arm(held)
            held.transport.write(b"".join(self._outgoing))
            self._outgoing.clear()

    def _arm(self, held: Held) -> None:
        """Each command has the command timeout from its sending: the oldest one sets the limit."""
        oldest = next(iter(self._in_flight.values()))
        held.command = oldest.command.command
        held.transport.deadline = oldest.sent + self.client.settings.command_timeout
        self.client.waiting_since(oldest.sent)

    def _read(self, held: Held) -> None:
        """Read reply sentences until a command is answered in full and no more have arrived."""
        answered = False
        while not answered or held.transport.buffered:
            self._arm(held)
            reply, words = held.protocol.readSentence()
            flight = self._in_flight.get(_tag_of(words))
            if flight is None:
                raise ProtocolError(f"a reply to no command in flight: {reply} {' '.join(words)}")
            if reply == "!re":
                flight.rows.append(parse_attributes(words))
            elif reply == "!trap":
                flight.trap = flight.trap or trap_of(words)
            elif reply == "!done":
                self._done(held, flight, words)
                answered = True

    def _done(self, held: Held, flight: InFlight, words: Sequence[str]) -> None:
        del self._in_flight[_tag_of(words)]
        held.round_trip = time.monotonic() - flight.sent
        answer: Answer
        if flight.trap is not None:
            answer = self._failure(flight.trap, flight.command.command)
        else:
            answer = (flight.rows, parse_attributes(words))
        self._answered.append((flight.owner, answer))

    def _failure(self, exc: BaseException, command: str) -> RouterError:
        client = self.client
        return command_error(exc, client.endpoint, command, client.settings.command_timeout)


def _single(command: Command) -> Steps[Reply]:
    return (yield command)


def _tag_of(words: Sequence[str]) -> str:
    for word in reversed(words):
        if word.startswith(TAG):
            return word[len(TAG) :]
    return ""
