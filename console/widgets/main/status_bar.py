"""The status bar: the scheduler, the last hour's M-Pesa payments, queue counts, router health,
the last drain, the hour's chart."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from console.views.format import amount_text, first_line
from console.widgets.fitted_text import FittedText
from console.widgets.main.activity_chart import ActivityChart
from db.states import Health

if TYPE_CHECKING:
    from console.views.payments import PaymentsHour
    from console.views.status import QueueStatus, RouterHealth

LOADING = Text("loading…", style="dim")
"""What the bar says until the first poll lands: no figure, rather than zeros."""
SCHEDULER_STYLES = {
    "running": "bold green",
    "paused": "bold yellow",
    "starting": "italic",
    "off": "dim",
}
HEALTH_STYLES = {"up": "green", "down": "bold red", "auth_failed": "bold red", "unknown": "dim"}


def scheduler_texts(state: str, last_drain: datetime | None, zone: ZoneInfo) -> tuple[Text, ...]:
    """'scheduler running drained 12:01:03' in the scheduler's colour, then shorter versions."""
    drained = f"{last_drain.astimezone(zone):%H:%M:%S}" if last_drain else "-"
    coloured = (state, SCHEDULER_STYLES.get(state, ""))
    return (
        Text.assemble(("scheduler ", "dim"), coloured, (" drained ", "dim"), (drained, "")),
        Text.assemble(coloured, (", drained ", "dim"), (drained, "")),
        Text.assemble(coloured, (" ", ""), (drained, "")),
        Text.assemble(coloured),
    )


def counts_text(counts: dict[str, int]) -> Text:
    """Queue counts; failed jobs stand out."""
    failed = counts.get("failed", 0)
    return Text.assemble(
        ("pending ", "dim"),
        (str(counts.get("pending", 0)), "yellow"),
        (" processing ", "dim"),
        (str(counts.get("processing", 0)), "cyan"),
        (" failed ", "dim"),
        (str(failed), "bold red" if failed else ""),
        (" done today ", "dim"),
        (str(counts.get("completed", 0)), "green"),
    )


def payments_texts(hour: PaymentsHour) -> tuple[Text, ...]:
    """M-Pesa payments of the last hour, counted and totalled, then shorter versions."""
    count = (str(hour.count), "bold green" if hour.count else "")
    total = (f"KES {amount_text(hour.total)}", "green" if hour.count else "")
    return (
        Text.assemble(("M-Pesa last hour ", "dim"), count, (" · ", "dim"), total),
        Text.assemble(("M-Pesa 1h ", "dim"), count, (" · ", "dim"), total),
        Text.assemble(("1h ", "dim"), count, (" · ", "dim"), total),
        Text.assemble(total),
    )


def short_reason(name: str, why: str, limit: int = 28) -> str:
    """A router's reason without the 'router NAME (host:port)' it starts with, shortened."""
    line = first_line(why, 200)
    prefix = f"router {name} ("
    if line.startswith(prefix) and ") " in line:
        line = line.split(") ", 1)[1]
    return first_line(line, limit)


def _router(text: Text, router: RouterHealth, reason: bool) -> None:
    text.append(f"{router.name} ")
    text.append(router.health.replace("_", " "), style=HEALTH_STYLES.get(router.health, ""))
    if reason and router.why:
        text.append(f" ({short_reason(router.name, router.why)})", style="red")
    if router.drift:
        text.append(f" drift {router.drift}", style="yellow")


def _listed(routers: list[RouterHealth], label: bool, reasons: bool) -> Text:
    text = Text("routers ", style="dim") if label else Text()
    if not routers:
        text.append("none yet", style="dim")
    for index, router in enumerate(routers):
        if index:
            text.append(" · ", style="dim")
        _router(text, router, reasons)
    return text


def _summed(routers: list[RouterHealth]) -> Text:
    """The routers that need a look by name, the others counted: 'eldoret down · +2 up'."""
    text = Text()
    flagged = [r for r in routers if r.health != Health.UP or r.drift]
    for router in flagged:
        _router(text, router, reason=False)
        text.append(" · ", style="dim")
    text.append(f"+{len(routers) - len(flagged)} up", style="green")
    return text


def _counted(routers: list[RouterHealth]) -> Text:
    """How many routers are in each state: 'routers 1 down · 2 up'."""
    states: dict[str, int] = {}
    for router in sorted(routers, key=lambda r: r.health == Health.UP):
        states[router.health] = states.get(router.health, 0) + 1
    text = Text("routers ", style="dim")
    for index, (health, count) in enumerate(states.items()):
        if index:
            text.append(" · ", style="dim")
        text.append(f"{count} {health.replace('_', ' ')}", style=HEALTH_STYLES.get(health, ""))
    return text


def routers_texts(routers: list[RouterHealth]) -> tuple[Text, ...]:
    """Each router up or down, fullest first: with why when one is not up, then name and state
    only (all of them still fit 80 columns for a few routers), then the ones to look at by name."""
    versions = [
        _listed(routers, label=True, reasons=True),
        _listed(routers, label=True, reasons=False),
        _listed(routers, label=False, reasons=False),
    ]
    if routers:
        versions += [_summed(routers), _counted(routers)]
    return tuple(versions)


def routers_tooltip(routers: list[RouterHealth]) -> str | None:
    """Why each router that is not up is not, in full (the line has room only for its state)."""
    lines = [
        f"{r.name} {r.health.replace('_', ' ')}: {first_line(r.why, 300)}" for r in routers if r.why
    ]
    return "\n".join(lines) or None


class StatusBar(Vertical):
    """Two lines at the top of the main screen."""

    def compose(self) -> ComposeResult:
        with Horizontal(classes="status-line"):
            yield FittedText(LOADING, id="scheduler")
            yield FittedText(id="mpesa-hour")
            yield Static(id="counts")
        with Horizontal(classes="status-line"):
            yield FittedText(id="routers")
            yield ActivityChart(id="chart")

    def show(
        self,
        status: QueueStatus,
        state: str,
        last_drain: datetime | None,
        zone: ZoneInfo,
        payments: PaymentsHour,
    ) -> None:
        """Redraw from a refresh tick (each part only if its text changed)."""
        self.query_one("#scheduler", FittedText).show(*scheduler_texts(state, last_drain, zone))
        self.query_one("#mpesa-hour", FittedText).show(*payments_texts(payments))
        self._set("#counts", counts_text(status.counts))
        routers = self.query_one("#routers", FittedText)
        routers.show(*routers_texts(status.routers))
        routers.tooltip = routers_tooltip(status.routers)
        self.query_one(ActivityChart).show(status.completed, status.failed)

    def _set(self, selector: str, text: Text) -> None:
        widget = self.query_one(selector, Static)
        if widget.content != text:
            widget.update(text)
