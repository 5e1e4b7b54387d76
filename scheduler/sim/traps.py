"""Trap replies: the exact messages RouterOS sends and the exception that carries them."""

from __future__ import annotations

# Messages seen from real routers. Those whose wording is unconfirmed (duplicate profiles among
# them) can be re-worded per router through Behaviour.messages.
DUPLICATE_HOTSPOT_USER = "failure: already have user with this name for this server"
DUPLICATE_PPP_SECRET = "failure: secret with the same name already exists"
DUPLICATE_PROFILE = "failure: profile with the same name already exists"
DUPLICATE_INTERFACE = "failure: already have interface with such name"
NO_SUCH_ITEM = "no such item"
INVALID_ITEM_NUMBER = "invalid internal item number"
UNKNOWN_PARAMETER = "unknown parameter"
NO_SUCH_COMMAND = "no such command"
NO_SUCH_COMMAND_PREFIX = "no such command prefix"
INTERRUPTED = "interrupted"
SESSION_TERMINATED = "session terminated on request"
PLAIN_LOGIN_FAILED = "invalid user name or password (6)"
CHALLENGE_LOGIN_FAILED = "cannot log in"
NOT_LOGGED_IN = "not logged in"
DEFAULT_PROFILE_NOT_REMOVABLE = "failure: can not remove default profile"

# RouterOS trap categories (MT-API).
MISSING_ITEM_OR_COMMAND = 0
ARGUMENT_VALUE_FAILURE = 1
INTERRUPTED_CATEGORY = 2


def no_match(field: str) -> str:
    """The trap for a reference to a name that does not exist."""
    return f"input does not match any value of {field}"


def ambiguous(field: str) -> str:
    """The trap for a reference prefix that matches several names."""
    return f"ambiguous value of {field}, more than one possible value matches input"


def invalid_value(field: str) -> str:
    """The trap for a value of the wrong kind."""
    return f"invalid value for argument {field}"


def missing_value(field: str) -> str:
    """The trap for an add without a required property."""
    return f"missing value(s) of argument(s) {field}"


class Trap(Exception):
    """A command failed; the connection answers !trap (message, optional category) then !done."""

    def __init__(self, message: str, category: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.category = category
