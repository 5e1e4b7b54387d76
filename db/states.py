"""The words of each state a row can be in, as StrEnums that compare equal to the stored text.

Apart from the tables (db.models re-exports them), so that what only shows or compares a state
loads no SQLAlchemy: the console draws its first frame before the database's modules are imported.
"""

from __future__ import annotations

from enum import StrEnum


class ServiceType(StrEnum):
    """How a router account reaches the customer."""

    HOTSPOT = "hotspot"
    PPPOE = "pppoe"


class Action(StrEnum):
    """The desired state of a router account."""

    ACTIVATE = "activate"
    DEACTIVATE = "deactivate"
    REMOVE = "remove"


class JobStatus(StrEnum):
    """Where a router account's desired state is on its way to the router."""

    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


class SubscriptionStatus(StrEnum):
    """A subscription's state; scheduled: bought to start when the current one ends."""

    ACTIVE = "active"
    SCHEDULED = "scheduled"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class PaymentStatus(StrEnum):
    """completed: spent on a package; credit: a part payment held until it reaches a price."""

    COMPLETED = "completed"
    CREDIT = "credit"


class RouterStatus(StrEnum):
    """inactive: kept for its history, never drained or checked."""

    ACTIVE = "active"
    INACTIVE = "inactive"


class ClientStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    INACTIVE = "inactive"


class Health(StrEnum):
    """What the last contact with a router said."""

    UNKNOWN = "unknown"
    UP = "up"
    DOWN = "down"
    AUTH_FAILED = "auth_failed"


class MpesaStatus(StrEnum):
    """Where an M-Pesa transaction is: pending (a push awaits its result), received (stored, not
    yet applied), applied (it paid for a package or went to credit), unmatched (no client or
    package for it: an operator's), failed (the customer did not pay: cancelled, timed out),
    expired (a push that neither callback nor query resolved within mpesa.push_expiry)."""

    PENDING = "pending"
    RECEIVED = "received"
    APPLIED = "applied"
    UNMATCHED = "unmatched"
    FAILED = "failed"
    EXPIRED = "expired"


class VoucherMode(StrEnum):
    """How a voucher logs in: its code as user and password, or a user name and a password."""

    CODE = "code"
    USER_PASS = "user-pass"


class VoucherState(StrEnum):
    """unused (on the router, never logged in), in use (its clock runs from the first login),
    expired (its time is over), revoked (withdrawn by the operator before use)."""

    UNUSED = "unused"
    IN_USE = "in use"
    EXPIRED = "expired"
    REVOKED = "revoked"
