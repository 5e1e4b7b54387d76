"""Tables of WISP Console. Names follow the PHP/MySQL system it replaces, so operators know them.

Every timestamp is timezone-aware UTC (`UTCDateTime`); secrets are stored encrypted (`*_encrypted`)
or referenced by an environment variable name (`password_env`), never in clear.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Numeric, Table, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from db.states import (
    Action,
    ClientStatus,
    Health,
    JobStatus,
    PaymentStatus,
    ServiceType,
    SubscriptionStatus,
)
from db.states import MpesaStatus as MpesaStatus
from db.states import RouterStatus as RouterStatus
from db.states import VoucherMode as VoucherMode
from db.states import VoucherState as VoucherState
from db.types import UTCDateTime, utcnow

# The states' words (JobStatus, Health, ...) are defined in db.states, without SQLAlchemy; they
# are imported from here too.

SERVICE_TYPES = tuple(ServiceType)
ACCOUNT_TYPES = ("personal", "business")
ACTIONS = tuple(Action)
JOB_STATUSES = tuple(JobStatus)
SUBSCRIPTION_STATUSES = tuple(SubscriptionStatus)
PAYMENT_STATUSES = tuple(PaymentStatus)
CLIENT_STATUSES = tuple(ClientStatus)
HEALTH = tuple(Health)
PROFILE_ORIGINS = ("created", "adopted")
LOG_TYPES = ("Activation", "Router", "Subscription", "Payment", "General")


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def _updated() -> Any:
    return Field(
        default_factory=utcnow,
        sa_type=UTCDateTime,
        nullable=False,
        sa_column_kwargs={"onupdate": utcnow},
    )


def _when(index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=True, index=index)


class Router(SQLModel, table=True):
    """A MikroTik reached over the RouterOS API."""

    __tablename__ = "routers"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    host: str = Field(max_length=255)
    port: int = 8728
    use_tls: bool = False
    tls_verify: bool = True
    tls_fingerprint: str | None = Field(default=None, max_length=95)
    username: str = Field(max_length=64)
    password_encrypted: str | None = Field(default=None, sa_type=Text)
    password_env: str | None = Field(default=None, max_length=128)
    status: str = Field(default="active", max_length=16)
    health: str = Field(default=Health.UNKNOWN, max_length=16)
    health_since: datetime | None = _when()
    last_seen: datetime | None = _when()
    last_error: str | None = Field(default=None, sa_type=Text)
    identity: str | None = Field(default=None, max_length=128)
    version: str | None = Field(default=None, max_length=64)
    uptime: str | None = Field(default=None, max_length=64)
    drift_summary: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    drift_checked_at: datetime | None = _when()
    created_at: datetime = _created()
    updated_at: datetime = _updated()


class Package(SQLModel, table=True):
    """A time-limited internet package; `router_profile` is derived from its shaping."""

    __tablename__ = "packages"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    type: str = Field(max_length=16)
    account_type: str = Field(default="personal", max_length=16)
    price: Decimal = Field(default=Decimal("0"), sa_type=Numeric(12, 2))
    duration_length: int
    duration_unit: str = Field(max_length=16)
    router_id: int | None = Field(default=None, foreign_key="routers.id", index=True)
    router_profile: str = Field(max_length=128)
    rate_limit: str = Field(max_length=128)
    bandwidth_value: int
    bandwidth_unit: str = Field(default="Mbps", max_length=8)
    upload_value: int | None = None
    burst_enabled: bool = False
    burst_upload_rate_kbps: int | None = None
    burst_download_rate_kbps: int | None = None
    burst_upload_threshold_kbps: int | None = None
    burst_download_threshold_kbps: int | None = None
    burst_upload_time: int | None = None
    burst_download_time: int | None = None
    hotspot_plan_type: str = Field(default="unlimited", max_length=16)
    hotspot_data_limit: int | None = Field(default=None, sa_type=BigInteger)
    hotspot_device_limit: int | None = None
    imported_at: datetime | None = _when()
    created_at: datetime = _created()
    updated_at: datetime = _updated()


class Client(SQLModel, table=True):
    """A customer; `username` is their login on the router."""

    __tablename__ = "clients"

    id: int | None = Field(default=None, primary_key=True)
    full_name: str = Field(max_length=128)
    username: str = Field(max_length=64, unique=True)
    phone: str | None = Field(default=None, max_length=32, index=True)
    email: str | None = Field(default=None, max_length=128)
    account_type: str = Field(default="personal", max_length=16)
    status: str = Field(default="active", max_length=16)
    credit: Decimal = Field(default=Decimal("0"), sa_type=Numeric(12, 2))
    """Money received but not yet spent on a package (part payments, overpayments)."""
    imported_at: datetime | None = _when()
    created_at: datetime = _created()
    updated_at: datetime = _updated()


class Payment(SQLModel, table=True):
    """Money received; a `reference` (e.g. the M-Pesa receipt) activates at most once."""

    __tablename__ = "payments"

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="clients.id", index=True)
    package_id: int = Field(foreign_key="packages.id")
    amount: Decimal = Field(sa_type=Numeric(12, 2))
    method: str = Field(default="mpesa", max_length=16)
    reference: str | None = Field(default=None, max_length=64, unique=True)
    status: str = Field(default="completed", max_length=16)
    subscription_id: int | None = Field(default=None)
    """The subscription this payment bought or extended (None while it is held as credit)."""
    granted_seconds: int | None = Field(default=None, sa_type=BigInteger)
    """Time on the router this payment bought (a switch's converted time included)."""
    transaction_date: datetime = _created()
    created_at: datetime = _created()
    updated_at: datetime = _updated()


class Subscription(SQLModel, table=True):
    """A client's package for a period of time."""

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_status_expires_on", "status", "expires_on"),)

    id: int | None = Field(default=None, primary_key=True)
    client_id: int = Field(foreign_key="clients.id", index=True)
    package_id: int = Field(foreign_key="packages.id")
    router_id: int | None = Field(default=None, foreign_key="routers.id")
    payment_id: int | None = Field(default=None, foreign_key="payments.id")
    provisioning_id: int | None = Field(default=None, foreign_key="router_provisionings.id")
    start_date: datetime = Field(sa_type=UTCDateTime, nullable=False)
    expires_on: datetime = Field(sa_type=UTCDateTime, nullable=False)
    status: str = Field(default="active", max_length=16)
    starts_on_delivery: bool = False
    """The clock waits for the account to be confirmed on the router (see `delivered_at`)."""
    delivered_at: datetime | None = _when()
    """When the subscription's account was first confirmed on the router."""
    paused_at: datetime | None = _when()
    """Its client is suspended: the clock stopped at this moment, and the expiry waits."""
    paused_seconds: int = Field(default=0, sa_type=BigInteger)
    """Time its clock stood still while the client was suspended; its expiry moved by as much."""

    @property
    def clock_waiting(self) -> bool:
        """The clock has not started: it waits for the account to be confirmed on the router."""
        return self.starts_on_delivery and self.delivered_at is None

    @property
    def clock_running(self) -> bool:
        """Its time is being used: active, started, and its client not suspended."""
        return (
            self.status == SubscriptionStatus.ACTIVE
            and not self.clock_waiting
            and self.paused_at is None
        )

    imported_at: datetime | None = _when()
    created_at: datetime = _created()
    updated_at: datetime = _updated()


class RouterProvisioning(SQLModel, table=True):
    """One router account and its desired state; the queue of what still has to reach a router.

    `revision` grows each time the desired state changes, so a worker that finishes an older
    revision puts the row back to pending instead of marking it completed.
    """

    __tablename__ = "router_provisionings"
    __table_args__ = (
        UniqueConstraint(
            "router_id",
            "service_type",
            "router_username",
            name="uq_router_provisionings_account",
        ),
        Index("ix_router_provisionings_due", "status", "next_attempt_at"),
        Index("ix_router_provisionings_claim", "status", "priority", "next_attempt_at"),
        Index("ix_router_provisionings_router_status", "router_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    client_id: int | None = Field(default=None, foreign_key="clients.id", index=True)
    router_id: int = Field(foreign_key="routers.id")
    package_id: int | None = Field(default=None, foreign_key="packages.id")
    subscription_id: int | None = Field(default=None)
    service_type: str = Field(max_length=16)
    action: str = Field(default="activate", max_length=16)
    router_username: str = Field(max_length=64)
    router_password: str | None = Field(default=None, sa_type=Text)
    router_profile: str | None = Field(default=None, max_length=128)
    adopt: bool = False
    """May take over an account of that name on the router that we did not create."""
    router_comment: str | None = Field(default=None, sa_type=Text)
    """The router comment's own text, kept beside our tag (from an import or an adopted account)."""
    router_extra: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    """Router fields no package models (limit-uptime, limit-bytes-total, mac-address, ...), kept."""
    status: str = Field(default="pending", max_length=16)
    priority: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    """0 for a customer's account (paid, waiting); higher is bulk work (a voucher batch) that
    goes after every due job of a lower number."""
    attempts: int = 0
    revision: int = 1
    last_error: str | None = Field(default=None, sa_type=Text)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    locked_at: datetime | None = _when()
    locked_by: str | None = Field(default=None, max_length=128)
    completed_at: datetime | None = _when()
    imported_at: datetime | None = _when()
    created_at: datetime = _created()
    updated_at: datetime = _updated()


class RouterProfile(SQLModel, table=True):
    """A user profile on a router that is ours to write: created by us, or adopted by an operator.

    RouterOS has no comment on hotspot user profiles, so ownership is recorded here; a profile with
    no row is someone else's and is never changed.
    """

    __tablename__ = "router_profiles"
    __table_args__ = (
        UniqueConstraint("router_id", "service_type", "name", name="uq_router_profiles_name"),
    )

    id: int | None = Field(default=None, primary_key=True)
    router_id: int = Field(foreign_key="routers.id")
    service_type: str = Field(max_length=16)
    name: str = Field(max_length=128)
    origin: str = Field(default="created", max_length=16)
    created_at: datetime = _created()


class SystemLog(SQLModel, table=True):
    """The LogService's table: what happened, for the operator and for audit. No secrets, ever."""

    __tablename__ = "system_logs"

    id: int | None = Field(default=None, primary_key=True)
    level: str = Field(max_length=16)
    type: str = Field(max_length=16, index=True)
    message: str = Field(sa_type=Text)
    context: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    client_id: int | None = Field(default=None, index=True)
    provisioning_id: int | None = Field(default=None, index=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True
    )


# The tables, for queries written in SQLAlchemy Core; each letter names one table everywhere.
C: Table = Client.__table__  # type: ignore[attr-defined]
J: Table = RouterProvisioning.__table__  # type: ignore[attr-defined]
L: Table = SystemLog.__table__  # type: ignore[attr-defined]
P: Table = Package.__table__  # type: ignore[attr-defined]
R: Table = Router.__table__  # type: ignore[attr-defined]
S: Table = Subscription.__table__  # type: ignore[attr-defined]

# Every flush is checked against this schema before it is sent (db/validation.py).
import db.validation  # noqa: E402,F401


class MpesaTransaction(SQLModel, table=True):
    """Every STK Push and every Daraja callback or recovered transaction, stored before it is
    acknowledged; the raw payload beside the parsed fields. Unique on the receipt and on the
    CheckoutRequestID, so a repeated callback finds its row instead of adding one."""

    __tablename__ = "mpesa_transactions"
    __table_args__ = (Index("ix_mpesa_transactions_status_created_at", "status", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=8)
    """stk (a push we made) or c2b (the customer paid the paybill or till)."""
    status: str = Field(default="received", max_length=16)
    source: str = Field(default="callback", max_length=16)
    """How it reached us first: push, callback, query or pull."""
    origin: str | None = Field(default=None, max_length=16)
    """Who asked for a push: "operator" (the console or `wisp pay request`) or "portal" (a
    walk-in customer); None for a payment the customer made by paybill or till."""
    device: str | None = Field(default=None, max_length=17)
    """The device (MAC address) a portal push was asked from: when the payment is applied, a
    package for one device is bound to it on the router."""
    receipt: str | None = Field(default=None, max_length=32, unique=True)
    checkout_request_id: str | None = Field(default=None, max_length=64, unique=True)
    merchant_request_id: str | None = Field(default=None, max_length=64)
    payment_ref: str | None = Field(default=None, max_length=64)
    """The reference it is applied under: the receipt, or the CheckoutRequestID when a query
    learnt of the payment before its receipt; fixed once, so every apply uses the same."""
    result_code: int | None = None
    result_desc: str | None = Field(default=None, sa_type=Text)
    msisdn: str | None = Field(default=None, max_length=32)
    amount: Decimal | None = Field(default=None, sa_type=Numeric(12, 2))
    bill_ref: str | None = Field(default=None, max_length=64)
    shortcode: str | None = Field(default=None, max_length=16)
    payer_name: str | None = Field(default=None, max_length=128)
    transaction_time: datetime | None = _when()
    client_id: int | None = Field(default=None, foreign_key="clients.id", index=True)
    package_id: int | None = Field(default=None, foreign_key="packages.id")
    payment_id: int | None = Field(default=None, foreign_key="payments.id")
    note: str | None = Field(default=None, sa_type=Text)
    """Why it is unmatched or failed, in the operator's words."""
    deliveries: int = 0
    """How many times Daraja delivered it (callbacks, queries and pulls that found it)."""
    raw: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    applied_at: datetime | None = _when()
    created_at: datetime = _created()
    updated_at: datetime = _updated()


M: Table = MpesaTransaction.__table__  # type: ignore[attr-defined]


class VoucherBatch(SQLModel, table=True):
    """A batch of vouchers generated together for one package (and so one router and price)."""

    __tablename__ = "voucher_batches"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    package_id: int = Field(foreign_key="packages.id", index=True)
    router_id: int = Field(foreign_key="routers.id")
    count: int
    price: Decimal = Field(sa_type=Numeric(12, 2))
    """Each voucher's selling price when the batch was made (a later package price change does
    not change what was printed)."""
    validity_seconds: int = Field(sa_type=BigInteger)
    mode: str = Field(default="code", max_length=16)
    prefix: str = Field(default="", max_length=16)
    length: int = 6
    note: str | None = Field(default=None, max_length=128)
    created_by: str = Field(max_length=64)
    imported_at: datetime | None = _when()
    created_at: datetime = _created()


class Voucher(SQLModel, table=True):
    """One code of a batch: a hotspot user on the batch's router, ours through its account row.

    Its state is read from its columns: revoked when `revoked_at` is set, unused until a
    subscription started on first login, then in use or expired as that subscription is.
    """

    __tablename__ = "vouchers"
    __table_args__ = (UniqueConstraint("router_id", "code", name="uq_vouchers_router_code"),)

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="voucher_batches.id", index=True)
    router_id: int = Field(foreign_key="routers.id")
    code: str = Field(max_length=64)
    password_encrypted: str | None = Field(default=None, sa_type=Text)
    """User-pass mode only; in code mode the code is the password."""
    provisioning_id: int | None = Field(default=None, foreign_key="router_provisionings.id")
    subscription_id: int | None = Field(default=None, foreign_key="subscriptions.id")
    client_id: int | None = Field(default=None, foreign_key="clients.id")
    first_login_at: datetime | None = _when(index=True)
    revoked_at: datetime | None = _when()
    created_at: datetime = _created()
    updated_at: datetime = _updated()


class WakeListener(SQLModel, table=True):
    """An engine listening on a loopback UDP port for word of jobs queued by other processes on
    its machine (SQLite and MariaDB; on PostgreSQL a trigger NOTIFYs instead)."""

    __tablename__ = "wake_listeners"

    worker: str = Field(primary_key=True, max_length=128)
    host: str = Field(max_length=255)
    pid: int
    port: int
    updated_at: datetime = _updated()


class RateLimit(SQLModel, table=True):
    """Recent attempts of one kind by one key (a phone number, a device), shared by every
    process serving the portal: the times of those within the window, oldest first."""

    __tablename__ = "rate_limits"

    kind: str = Field(primary_key=True, max_length=16)
    key: str = Field(primary_key=True, max_length=64)
    times: str = Field(default="", sa_type=Text)
    """Epoch seconds of the attempts still within the window, comma separated."""
    updated_at: datetime = _updated()
