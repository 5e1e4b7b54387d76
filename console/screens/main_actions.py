"""What the main screen's keys do: activate, retry, assign a payment, details, filter, pause, moving
between panes.

The queries and the payments' row words are imported by the actions that use them, when they run:
the main screen's first frame is drawn before the database's modules are loaded."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from textual import on, work
from textual.binding import ActiveBinding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input

from console.screens.typed import OnWispApp
from console.widgets.main.pane import Pane
from db.states import JobStatus, MpesaStatus

if TYPE_CHECKING:
    from console.views.snapshot import Snapshot
    from console.views.status import QueueStatus

NEEDS_DATABASE = frozenset(
    {"details", "activate", "retry", "retry_all", "assign", "users", "vouchers"}
)
"""Keys that read or write the database: they wait (greyed) until the console has opened it."""


class MainActions(OnWispApp, Screen[None]):
    """Key actions of the main screen, which builds on this class.

    A Screen itself, so that Textual registers the message handlers defined here (a plain mixin's
    `@on` handlers are never called). The panes and the poll are the main screen's.
    """

    if TYPE_CHECKING:
        snapshot: Snapshot | None

        @property
        def panes(self) -> list[Pane]: ...

        @property
        def focused_pane(self) -> Pane | None: ...

        def poll(self) -> None: ...

    class JobsRetried(Message):
        """Failed jobs went back to pending."""

        def __init__(self, job_ids: list[int]) -> None:
            super().__init__()
            self.job_ids = job_ids

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey out (None) keys that do not apply to the selection or the situation.

        Details is hidden (False) while a filter line has the focus, so enter reaches the filter.
        """
        if action == "details" and isinstance(self.focused, Input):
            return False
        return True if self._applies(action) else None

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """The keys as Textual finds them, with the pause key named for what it does now."""
        bindings = super().active_bindings
        if self.wisp.scheduler_state == "paused":
            for key, active in bindings.items():
                if active.binding.action == "pause":
                    resume = replace(active.binding, description="Resume")
                    bindings[key] = active._replace(binding=resume, tooltip="Resume the scheduler")
        return bindings

    def _applies(self, action: str) -> bool:
        if action in NEEDS_DATABASE and not self.wisp.is_open:
            return False
        if action == "retry":
            return self._selected_job_failed()
        if action == "retry_all":
            return self._failed_count() > 0
        if action == "pause":
            return self.wisp.service is not None
        if action == "details":
            pane = self.focused_pane
            return pane is not None and pane.selected is not None
        if action == "assign":
            # On a voucher's row the key says why it does not apply.
            selected = self._unmatched_payment_selected(), self._voucher_selected()
            return selected != (None, None)
        return True

    def _selected_job_failed(self) -> bool:
        return self._failed_job_selected() is not None

    def _failed_job_selected(self) -> int | None:
        """The id of the failed job the queue pane has selected, if it has one."""
        pane = self.focused_pane
        if pane is None or pane.KIND != "job" or pane.selected is None:
            return None
        return int(pane.selected.key) if pane.selected.status == JobStatus.FAILED else None

    def _unmatched_payment_selected(self) -> int | None:
        """The id of the unmatched M-Pesa payment the payments pane has selected, if any."""
        pane = self.focused_pane
        if pane is None or pane.KIND != "payment" or pane.selected is None:
            return None
        from console.views.payments import voucher_id

        row = pane.selected
        if voucher_id(row.key) is not None or row.status != MpesaStatus.UNMATCHED:
            return None
        return int(row.key)

    def _voucher_selected(self) -> str | None:
        """The code of the used voucher the payments pane has selected, if any."""
        pane = self.focused_pane
        if pane is None or pane.KIND != "payment" or pane.selected is None:
            return None
        from console.views.payments import voucher_code

        return voucher_code(pane.selected)

    def _failed_count(self) -> int:
        snapshot = self.snapshot
        status: QueueStatus | None = snapshot.status if snapshot else None
        return status.counts.get(JobStatus.FAILED, 0) if status else 0

    # ------------------------------------------------------------------------------------ actions

    def action_pane(self, number: int) -> None:
        """Focus pane 1, 2, 3 or 4."""
        self._focus(self.panes[number - 1])

    def action_next_pane(self) -> None:
        """Focus the next pane (after the last comes the first)."""
        pane = self.focused_pane
        panes: list[Pane] = self.panes
        index = panes.index(pane) if pane in panes else -1
        self._focus(panes[(index + 1) % len(panes)])

    def _focus(self, pane: Pane) -> None:
        """Focus a pane's table; the queue and the payments share a tab on a short terminal."""
        if pane.KIND in ("job", "payment"):
            self.set_class(pane.KIND == "payment", "-payments")
        pane.table.focus()

    def action_filter(self) -> None:
        """Filter the focused pane as you type."""
        pane = self.focused_pane or self.panes[2]
        pane.open_filter()

    def action_details(self) -> None:
        """Every field of the selected row, with its history."""
        from console.screens.details import DetailsScreen
        from console.views.payments import voucher_id

        pane = self.focused_pane
        if pane is None or pane.selected is None:
            return
        kind, key = pane.KIND, pane.selected.key
        voucher = voucher_id(key) if kind == "payment" else None
        if voucher is not None:
            kind, key = "voucher", str(voucher)
        self.wisp.push_screen(DetailsScreen(kind, key))

    def action_activate(self) -> None:
        """Open the activation modal."""
        from console.screens.activate import ActivateScreen

        self.wisp.push_screen(ActivateScreen())

    def action_assign(self) -> None:
        """Give the selected unmatched M-Pesa payment to a client and package (a voucher's row is
        refused in one sentence)."""
        from console.screens.assign import AssignScreen
        from console.views.payment_assign import voucher_refusal

        code = self._voucher_selected()
        if code is not None:
            self.notify(voucher_refusal(code), severity="warning")
            return
        transaction_id = self._unmatched_payment_selected()
        if transaction_id is not None:
            self.wisp.push_screen(AssignScreen(transaction_id))

    def action_users(self) -> None:
        """Browse a router's users, read-only."""
        from console.screens.router_users import RouterUsersScreen

        self.wisp.push_screen(RouterUsersScreen())

    def action_vouchers(self) -> None:
        """Voucher batches: generate, print, revoke."""
        from console.screens.vouchers import VouchersScreen

        self.wisp.push_screen(VouchersScreen())

    def action_pause(self) -> None:
        """Pause the embedded scheduler; resume it when it is paused."""
        self.wisp.toggle_scheduler()
        self.refresh_bindings()
        self.poll()

    def action_toggle_maximize(self) -> None:
        """Show the focused pane on the whole screen, or put it back."""
        if self.maximized is not None:
            self.minimize()
        elif self.focused is not None:
            self.maximize(self.focused)

    def action_retry(self) -> None:
        """Put the selected failed job back in the queue."""
        job_id = self._failed_job_selected()
        if job_id is not None:
            self._retry(job_id)

    def action_retry_all(self) -> None:
        """Put every failed job back in the queue, after a confirmation."""
        from console.screens.confirm import ConfirmScreen

        count = self._failed_count()
        question = f"Retry all {count} failed job{'s' if count != 1 else ''}?"

        def answered(yes: bool | None) -> None:
            if yes:
                self._retry(None)

        self.wisp.push_screen(ConfirmScreen(question), answered)

    @work(thread=True, group="retry", exit_on_error=False)
    def _retry(self, job_id: int | None) -> None:
        from db import queue
        from db.engine import session_scope

        with session_scope(self.wisp.engine) as session:
            ids = queue.retry(session, job_id, now=self.wisp.now())
        self.post_message(self.JobsRetried(ids))

    @on(JobsRetried)
    def _retried(self, message: JobsRetried) -> None:
        """Say what went back in the queue; a job's old failure notice no longer holds."""
        ids = message.job_ids
        for job_id in ids:
            self.wisp.withdraw(f"job {job_id}")
        if not ids:
            self.notify("No failed job to retry.", severity="warning")
        elif len(ids) == 1:
            self.notify(f"Job {ids[0]} is back in the queue.")
        else:
            self.notify(f"{len(ids)} failed jobs are back in the queue.")
        self.wisp.wake_scheduler()
        self.poll()
