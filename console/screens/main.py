"""The main screen: packages, subscriptions, the provisioning queue and M-Pesa payments, live.

Until the first poll lands, each pane's title and the status bar say they are loading (never 0).

On a short terminal (80x24 over SSH) the queue and the payments share the bottom of the screen as
two tabs: 3 shows the queue, 4 the payments. From 30 lines up both are shown.

The poll loop follows Dolphie: a thread worker queries every pane's window in one session and posts
`PanesFetched`; the main thread applies it by key diff, then a one-shot timer arms the next poll, so
polls never overlap. While another screen (a modal, the router users) is on top, polls are skipped.
"""

from __future__ import annotations

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.timer import Timer
from textual.widgets import DataTable
from textual.worker import Worker, WorkerState

from console.screens.main_actions import MainActions
from console.views.snapshot import Filters, Snapshot, take
from console.widgets.footer import KeysFooter
from console.widgets.main.packages_pane import PackagesPane
from console.widgets.main.pane import Pane
from console.widgets.main.payments_pane import PaymentsPane
from console.widgets.main.queue_pane import QueuePane
from console.widgets.main.status_bar import StatusBar
from console.widgets.main.subscriptions_pane import SubscriptionsPane


class MainScreen(MainActions):
    """Four live panes and the status bar."""

    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
    """Below 30 lines (80x24 over SSH) the packages pane gives its room to the other two."""

    # The footer shows what fits 80 columns beside help and quit; help lists every key.
    BINDINGS = [
        Binding(
            "enter",
            "details",
            "Details",
            id="details",
            priority=True,
            tooltip="Every field of the selected row, with its history",
        ),
        Binding(
            "a",
            "activate",
            "Activate",
            id="activate",
            tooltip="Activate a client on a package (queues the router account)",
        ),
        Binding("r", "retry", "Retry", id="retry", tooltip="Retry the selected failed job"),
        Binding(
            "A",
            "assign",
            "Assign",
            id="assign_payment",
            show=False,
            tooltip="Give the selected unmatched M-Pesa payment to a client and package",
        ),
        Binding(
            "R",
            "retry_all",
            "Retry all",
            id="retry_all",
            show=False,
            tooltip="Retry every failed job",
        ),
        Binding("u", "users", "Users", id="users", tooltip="Browse a router's users (read-only)"),
        Binding(
            "V",
            "vouchers",
            "Vouchers",
            id="vouchers",
            show=False,
            tooltip="Voucher batches: generate, print, revoke",
        ),
        Binding(
            "slash",
            "filter",
            "Filter",
            id="filter",
            key_display="/",
            tooltip="Filter the focused pane as you type",
        ),
        Binding(
            "p",
            "pause",
            "Pause",
            id="pause",
            tooltip="Pause the scheduler; while paused, resume it (the footer reads Resume)",
        ),
        Binding(
            "m",
            "toggle_maximize",
            "Maximize",
            id="maximize",
            show=False,
            tooltip="Show the focused pane on the whole screen (again: back)",
        ),
        Binding("tab", "next_pane", "Next pane", show=False, id="next_pane"),
        Binding("1", "pane(1)", "Packages", show=False, id="pane_packages"),
        Binding("2", "pane(2)", "Subscriptions", show=False, id="pane_subscriptions"),
        Binding("3", "pane(3)", "Queue", show=False, id="pane_queue"),
        Binding("4", "pane(4)", "Payments", show=False, id="pane_payments"),
    ]

    class PanesFetched(Message):
        """A poll finished: the panes' new windows and the status figures."""

        def __init__(self, snapshot: Snapshot) -> None:
            super().__init__()
            self.snapshot = snapshot

    def __init__(self) -> None:
        super().__init__(id="main")
        self._timer: Timer | None = None
        self._polling = False
        self._again = False
        self._poll_error: str | None = None
        self.snapshot: Snapshot | None = None

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield PackagesPane(id="packages")
        yield SubscriptionsPane(id="subscriptions")
        yield QueuePane(id="queue")
        yield PaymentsPane(id="payments")
        yield KeysFooter(compact=True)

    def on_mount(self) -> None:
        self.query_one(QueuePane).table.focus()
        self.poll()

    @property
    def panes(self) -> list[Pane]:
        """The four panes, in key order (1, 2, 3, 4)."""
        return [
            self.query_one(PackagesPane),
            self.query_one(SubscriptionsPane),
            self.query_one(QueuePane),
            self.query_one(PaymentsPane),
        ]

    @property
    def focused_pane(self) -> Pane | None:
        """The pane holding the focus, if any."""
        focused = self.focused
        while focused is not None and not isinstance(focused, Pane):
            focused = focused.parent  # type: ignore[assignment]
        return focused

    # ------------------------------------------------------------------------------- the poll loop

    def poll(self) -> None:
        """Query the panes now, unless a poll is in flight (then once more when it lands).

        Before the console has opened the database there is nothing to query: the panes say they
        are loading, and the app polls once it is open."""
        if not self.wisp.is_open:
            return
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self._polling:
            self._again = True
            return
        if self.app.screen is not self:
            self._arm()
            return
        self._polling = True
        self._fetch(self._filters())

    def _filters(self) -> Filters:
        packages, subscriptions, queue, payments = self.panes
        return Filters(
            packages.filter_text, subscriptions.filter_text, queue.filter_text, payments.filter_text
        )

    @work(thread=True, exclusive=True, group="poll", exit_on_error=False)
    def _fetch(self, filters: Filters) -> None:
        snapshot = take(self.wisp.engine, self.wisp.now(), self.wisp.settings.zone, filters)
        self.post_message(self.PanesFetched(snapshot))

    def _arm(self) -> None:
        """Arm the next poll: a one-shot timer, or right away when a refresh was asked meanwhile."""
        if self._again:
            self._again = False
            self.call_later(self.poll)
            return
        self._timer = self.set_timer(self.wisp.settings.console.refresh_interval, self.poll)

    def _landed(self) -> None:
        self._polling = False
        self._arm()

    @on(PanesFetched)
    def _render_snapshot(self, message: PanesFetched) -> None:
        self._landed()
        self._poll_error = None
        snapshot = message.snapshot
        if snapshot.filters != self._filters():
            self._again = True  # typed meanwhile: this window is already stale
        if self.app.screen is self:
            self.apply(snapshot)
            self.wisp.painted()

    def apply(self, snapshot: Snapshot) -> None:
        """Show a snapshot: each pane by key diff, the status bar, then the keys' state."""
        self.snapshot = snapshot
        with self.app.batch_update():
            packages, subscriptions, queue, payments = self.panes
            packages.show(snapshot.packages)
            subscriptions.show(snapshot.subscriptions)
            queue.show(snapshot.jobs)
            payments.show(snapshot.payments)
            self.query_one(StatusBar).show(
                snapshot.status,
                self.wisp.scheduler_state,
                self.wisp.last_drain,
                self.wisp.settings.zone,
                snapshot.payments_hour,
            )
        self.refresh_bindings()

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        group, state = event.worker.group, event.state
        if group == "poll" and state in (WorkerState.ERROR, WorkerState.CANCELLED):
            self._landed()
        if state != WorkerState.ERROR:
            return
        from console.views.errors import one_sentence

        reason = one_sentence(event.worker.error, self.wisp.engine)
        if group == "retry":
            self.notify(f"The retry was not recorded: {reason}", severity="error", timeout=8)
        elif group == "poll" and reason != self._poll_error:
            # Told once per outage, not on every tick while the database stays down.
            self._poll_error = reason
            self.notify(f"The panes could not be refreshed: {reason}", severity="error", timeout=8)

    @on(Pane.FilterChanged)
    def _filtered(self, _: Pane.FilterChanged) -> None:
        self.poll()

    @on(events.DescendantFocus)
    def _tab_shown(self, _: events.DescendantFocus) -> None:
        """The queue or the payments took the focus: on a short terminal, show that tab."""
        pane = self.focused_pane
        if isinstance(pane, QueuePane | PaymentsPane):
            self.set_class(isinstance(pane, PaymentsPane), "-payments")

    @on(DataTable.RowHighlighted)
    def _moved(self, _: DataTable.RowHighlighted) -> None:
        self.refresh_bindings()

    def on_screen_resume(self) -> None:
        """Back from a modal or another screen: refresh at once."""
        if self.is_mounted:
            self.poll()
