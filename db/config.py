"""Settings: a TOML file, overridden by environment variables, secrets only from the environment.

Order of precedence (last wins): built-in defaults, the TOML file, `WISP_<SECTION>_<KEY>` environment
variables (and a `.env` file beside the config, loaded without overriding the real environment).
Every problem is reported as one `ConfigError` sentence naming the file, the key and what is wrong.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from db.errors import UserError

DEFAULT_CONFIG = "config.toml"
SECRET_KEY_ENV = "WISP_SECRET_KEY"


class ConfigError(UserError):
    """A configuration problem, told in one sentence."""


@dataclass
class DatabaseSettings:
    """Where the data lives."""

    url: str = "sqlite:///wisp.db"
    """SQLAlchemy URL: sqlite:///path.db, postgresql+psycopg://user@host/db or
    mariadb+pymysql://user@host/db. Put a URL holding a password in WISP_DATABASE_URL instead."""
    echo: bool = False
    """Log every SQL statement (for debugging only)."""


@dataclass
class QueueSettings:
    """How the provisioning queue retries."""

    max_attempts: int = 5
    """Router errors a job may meet before it is marked failed (an unreachable router spends none)."""
    backoff_base: float = 5.0
    """Seconds before the first retry; doubles with each attempt, with jitter."""
    backoff_max: float = 900.0
    """Longest wait between two attempts, in seconds."""
    lease_seconds: int = 120
    """How long a claimed job stays with its worker unless renewed (a running batch renews its
    leases a few times per lease); then the reaper returns it to pending."""
    batch_size: int = 200
    """Jobs one drain claims per router at a time (fewer when the router is too slow for half a
    lease)."""


@dataclass
class SchedulerSettings:
    """Timers of the embedded and headless scheduler."""

    drain_interval: float = 1.0
    """Seconds between queue drains (an enqueue in the same process drains at once)."""
    expiry_interval: float = 30.0
    """Seconds between sweeps for expired subscriptions."""
    reaper_interval: float = 30.0
    """Seconds between sweeps for jobs whose worker died."""
    health_interval: float = 30.0
    """Seconds between router health checks."""
    drift_interval: float = 0.0
    """Seconds between read-only drift checks of each router (0 turns them off)."""
    voucher_interval: float = 60.0
    """Seconds between looks for vouchers' first logins on routers holding unused ones (a
    voucher's clock starts at its first login, read from the router's uptime: a longer interval
    loses no time, it only shows the start later)."""
    expiry_action: str = "deactivate"
    """What expiry does to a router account: "deactivate" (disable, kick, drop cookie) or "remove"."""
    worker_name: str = ""
    """Name this process claims jobs under; empty means host:pid."""


@dataclass
class RouterSettings:
    """How the console talks to RouterOS."""

    connect_timeout: float = 5.0
    """Seconds to wait for a router to accept the connection and the login (one deadline)."""
    command_timeout: float = 10.0
    """Seconds a router has to answer one command in full; one that logged in but does not is
    taken as away (its jobs wait without spending attempts)."""
    encoding: str = "utf-8"
    """Character set of names and comments on the routers (utf-8, or latin-1/cp1252 to match Winbox)."""
    sessions: int = 4
    """API sessions the drain opens per router at most (RouterOS allows 20 by default, shared by
    every console, runner and tool that talks to the router)."""
    commands_in_flight: int = 32
    """Tagged commands one session sends before waiting for answers (a far router then costs a
    round trip per window, not per command); 1 sends one untagged command at a time."""


@dataclass
class ConsoleSettings:
    """The terminal console."""

    timezone: str = "Africa/Nairobi"
    """Zone dates are shown in (stored dates are always UTC)."""
    refresh_interval: float = 1.0
    """Seconds between pane refreshes."""
    keymap: dict[str, str] = field(default_factory=dict)
    """Rebind keys: binding id = "key", e.g. activate = "ctrl+a"."""


@dataclass
class ActivationSettings:
    """What an activation sells and when its clock starts."""

    validity_starts: str = "delivery"
    """When a new subscription's clock starts: "delivery" (when its account is confirmed on the
    router, so an outage never eats paid time) or "payment"."""
    payment_methods: list[str] = field(default_factory=lambda: ["mpesa", "cash", "bank", "voucher"])
    """The payment methods an activation accepts (`--method`); the first is the default with a
    payment reference."""


