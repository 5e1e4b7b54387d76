"""The status bar: the scheduler, queue counts, router health, the last drain, the hour's chart."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from console.views.format import first_line
from console.views.status import QueueStatus, RouterHealth
from console.widgets.main.activity_chart import ActivityChart

SCHEDULER_STYLES = {"running": "bold green", "paused": "bold yellow", "off": "dim"}
HEALTH_STYLES = {"up": "green", "down": "bold red", "auth_failed": "bold red", "unknown": "dim"}


def scheduler_text(state: str, last_drain: datetime | None, zone: ZoneInfo) -> Text:
    """'scheduler running drained 12:01:03' in the scheduler's colour."""
    drained = f"{last_drain.astimezone(zone):%H:%M:%S}" if last_drain else "-"
    return Text.assemble(
        ("scheduler ", "dim"),
        (state, SCHEDULER_STYLES.get(state, "")),
        (" drained ", "dim"),
        (drained, ""),
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


def short_reason(name: str, why: str) -> str:
    """A router's reason without the 'router NAME (host:port)' it starts with, shortened."""
    line = first_line(why, 200)
    prefix = f"router {name} ("
    if line.startswith(prefix) and ") " in line:
        line = line.split(") ", 1)[1]
    return first_line(line, 28)


def routers_text(routers: list[RouterHealth]) -> Text:
    """Each router up or down, with why when it is not up."""
    text = Text("routers ", style="dim")
    if not routers:
        text.append("none yet", style="dim")
    for index, router in enumerate(routers):
        if index:
            text.append(" · ", style="dim")
        text.append(f"{router.name} ")
        text.append(router.health.replace("_", " "), style=HEALTH_STYLES.get(router.health, ""))
        if router.why:
            text.append(f" ({short_reason(router.name, router.why)})", style="red")
        if router.drift:
            text.append(f" drift {router.drift}", style="yellow")
    return text


class StatusBar(Vertical):
    """Two lines at the top of the main screen."""

    def compose(self) -> ComposeResult:
        with Horizontal(classes="status-line"):
            yield Static(id="scheduler")
            yield Static(id="counts")
        with Horizontal(classes="status-line"):
            yield Static(id="routers")
            yield ActivityChart(id="chart")

    def show(
        self, status: QueueStatus, state: str, last_drain: datetime | None, zone: ZoneInfo
    ) -> None:
        """Redraw from a refresh tick (each part only if its text changed)."""
        self._set("#scheduler", scheduler_text(state, last_drain, zone))
        self._set("#counts", counts_text(status.counts))
        self._set("#routers", routers_text(status.routers))
        self.query_one(ActivityChart).show(status.completed, status.failed)

    def _set(self, selector: str, text: Text) -> None:
        widget = self.query_one(selector, Static)
        if widget.content != text:
            widget.update(text)
