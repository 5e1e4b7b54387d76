"""Details of a row: every field, the last error verbatim, the LogService history.

The client's router password stays hidden until the operator presses the reveal key.
"""

from __future__ import annotations

from rich.table import Table
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Label, Static
from textual.worker import Worker, WorkerState

from console.screens.typed import OnWispApp
from console.views import details
from console.views.errors import one_sentence
from db.engine import session_scope

LOADERS = {"job": details.job, "subscription": details.subscription, "package": details.package}


class DetailsScreen(OnWispApp, ModalScreen[None]):
    """Everything about one job, subscription or package."""

    BINDINGS = [
        Binding("escape,q", "dismiss", "Close", id="close_details"),
        Binding("v", "reveal", "Reveal password", id="reveal_password"),
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
        with Vertical(classes="dialog"):
            yield Label(f"{self.kind} {self.key}", id="details-title", classes="dialog-title")
            with VerticalScroll(id="details-body"):
                yield Static(id="details-fields")
                yield Static(id="details-password")
                yield Static(id="details-error")
                yield Static(id="details-history")
            yield Label("v: reveal password   esc: close", classes="hint")

    def on_mount(self) -> None:
        self._load()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "reveal":
            return self.found is not None and self.found.job_id is not None
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
        for name, value in found.fields:
            table.add_row(name, value)
        self.query_one("#details-fields", Static).update(table)
        error = f"Last error:\n{found.error}" if found.error else ""
        self.query_one("#details-error", Static).update(error)
        history = "\n".join(found.history) or "no history"
        self.query_one("#details-history", Static).update(f"History\n{history}")
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
        self.query_one("#details-password", Static).update(f"Password: {message.password}")

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """A lookup that failed is told in one line, not a traceback."""
        if event.state == WorkerState.ERROR:
            reason = one_sentence(event.worker.error, self.wisp.engine)
            self.notify(reason, severity="error")
