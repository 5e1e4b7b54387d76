"""The exit codes of `wisp`, defined here only (the README's "Exit codes" lists them).

0  done
1  error: the request was refused or could not be carried out (one sentence on stderr)
2  usage: a missing, unknown or malformed option or value
3  already applied: the payment reference was applied before; nothing was done again
4  drift found: `wisp reconcile` found the router and the database differing
5  held or failed jobs: `wisp run --once` left jobs held on a router that is down or refuses
   the login, or a job failed for good
"""

from __future__ import annotations

from enum import IntEnum

from db.errors import UserError


class Exit(IntEnum):
    DONE = 0
    ERROR = 1
    USAGE = 2
    ALREADY_APPLIED = 3
    DRIFT = 4
    HELD_OR_FAILED = 5


class UsageError(UserError):
    """A command given without what it needs, or with a value of the wrong form (exit 2)."""


def code_for(error: BaseException) -> Exit:
    """The exit code of an operator error."""
    from db.activation import DuplicatePayment

    if isinstance(error, UsageError):
        return Exit.USAGE
    if isinstance(error, DuplicatePayment):
        return Exit.ALREADY_APPLIED
    return Exit.ERROR
