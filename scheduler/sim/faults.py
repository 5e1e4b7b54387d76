"""Faults a test or a demo can switch on at start-up or at run time."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

EVERY_COMMAND = "*"
"""A trap rule's command that matches every command after the login."""


@dataclass
class TrapRule:
    """Make commands matching `command` (or every command: "*") trap with `message` (`times`
    None: until cleared)."""

    command: str
    message: str
    category: int | None = None
    times: int | None = None


class Faults:
    """Switches read by the server on every connection, command and sentence.

    latency: seconds added before each answer. half_open: connections are accepted and nothing is
    ever answered, not even the login. hang_after_login: the login is answered, nothing after it
    (a stuck API service). refuse_logins: every login fails as a wrong password would.
    refuse_connections: the port is closed. drop_after_sentences: each connection is cut after
    that many reply sentences. trap(): commands answer a !trap. slow(): commands take longer.
    """

    def __init__(self, on_listener_change: Callable[[], None] = lambda: None) -> None:
        self._on_listener_change = on_listener_change
        self._refuse_connections = False
        self._drop_after: int | None = None
        # Changes whenever drop_after_sentences is set, so each arming counts afresh.
        self.drop_arming = 0
        self._armings = itertools.count(1)
        self.latency = 0.0
        self.half_open = False
        self.hang_after_login = False
        self.refuse_logins = False
        self.rules: list[TrapRule] = []
        self.slow_commands: dict[str, float] = {}

    @property
    def refuse_connections(self) -> bool:
        """While true the listening socket is closed: new connections are refused."""
        return self._refuse_connections

    @refuse_connections.setter
    def refuse_connections(self, value: bool) -> None:
        self._refuse_connections = bool(value)
        self._on_listener_change()

    @property
    def drop_after_sentences(self) -> int | None:
        """Close each connection after it has sent this many more reply sentences."""
        return self._drop_after

    @drop_after_sentences.setter
    def drop_after_sentences(self, value: int | None) -> None:
        self._drop_after = value
        self.drop_arming = next(self._armings)

    def trap(
        self, command: str, message: str, category: int | None = None, times: int | None = None
    ) -> None:
        """Make the next commands `command` (e.g. /ip/hotspot/user/add) answer this trap."""
        self.rules.append(TrapRule(command, message, category, times))

    def take_trap(self, command: str) -> TrapRule | None:
        """The rule for a command about to run, counting it down; None if none applies."""
        for rule in self.rules:
            if rule.command in (command, EVERY_COMMAND):
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self.rules.remove(rule)
                return rule
        return None

    def slow(self, command: str, seconds: float) -> None:
        """Make every `command` (e.g. /ip/hotspot/user/print) take `seconds` more to answer."""
        self.slow_commands[command] = seconds

    def slowness(self, command: str) -> float:
        """Seconds `command` takes beyond the latency."""
        return self.slow_commands.get(command, 0.0) if self.slow_commands else 0.0

    def clear(self) -> None:
        """Switch every fault off."""
        self.latency = 0.0
        self.half_open = False
        self.hang_after_login = False
        self.refuse_logins = False
        self.rules.clear()
        self.slow_commands.clear()
        self.drop_after_sentences = None
        self.refuse_connections = False
