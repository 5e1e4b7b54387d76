"""Times as a person reads them: in the operator's zone, with its abbreviation (2025-01-31 14:00 EAT).

Stored times are UTC. The zone is the configured `console.timezone`; code that has the settings
passes it, and a process that read them (every `wisp` command, the console, `wisp run`) makes it
the default with `use_zone`, so the LogService's history and log lines speak the operator's time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

FORMAT = "%Y-%m-%d %H:%M %Z"

_zone: tzinfo = UTC


def utcnow() -> datetime:
    """The current time, timezone-aware UTC. Microseconds are kept: MariaDB columns use DATETIME(6)."""
    return datetime.now(UTC)


def use_zone(zone: tzinfo) -> None:
    """Show times in `zone` from now on in this process."""
    global _zone
    _zone = zone


def zone() -> tzinfo:
    """The zone times are shown in (UTC until a process says otherwise)."""
    return _zone


def at(moment: datetime, where: tzinfo | None = None) -> str:
    """`moment` in `where` (default: this process's zone), with the zone's abbreviation."""
    return moment.astimezone(where or _zone).strftime(FORMAT)


def describe(time: timedelta) -> str:
    """A duration in an operator's words: `2 days 3 h`, `5 h 20 min`, `45 min`, `30 s`."""
    seconds = int(time.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} day{'s' if days != 1 else ''}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"
