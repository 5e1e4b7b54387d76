"""Reconcile one router: drift by category while it reads, escape cancels, a confirmed key queues fixes.

The read runs in a thread worker and answers with past-tense messages; the widgets are only touched
on the main thread. Fixes go through the normal queue (scheduler.reconcile.fix), never straight to the
router, and objects that are not ours are only listed.
"""

from __future__ import annotations

import threading

from sqlalchemy.engine import Engine
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, ProgressBar, Static

from console.screens.confirm import ConfirmScreen
from console.views.errors import one_sentence
from console.widgets.footer import KeysFooter
from db.config import Settings
from scheduler.reconcile.compare import DriftReport, reconcile
from scheduler.reconcile.fix import queue_fixes
from scheduler.reconcile.sides import Cancelled, Progress

HEADINGS = {
    "missing": "missing on the router",
    "unknown": "ours, unknown to the database",
    "different": "different",
    "foreign": "not ours (left alone)",
}


class ReconcileScreen(Screen[None]):
    """Drift between one router and the database."""

    DEFAULT_CSS = """
    ReconcileScreen #reconcile-status { height: auto; padding: 0 1; }
    ReconcileScreen #reconcile-progress { padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape", "stop_or_back", "Cancel / back", id="reconcile_back"),
        Binding("f5,ctrl+r", "run", "Check again", id="reconcile_again"),
        Binding("f", "fix", "Queue fixes", id="reconcile_fix"),
    ]

    class ReadProgressed(Message):
        """The read got further."""

        def __init__(self, progress: Progress) -> None:
            super().__init__()
            self.progress = progress

    class DriftFound(Message):
        """The read ended with a report."""

        def __init__(self, report: DriftReport) -> None:
            super().__init__()
            self.report = report

    class ReadStopped(Message):
        """The read ended without a report: refused, or cancelled; `reason` says which."""

        def __init__(self, reason: str) -> None:
            super().__init__()
            self.reason = reason

    def __init__(self, engine: Engine, settings: Settings, router_name: str) -> None:
        super().__init__(id="reconcile")
        self.engine = engine
        self.settings = settings
        self.router_name = router_name
        self.report: DriftReport | None = None
        self._cancel = threading.Event()
        self._running = False

    def compose(self) -> ComposeResult:
        yield Static(id="reconcile-status")
        yield ProgressBar(id="reconcile-progress", show_eta=False)
        yield DataTable(id="reconcile-findings", cursor_type="row", zebra_stripes=True)
        yield KeysFooter(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("category", "kind", "service", "name", "detail")
        self.action_run()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey out fixing while reading or when nothing can be fixed."""
        if action == "fix":
            return (
                not self._running
                and self.report is not None
                and any(f.fixable for f in self.report.findings)
            )
        if action == "run":
            return not self._running
        return True

    def action_run(self) -> None:
        """Read the router and compare it with the database."""
        self._cancel = threading.Event()
        self._running = True
        self.report = None
        self.query_one(DataTable).clear()
        self._status(f"Reading router {self.router_name}… (escape cancels)")
        self.refresh_bindings()
        self._read(self._cancel)

    def action_stop_or_back(self) -> None:
        """Cancel a running read; otherwise go back."""
        if self._running:
            self._cancel.set()
        else:
            self.app.pop_screen()

    def action_fix(self) -> None:
        """Ask, then queue the corrective jobs."""
        report = self.report
        if report is None:
            return
        count = sum(1 for f in report.findings if f.fixable)
        question = (
            f"Queue fixes for {count} finding(s) on {report.router}? "
            "Objects that are not ours are left alone."
        )
        self.app.push_screen(ConfirmScreen(question), self._confirmed)

    def _confirmed(self, yes: bool | None) -> None:
        if yes and self.report is not None:
            self._queue(self.report)

    def _report_progress(self, progress: Progress) -> None:
        """Called from the read's thread: hand the progress to the screen."""
        self.post_message(self.ReadProgressed(progress))

    @work(thread=True, exclusive=True, group="reconcile", exit_on_error=False)
    def _read(self, cancel: threading.Event) -> None:
        try:
            report = reconcile(
                self.engine,
                self.settings,
                self.router_name,
                progress=self._report_progress,
                cancel=cancel,
            )
        except Cancelled:
            self.post_message(self.ReadStopped("Cancelled; nothing was changed. F5 checks again."))
            return
        except Exception as error:  # a down router, an unknown name, the database: one sentence
            self.post_message(self.ReadStopped(one_sentence(error, self.engine)))
            return
        self.post_message(self.DriftFound(report))

    @work(thread=True, exclusive=True, group="reconcile-fix", exit_on_error=False)
    def _queue(self, report: DriftReport) -> None:
        try:
            queued = queue_fixes(self.engine, report)
        except Exception as error:
            text = f"No fixes were queued: {one_sentence(error, self.engine)}"
        else:
            text = (
                f"Queued {len(queued)} corrective job(s); the queue delivers them. F5 checks again."
            )
        self.app.call_from_thread(self._status, text)

    @on(ReadProgressed)
    def _progressed(self, message: ReadProgressed) -> None:
        progress = message.progress
        self.query_one(ProgressBar).update(total=progress.total, progress=progress.done)
        total = f" of {progress.total:,}" if progress.total is not None else ""
        self._status(
            f"Reading {progress.stage} of {self.router_name}: {progress.done:,}{total} (escape cancels)"
        )

    @on(DriftFound)
    def _found(self, message: DriftFound) -> None:
        self._running = False
        self.report = report = message.report
        table = self.query_one(DataTable)
        for category in ("missing", "unknown", "different", "foreign"):
            for finding in report.of(category):
                detail = "; ".join(finding.differences) or finding.comment
                table.add_row(
                    HEADINGS[category], finding.kind, finding.service, finding.name, detail
                )
        counts = report.counts
        verdict = "matches the database" if report.clean else "has drifted"
        self._status(
            f"Router {report.router} {verdict}: {counts['missing']} missing, {counts['unknown']} unknown, "
            f"{counts['different']} different, {counts['foreign']} not ours, {report.in_queue} in the queue."
            + (" Press f to queue fixes." if not report.clean else "")
        )
        self.refresh_bindings()

    @on(ReadStopped)
    def _stopped(self, message: ReadStopped) -> None:
        self._running = False
        self._status(message.reason)
        self.refresh_bindings()

    def _status(self, text: str) -> None:
        self.query_one("#reconcile-status", Static).update(text)
