"""Rate limits on the portal: STK Push requests per phone number and per device (MAC), and wrong
voucher or receipt codes per device.

Counted in the database (db.limits), so that several processes serving the portal, or a restart,
count together.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from db.limits import SharedLimit, allow_all


class StkLimits:
    """The portal's limits: STK Push requests per phone and per device (a request must pass
    both), and wrong voucher or receipt codes per device (so codes cannot be tried in bulk)."""

    def __init__(
        self, engine: Engine, per_phone: int, per_mac: int, window: float, wrong_codes: int
    ) -> None:
        self.phone = SharedLimit(engine, "stk-phone", per_phone, window)
        self.mac = SharedLimit(engine, "stk-device", per_mac, window)
        self.wrong_codes = SharedLimit(engine, "wrong-code", wrong_codes, window)

    def allow(self, phone: str, mac: str | None) -> bool:
        """Count a push request under both limits, or under neither when one is reached."""
        attempts = [(self.phone, phone)] + ([(self.mac, mac)] if mac is not None else [])
        return allow_all(self.phone.engine, attempts)
