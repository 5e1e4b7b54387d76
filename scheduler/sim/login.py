"""/login as each RouterOS generation answers it: plain, MD5 challenge, or both."""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

from scheduler.sim import traps
from scheduler.sim.behaviour import Behaviour, LoginMode
from scheduler.sim.traps import Trap


@dataclass
class Account:
    """The API user of a simulated router."""

    username: str
    password: str


def challenge_response(password: str, challenge_hex: str) -> str:
    """The answer a client computes for a challenge: 00 + md5(0 + password + challenge)."""
    digest = hashlib.md5(
        b"\x00" + password.encode("utf-8") + bytes.fromhex(challenge_hex), usedforsecurity=False
    )
    return "00" + digest.hexdigest()


class LoginFailed(Trap):
    """Wrong credentials (or the refuse_logins fault)."""


class Login:
    """Login state of one connection."""

    def __init__(self, account: Account, behaviour: Behaviour) -> None:
        self._account = account
        self._behaviour = behaviour
        self._challenge: str | None = None
        self.logged_in = False

    def answer(self, attributes: dict[str, str], refuse: bool) -> str | None:
        """Handle /login; returns the =ret= challenge to send, or None for a bare !done."""
        mode = self._behaviour.login_mode
        if "response" in attributes:
            self._check_response(attributes, refuse, mode)
            return None
        if "password" in attributes and mode is not LoginMode.CHALLENGE:
            self._check_plain(attributes, refuse)
            return None
        if mode is LoginMode.PLAIN and not self._behaviour.bare_login_challenge:
            raise LoginFailed(traps.PLAIN_LOGIN_FAILED)
        # Pre-6.43 routers ignore name/password here and hand out a challenge.
        self._challenge = os.urandom(16).hex()
        return self._challenge

    def _check_plain(self, attributes: dict[str, str], refuse: bool) -> None:
        ok = self._name_ok(attributes) and hmac.compare_digest(
            attributes["password"].encode("utf-8", "surrogateescape"),
            self._account.password.encode("utf-8", "surrogateescape"),
        )
        if refuse or not ok:
            raise LoginFailed(traps.PLAIN_LOGIN_FAILED)
        self.logged_in = True

    def _check_response(self, attributes: dict[str, str], refuse: bool, mode: LoginMode) -> None:
        if mode is LoginMode.PLAIN:
            # 6.45.1 dropped the MD5 method; 6.47.6 refuses it with the plain-login message.
            raise LoginFailed(traps.PLAIN_LOGIN_FAILED)
        challenge, self._challenge = self._challenge, None
        ok = (
            challenge is not None
            and self._name_ok(attributes)
            and hmac.compare_digest(
                attributes["response"], challenge_response(self._account.password, challenge)
            )
        )
        if refuse or not ok:
            raise LoginFailed(traps.CHALLENGE_LOGIN_FAILED)
        self.logged_in = True

    def _name_ok(self, attributes: dict[str, str]) -> bool:
        return attributes.get("name") == self._account.username