@dataclass
class MpesaSettings:
    """M-Pesa in through Safaricom's Daraja: STK Push and paybill/till (C2B) payments.

    The consumer key and secret, the passkey and the callback token come from the environment
    (or `.env`) only: WISP_MPESA_CONSUMER_KEY, WISP_MPESA_CONSUMER_SECRET, WISP_MPESA_PASSKEY,
    WISP_MPESA_CALLBACK_TOKEN."""

    base_url: str = "https://sandbox.safaricom.co.ke"
    """Daraja: the sandbox, https://api.safaricom.co.ke in production, or `wisp sim-mpesa`."""
    shortcode: str = "174379"
    """The paybill number, or for a till the store number that STK Push is made under."""
    type: str = "paybill"
    """paybill (customers pay with their username as the account number) or till."""
    till: str = ""
    """The till number customers pay (type = till only)."""
    listen: str = ""
    """host:port where `wisp run` receives Daraja's callbacks; empty: no receiver."""
    callback_base_url: str = ""
    """The public https address Daraja reaches that receiver at (a reverse proxy's)."""
    allowlist: str = ""
    """Addresses or networks callbacks may come from, comma-separated; empty: any (logged)."""
    max_body: int = 16_384
    """Largest callback body accepted, in bytes."""
    query_after: float = 90.0
    """Seconds after a push with no callback before its result is asked for (STK Push Query)."""
    recovery_interval: float = 30.0
    """Seconds between recovery rounds (queries of unanswered pushes, unapplied payments)."""
    pull_interval: float = 0.0
    """Seconds between Pull Transactions of the recent window (0: off; needs Pull registered)."""
    pull_window: float = 3600.0
    """How far back each pull looks, in seconds."""
    timeout: float = 15.0
    """Seconds to wait for Daraja to answer a request."""
    push_expiry: float = 86_400.0
    """Seconds after which a push that neither its callback nor a query resolved is closed as
    expired (queried once more first), so recovery stops asking for it."""
    refuse_unknown_accounts: bool = False
    """Refuse a paybill payment at C2B validation (ResultCode C2B00012, invalid account) when
    its account number is no client's username, so the customer's money never moves; off:
    such payments are taken and left unmatched for an operator to assign."""

    def allowed_networks(self) -> list[str]:
        return [entry.strip() for entry in self.allowlist.split(",") if entry.strip()]


@dataclass
class VoucherSettings:
    """Hotspot voucher cards (`wisp voucher print`)."""

    operator: str = "WISP Console"
    """The name printed on every card: your business, as customers know it."""
    hotspot_dns: str = ""
    """The hotspot's DNS name the cards' QR codes log in at (http://NAME/login?...); empty: read
    from the router's hotspot server profile (dns-name) when printing."""


@dataclass
class PortalSettings:
    """The captive portal: walk-in hotspot customers buy a package by M-Pesa, use a voucher or
    reconnect with a receipt code. Its signing secret comes from the environment only:
    WISP_PORTAL_SECRET."""

    enabled: bool = False
    """Serve the portal beside the M-Pesa receiver of `wisp run`."""
    public_url: str = ""
    """The address customers' phones reach the portal at (in the walled garden), e.g.
    http://portal.example.co.ke/portal; `wisp portal login-page` sends the hotspot there."""
    router: str = ""
    """The router a request is for when the hotspot's login page names none."""
    hotspot_hosts: str = ""
    """Extra host names or addresses the hotspot's login link may point at, comma-separated;
    the router's own address and vouchers.hotspot_dns are always accepted."""
    stk_per_phone: int = 3
    """STK Push requests one phone number may make within rate_window."""
    stk_per_mac: int = 5
    """STK Push requests one device (MAC address) may make within rate_window."""
    wrong_codes: int = 10
    """Wrong voucher or receipt codes one device (MAC address) may enter within rate_window."""
    rate_window: float = 600.0
    """Seconds over which STK Push requests and wrong codes are counted (in this process's
    memory)."""
    refresh_seconds: int = 3
    """Seconds between two looks of the payment page at a payment not settled yet."""

    def extra_hosts(self) -> list[str]:
        return [entry.strip().lower() for entry in self.hotspot_hosts.split(",") if entry.strip()]


@dataclass
class LoggingSettings:
    """Python logging of the headless runner and the CLI."""

    level: str = "INFO"
    """DEBUG, INFO, WARNING or ERROR."""


@dataclass
class Settings:
    """Every setting of WISP Console; `config.example.toml` documents each one."""

    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    queue: QueueSettings = field(default_factory=QueueSettings)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    routers: RouterSettings = field(default_factory=RouterSettings)
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
    activation: ActivationSettings = field(default_factory=ActivationSettings)
    mpesa: MpesaSettings = field(default_factory=MpesaSettings)
    vouchers: VoucherSettings = field(default_factory=VoucherSettings)
    portal: PortalSettings = field(default_factory=PortalSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    source: str = "(defaults)"
    """The file the settings came from."""

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.console.timezone)


