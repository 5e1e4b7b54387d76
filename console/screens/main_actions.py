"""What the main screen's keys do: activate, retry, details, filter, pause, moving between panes."""

from __future__ import annotations

from textual import on, work
from textual.message import Message
from textual.widgets import Input

from console.queries.status import QueueStatus
from console.widgets.main.pane import Pane
from db import queue
from db.engine import session_scope


class MainActions:
    """Key actions of the main screen (mixed into it; `self` is the screen)."""

    class JobsRetried(Message):
        """Failed jobs went back to pending."""

        def __init__(self, job_ids: list[int]) -> None:
            super().__init__()
            self.job_ids = job_ids

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey out (None) keys that do not apply to the selection or the situation.

        Details is hidden (False) while a filter line has the focus, so enter reaches the filter.
        """
        if action == "details" and isinstance(self.focused, Input):  # type: ignore[attr-defined]
            return False
        return True if self._applies(action) else None

    def _applies(self, action: str) -> bool:
        if action == "retry":
            return self._selected_job_failed()
        if action == "retry_all":
            return self._failed_count() > 0
        if action == "pause":
            return self.app.service is not None  # type: ignore[attr-defined]
        if action == "details":
            pane = self.focused_pane  # type: ignore[attr-defined]
            return pane is not None and pane.selected is not None
        return True

    def _selected_job_failed(self) -> bool:
        pane = self.focused_pane  # type: ignore[attr-defined]
        if pane is None or pane.KIND != "job" or pane.selected is None:
            return False
        return pane.selected.status == "failed"

    def _failed_count(self) -> int:
        snapshot = self.snapshot  # type: ignore[attr-defined]
        status: QueueStatus | None = snapshot.status if snapshot else None
        return status.counts.get("failed", 0) if status else 0

    # ------------------------------------------------------------------------------------ actions

    def action_pane(self, number: int) -> None:
        """Focus pane 1, 2 or 3."""
        self.panes[number - 1].table.focus()  # type: ignore[attr-defined]

    def action_next_pane(self) -> None:
        """Focus the next pane (after the last comes the first)."""
        pane = self.focused_pane  # type: ignore[attr-defined]
        panes: list[Pane] = self.panes  # type: ignore[attr-defined]
        index = panes.index(pane) if pane in panes else -1
        panes[(index + 1) % len(panes)].table.focus()

    def action_filter(self) -> None:
        """Filter the focused pane as you type."""
        pane = self.focused_pane or self.panes[2]  # type: ignore[attr-defined]
        pane.open_filter()

    def action_details(self) -> None:
        """Every field of the selected row, with its history."""
        from console.screens.details import DetailsScreen

        pane = self.focused_pane  # type: ignore[attr-defined]
        if pane is not None and pane.selected is not None:
            self.app.push_screen(DetailsScreen(pane.KIND, pane.selected.key))  # type: ignore[attr-defined]

    def action_activate(self) -> None:
        """Open the activation modal."""
        from console.screens.activate import ActivateScreen

        self.app.push_screen(ActivateScreen())  # type: ignore[attr-defined]

    def action_users(self) -> None:
        """Browse a router's users, read-only."""
        from console.screens.router_users import RouterUsersScreen

        self.app.push_screen(RouterUsersScreen())  # type: ignore[attr-defined]

    def action_pause(self) -> None:
        """Pause or resume the embedded scheduler."""
        self.app.toggle_scheduler()  # type: ignore[attr-defined]
        self.poll()  # type: ignore[attr-defined]

    def action_retry(self) -> None:
        """Put the selected failed job back in the queue."""
        pane = self.focused_pane  # type: ignore[attr-defined]
        if self._selected_job_failed():
            self._retry(int(pane.selected.key))

    def action_retry_all(self) -> None:
        """Put every failed job back in the queue, after a confirmation."""
        from console.screens.confirm import ConfirmScreen

        count = self._failed_count()
        question = f"Retry all {count} failed job{'s' if count != 1 else ''}?"

        def answered(yes: bool | None) -> None:
            if yes:
                self._retry(None)

        self.app.push_screen(ConfirmScreen(question), answered)  # type: ignore[attr-defined]

    @work(thread=True, group="retry", exit_on_error=False)
    def _retry(self, job_id: int | None) -> None:
        with session_scope(self.app.engine) as session:  # type: ignore[attr-defined]
            ids = queue.retry(session, job_id, now=self.app.now())  # type: ignore[attr-defined]
        self.post_message(self.JobsRetried(ids))  # type: ignore[attr-defined]

    @on(JobsRetried)
    def _retried(self, message: JobsRetried) -> None:
        ids = message.job_ids
        if not ids:
            self.notify("No failed job to retry.", severity="warning")  # type: ignore[attr-defined]
        elif len(ids) == 1:
            self.notify(f"Job {ids[0]} is back in the queue.")  # type: ignore[attr-defined]
        else:
            self.notify(f"{len(ids)} failed jobs are back in the queue.")  # type: ignore[attr-defined]
        self.app.wake_scheduler()  # type: ignore[attr-defined]
        self.poll()  # type: ignore[attr-defined]
