"""What a simulated router does where RouterOS versions differ or the reference is unsure.

Everything the reference lists as UNCONFIRMED is a switch here, with the most likely
answer as default, so a test can flip it instead of the simulator guessing a hard rule.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import Enum


class LoginMode(Enum):
    """How /login works on a RouterOS version."""

    PLAIN = "plain"  # 6.45.1 and later: =name= =password=, MD5 answers refused
    BOTH = "both"  # 6.43 and 6.44: plain and MD5 challenge both accepted
    CHALLENGE = "challenge"  # before 6.43: MD5 challenge only


def parse_version(text: str) -> tuple[int, ...]:
    """'7.18.2' -> (7, 18, 2); a trailing ' (stable)' or 'rc' part is ignored."""
    numbers = []
    for part in text.split()[0].split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        numbers.append(int(digits or 0))
    return tuple(numbers)


def login_mode_for(version: tuple[int, ...]) -> LoginMode:
    """Which login a version speaks (6.43 added plain login, 6.45.1 removed MD5)."""
    if version < (6, 43):
        return LoginMode.CHALLENGE
    if version < (6, 45):
        return LoginMode.BOTH
    return LoginMode.PLAIN


@dataclass
class Behaviour:
    """Per-router switches. Built from a version by `for_version`, then adjustable."""

    login_mode: LoginMode = LoginMode.PLAIN
    # RouterOS 7.18 added !empty for a print that finds nothing.
    empty_reply: bool = True
    # Unconfirmed: whether print count-only with zero rows also sends !empty.
    empty_on_zero_count: bool = False
    # 6.47.6 answers a bare /login with =ret=; unconfirmed for 7.x.
    bare_login_challenge: bool = True
    # Unconfirmed: whether the connection survives a failed login.
    close_after_failed_login: bool = False
    # Unconfirmed: the limit of sentences accepted before login (None: no limit).
    sentences_before_login: int | None = None
    # Dates: "legacy" prints may/01/2023 20:52:13, "iso" prints 2023-05-01 20:52:13.
    date_style: str = "iso"
    # Unconfirmed: < and > compare numerically when both sides are integers.
    numeric_compare: bool = True
    # Unconfirmed: =.id= / =numbers= may name a row by its key (e.g. a user name).
    ids_by_name: bool = False
    # Unconfirmed: a unique prefix of a referenced name (profile) is accepted.
    reference_prefixes: bool = False
    # Unconfirmed: byte limits accept 5G / 500M / 64k.
    byte_suffixes: bool = False
    # Unconfirmed: single-row menus (identity, resource) print a .id.
    single_row_id: bool = False
    # Unconfirmed on a real router; by default removing a user leaves its session running.
    remove_user_kicks_session: bool = False
    # Unconfirmed: ?# operations on values never pushed are an error (MT-API describes an endless
    # run of true below the stack; a router is expected to refuse such a query instead).
    strict_query_stack: bool = True
    # Limits on what a client may send; RouterOS has such limits, their values are unconfirmed.
    # A word or sentence beyond them gets !fatal and the connection is closed, before it is read.
    max_word_bytes: int = 1 << 20
    max_sentence_bytes: int = 2 << 20
    max_sentence_words: int = 4096
    # Before the login only a login fits (MT-API: "a limit on ... before it has logged in").
    max_bytes_before_login: int = 4096
    # API sessions open at once; a connection beyond it is closed as soon as it is accepted.
    max_sessions: int = 100
    # Seconds a logged-in session may send nothing (None: forever; whether RouterOS closes idle
    # API sessions is unconfirmed, `wisp sim` closes them after 10 minutes). One that has not
    # logged in gets login_timeout at most. A session following a `listen` is never idle.
    idle_timeout: float | None = None
    login_timeout: float = 30.0
    # Trap message rewording and categories, keyed by the simulator's default message.
    messages: dict[str, str] = field(default_factory=dict)
    categories: dict[str, int] = field(default_factory=dict)

    @classmethod
    def for_version(cls, ros_version: str) -> Behaviour:
        """Defaults that match what is known of a RouterOS version."""
        version = parse_version(ros_version)
        return cls(
            login_mode=login_mode_for(version),
            empty_reply=version >= (7, 18),
            date_style="iso" if version >= (7, 10) else "legacy",
        )

    def format_date(self, epoch: float) -> str:
        """A timestamp as this version prints it (may/01/2023 20:52:13 or 2023-05-01 20:52:13)."""
        moment = time.localtime(epoch)
        if self.date_style == "legacy":
            return time.strftime("%b/%d/%Y %H:%M:%S", moment).lower()
        return time.strftime("%Y-%m-%d %H:%M:%S", moment)

    def trap_text(self, message: str, category: int | None) -> tuple[str, int | None]:
        """Apply rewording and category switches to a trap."""
        return self.messages.get(message, message), self.categories.get(message, category)