SECTIONS = (
    "database",
    "queue",
    "scheduler",
    "routers",
    "console",
    "activation",
    "mpesa",
    "vouchers",
    "portal",
    "logging",
)
CHOICES = {
    ("scheduler", "expiry_action"): ("deactivate", "remove"),
    ("activation", "validity_starts"): ("delivery", "payment"),
    ("logging", "level"): ("DEBUG", "INFO", "WARNING", "ERROR"),
    ("mpesa", "type"): ("paybill", "till"),
}


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The config file to use: --config, then WISP_CONFIG, then ./config.toml."""
    return Path(explicit or os.environ.get("WISP_CONFIG") or DEFAULT_CONFIG)


def load_settings(
    path: str | os.PathLike[str] | None = None, *, required: bool = False
) -> Settings:
    """Read settings from `path` (see `config_path`) and the environment.

    A missing file is fine (defaults apply) unless `required` or the path was given explicitly.
    """
    explicit = path is not None or "WISP_CONFIG" in os.environ
    file = config_path(path)
    load_dotenv_beside(file)
    settings = Settings(source=str(file))
    if file.exists():
        _apply(settings, _read_toml(file), str(file))
    elif required or explicit:
        raise ConfigError(f"{file}: the config file does not exist (run `wisp init` to write one).")
    _apply_environment(settings)
    _check(settings, str(file))
    return settings


def load_dotenv_beside(file: Path) -> None:
    """Load `.env` from the config's folder and the working folder; the real environment wins."""
    for env_file in {file.parent / ".env", Path(".env")}:
        if env_file.is_file():
            for key, value in dotenv_values(env_file).items():
                if value is not None:
                    os.environ.setdefault(key, value)


def _read_toml(file: Path) -> dict[str, Any]:
    try:
        with file.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML ({exc}).") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{file}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})."
        ) from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot be read ({exc.strerror}).") from None


def _apply(settings: Settings, data: dict[str, Any], where: str) -> None:
    for section, values in data.items():
        if section not in SECTIONS:
            raise ConfigError(
                f"{where}: unknown section [{section}] (known: {', '.join(SECTIONS)})."
            )
        if not isinstance(values, dict):
            raise ConfigError(f"{where}: [{section}] must be a table of settings.")
        target = getattr(settings, section)
        for key, value in values.items():
            _set(target, section, key, value, where)


def _set(target: Any, section: str, key: str, value: Any, where: str) -> None:
    hints = get_type_hints(type(target))
    if key not in hints:
        known = ", ".join(f.name for f in fields(target))
        raise ConfigError(f"{where}: unknown key {section}.{key} (known in [{section}]: {known}).")
    setattr(target, key, _coerce(hints[key], value, f"{section}.{key}", where))


def _coerce(kind: Any, value: Any, name: str, where: str) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: {name} must be true or false, not {value!r}.")
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: {name} must be a whole number, not {value!r}.")
    if kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        raise ConfigError(f"{where}: {name} must be a number, not {value!r}.")
    if kind is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where}: {name} must be a string, not {value!r}.")
    if getattr(kind, "__origin__", None) is list:
        if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
            return [v.strip().lower() for v in value]
        raise ConfigError(f"{where}: {name} must be a list of names, not {value!r}.")
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return dict(value)
    raise ConfigError(f"{where}: {name} must be a table of strings, not {value!r}.")


def _check_encoding(encoding: str, where: str) -> None:
    """The routers' character set must exist and keep plain ASCII as it is (API words are)."""
    try:
        same = "name=x-1".encode(encoding) == b"name=x-1"
    except LookupError:
        raise ConfigError(
            f"{where}: routers.encoding {encoding!r} is not a character set Python knows "
            "(use utf-8, latin-1 or cp1252)."
        ) from None
    if not same:
        raise ConfigError(
            f"{where}: routers.encoding {encoding!r} does not keep ASCII as it is, as the RouterOS "
            "API needs (use utf-8, latin-1 or cp1252)."
        )


def _apply_environment(settings: Settings) -> None:
    """WISP_<SECTION>_<KEY>=value overrides; values are parsed as TOML scalars where possible."""
    for section in SECTIONS:
        target = getattr(settings, section)
        for f in fields(target):
            env = f"WISP_{section}_{f.name}".upper()
            if env in os.environ and not is_dataclass(f.type):
                raw = os.environ[env]
                _set(
                    target, section, f.name, _env_value(raw, f.type), f"environment variable {env}"
                )


def _env_value(raw: str, kind: Any) -> Any:
    if kind in ("str", str):
        return raw
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


