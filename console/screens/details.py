"""Details of a row: the last error verbatim first, then every field and the LogService history.

The error is what an operator opens a failed job for, so it comes right under the title. Everything
but the title and the key line scrolls, so a small terminal reaches the end of the history. The
client's router password stays hidden until the operator presses the reveal key.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Label, Static
from textual.worker import Worker, WorkerState

from console.screens.keys import HELP_IN_DIALOG
from console.screens.typed import OnWispApp
from console.views import details, payment_details
from console.views.errors import one_sentence
from db.engine import session_scope

LOADERS = {
    "job": details.job,
    "subscription": details.subscription,
    "package": details.package,
    "payment": payment_details.payment,
    "voucher": payment_details.voucher,
}


class DetailsScreen(OnWispApp, ModalScreen[None]):
    """Everything about one job, subscription, package, M-Pesa payment or used voucher."""

    BINDINGS = [
        Binding("escape,q", "dismiss", "Close", id="close_details"),
        Binding("v", "reveal", "Reveal password", id="reveal_password"),
        HELP_IN_DIALOG,
    ]

    class DetailsLoaded(Message):
        """The row's details were read."""

        def __init__(self, found: details.Details) -> None:
            super().__init__()
            self.found = found

    class PasswordRevealed(Message):
        """The client's password was decrypted on the operator's request."""

        def __init__(self, password: str) -> None:
            super().__init__()
            self.password = password

    def __init__(self, kind: str, key: str) -> None:
        super().__init__()
        self.kind = kind
        self.key = key
        self.found: details.Details | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="details-dialog"):
            yield Label(f"{self.kind} {self.key}", id="details-title", classes="dialog-title")
            with VerticalScroll(id="details-body"):
                yield Static(id="details-error")
                yield Static(id="details-fields")
                yield Static(id="details-password")
                yield Static(id="details-payload")
                yield Static(id="details-history")
            yield Label(self._hint(), id="details-hint", classes="hint")

    def _hint(self) -> str:
        keys = self.wisp.key_for
        reveal = f"{keys('reveal_password')}: reveal password   " if self._revealable else ""
        return f"↑ ↓ pgdn end: scroll   {reveal}{keys('close_details')}: close"

    @property
    def _revealable(self) -> bool:
        return self.found is not None and self.found.job_id is not None

    def on_mount(self) -> None:
        # Focus the body so that arrows, page keys and End scroll it.
        self.query_one("#details-body", VerticalScroll).focus()
        self._load()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "reveal":
            return self._revealable
        return True

    @work(thread=True, exclusive=True, group="details", exit_on_error=False)
    def _load(self) -> None:
        key: object = self.key if self.kind == "package" else int(self.key)
        with session_scope(self.wisp.engine) as session:
            found = LOADERS[self.kind](session, key, self.wisp.settings.zone)  # type: ignore[operator]
        self.post_message(self.DetailsLoaded(found))

    @on(DetailsLoaded)
    def _show(self, message: DetailsLoaded) -> None:
        found = self.found = message.found
        self.query_one("#details-title", Label).update(found.title)
        table = Table(box=None, show_header=False, padding=(0, 2, 0, 0))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        reveal = f"{details.HIDDEN} (press {self.wisp.key_for('reveal_password')} to reveal)"
        for name, value in found.fields:
            table.add_row(name, reveal if value == details.HIDDEN else value)
        self.query_one("#details-fields", Static).update(table)
        error = self.query_one("#details-error", Static)
        error.update(
            Text.assemble((f"{found.error_label}\n", "bold"), found.error) if found.error else ""
        )
        error.display = bool(found.error)
        payload = self.query_one("#details-payload", Static)
        payload.update(Text.assemble(("Raw payload\n", "bold"), found.payload or ""))
        payload.display = found.payload is not None
        history = "\n".join(found.history) or "no history"
        self.query_one("#details-history", Static).update(
            Text.assemble(("History\n", "bold"), history)
        )
        self.query_one("#details-hint", Label).update(self._hint())
        self.refresh_bindings()

    def action_reveal(self) -> None:
        """Decrypt and show the client's router password (only on this explicit key)."""
        if self.found is not None and self.found.job_id is not None:
            self._reveal(self.found.job_id)

    @work(thread=True, exclusive=True, group="reveal", exit_on_error=False)
    def _reveal(self, job_id: int) -> None:
        with session_scope(self.wisp.engine) as session:
            password = details.reveal_password(session, job_id)
        self.post_message(self.PasswordRevealed(password))

    @on(PasswordRevealed)
    def _revealed(self, message: PasswordRevealed) -> None:
        password = self.query_one("#details-password", Static)
        password.update(f"Password: {message.password}")
        password.display = True

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """A lookup that failed is told in one line at the top, not a traceback."""
        if event.state == WorkerState.ERROR:
            reason = one_sentence(event.worker.error, self.wisp.engine)
            error = self.query_one("#details-error", Static)
            error.update(reason)
            error.display = True
