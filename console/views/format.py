"""How times, amounts and errors are written on screen."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo


def span(delta: timedelta) -> str:
    """A duration in its two largest units: 45s, 12m 3s, 5h 20m, 29d 23h."""
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def expires_in(expires_on: datetime, now: datetime) -> str:
    """'29d 23h' ahead, or 'expired 2h 5m ago'."""
    if expires_on > now:
        return span(expires_on - now)
    return f"ended {span(now - expires_on)} ago"


def ago(moment: datetime | None, now: datetime) -> str:
    """How long ago `moment` was: '3m 2s', or '-' when unknown."""
    if moment is None:
        return "-"
    return span(now - moment) if now >= moment else "0s"


def due(moment: datetime | None, now: datetime) -> str:
    """When a pending job is next tried: 'now' or 'in 25s'."""
    if moment is None:
        return "-"
    return "now" if moment <= now else f"in {span(moment - now)}"


def local(moment: datetime | None, zone: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M:%S %Z") -> str:
    """A stored UTC time in the operator's zone, with the zone's abbreviation, or '-'."""
    return moment.astimezone(zone).strftime(fmt) if moment else "-"


def amount_text(amount: Decimal | None) -> str:
    """Shillings without cents when there are none: 1,500 or 99.50."""
    if amount is None:
        return "-"
    return f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"


def zone_name(now: datetime, zone: ZoneInfo) -> str:
    """The zone's abbreviation now (EAT)."""
    return now.astimezone(zone).strftime("%Z")


def first_line(text: str | None, limit: int = 60) -> str:
    """The first line of an error, shortened for a table cell (details show it verbatim)."""
    if not text:
        return ""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"