RANGES: dict[tuple[str, str], tuple[float, float, str]] = {
    ("queue", "max_attempts"): (1, 100, ""),
    ("queue", "backoff_base"): (0.1, 3600, " seconds"),
    ("queue", "backoff_max"): (0.1, 86_400, " seconds"),
    ("queue", "lease_seconds"): (1, 86_400, " seconds"),
    ("queue", "batch_size"): (1, 10_000, ""),
    ("scheduler", "drain_interval"): (0.01, 3600, " seconds"),
    ("scheduler", "expiry_interval"): (0.01, 86_400, " seconds"),
    ("scheduler", "reaper_interval"): (0.01, 86_400, " seconds"),
    ("scheduler", "health_interval"): (0.01, 86_400, " seconds"),
    ("scheduler", "drift_interval"): (0, 7 * 86_400, " seconds (0 turns it off)"),
    ("scheduler", "voucher_interval"): (1, 86_400, " seconds"),
    ("routers", "connect_timeout"): (0.1, 300, " seconds"),
    ("routers", "command_timeout"): (0.1, 600, " seconds"),
    ("routers", "sessions"): (1, 16, " sessions per router"),
    ("routers", "commands_in_flight"): (1, 1000, " commands per session"),
    ("console", "refresh_interval"): (0.05, 3600, " seconds"),
    ("mpesa", "max_body"): (1024, 1_048_576, " bytes"),
    ("mpesa", "query_after"): (1, 86_400, " seconds"),
    ("mpesa", "recovery_interval"): (0.05, 86_400, " seconds"),
    ("mpesa", "pull_interval"): (0, 86_400, " seconds (0 turns it off)"),
    ("mpesa", "pull_window"): (60, 7 * 86_400, " seconds"),
    ("mpesa", "timeout"): (0.5, 300, " seconds"),
    ("mpesa", "push_expiry"): (300, 7 * 86_400, " seconds"),
    ("portal", "stk_per_phone"): (1, 1000, ""),
    ("portal", "stk_per_mac"): (1, 1000, ""),
    ("portal", "wrong_codes"): (1, 1000, ""),
    ("portal", "rate_window"): (1, 86_400, " seconds"),
    ("portal", "refresh_seconds"): (1, 60, " seconds"),
}
"""Every number's sensible range: a value outside it is refused at start, naming the key."""


def _check(settings: Settings, where: str) -> None:
    for (section, key), allowed in CHOICES.items():
        value = getattr(getattr(settings, section), key)
        if value not in allowed:
            raise ConfigError(
                f"{where}: {section}.{key} must be one of {', '.join(allowed)}, not {value!r}."
            )
    for (section, key), (low, high, unit) in RANGES.items():
        value = getattr(getattr(settings, section), key)
        if not low <= value <= high:
            raise ConfigError(
                f"{where}: {section}.{key} must be from {low:g} to {high:g}{unit}, not {value!r}."
            )
    if settings.queue.backoff_max < settings.queue.backoff_base:
        raise ConfigError(
            f"{where}: queue.backoff_max ({settings.queue.backoff_max:g}) must not be below "
            f"queue.backoff_base ({settings.queue.backoff_base:g})."
        )
    _check_encoding(settings.routers.encoding, where)
    for method in settings.activation.payment_methods:
        if len(method) > 16 or not method.isprintable():
            raise ConfigError(
                f"{where}: activation.payment_methods has {method!r}; a method is at most 16 "
                "printable characters."
            )
    _check_mpesa(settings.mpesa, where)
    url = settings.portal.public_url
    if url and not url.startswith(("http://", "https://")):
        raise ConfigError(
            f"{where}: portal.public_url {url!r} must start with https:// or http://."
        )
    try:
        ZoneInfo(settings.console.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{where}: console.timezone {settings.console.timezone!r} is not a known time zone."
        ) from None


def _check_mpesa(mpesa: MpesaSettings, where: str) -> None:
    """Addresses that Daraja and the receiver can use, checked before anything listens."""
    import ipaddress

    for key in ("base_url", "callback_base_url"):
        url = getattr(mpesa, key)
        if url and not url.startswith(("http://", "https://")):
            raise ConfigError(f"{where}: mpesa.{key} {url!r} must start with https:// or http://.")
    lowered = mpesa.callback_base_url.lower()
    if "mpesa" in lowered or "safaricom" in lowered:
        raise ConfigError(
            f"{where}: mpesa.callback_base_url may not contain the words mpesa or safaricom "
            "(Daraja refuses such callback URLs)."
        )
    if mpesa.listen:
        host, _, port = mpesa.listen.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(
                f"{where}: mpesa.listen {mpesa.listen!r} must be host:port, like 127.0.0.1:8081."
            )
    for entry in mpesa.allowed_networks():
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ConfigError(
                f"{where}: mpesa.allowlist has {entry!r}, which is not an address or network."
            ) from None
    if mpesa.type == "till" and not mpesa.till.isdigit():
        raise ConfigError(f"{where}: mpesa.type is till, so mpesa.till must be the till number.")
    if not mpesa.shortcode.isdigit():
        raise ConfigError(f"{where}: mpesa.shortcode {mpesa.shortcode!r} must be digits.")
