"""The activation modal: find a client, pick a package, an optional payment reference.

After activating it follows the queued job until it is settled: the operator sees the router
account reach the router (or the router's reason why not) without leaving the modal.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Button, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from console.queries.activation_result import result_text
from console.queries.clients import Choice, package_choices, search_clients
from console.queries.errors import one_sentence
from console.queries.job_state import JobState, job_state
from db.activation import Activation, ActivationService
from db.engine import session_scope

FOLLOW_EVERY = 0.2
"""Seconds between two looks at the queued job."""


class ActivateScreen(ModalScreen[None]):
    """Activate a client on a package."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close", id="close_activate"),
        Binding("ctrl+s", "activate", "Activate", id="confirm_activate"),
    ]

    class ClientsFound(Message):
        """Clients matching the search text."""

        def __init__(self, text: str, choices: list[Choice]) -> None:
            super().__init__()
            self.text = text
            self.choices = choices

    class PackagesLoaded(Message):
        """The packages that can be sold."""

        def __init__(self, choices: list[Choice]) -> None:
            super().__init__()
            self.choices = choices

    class Activated(Message):
        """The activation was recorded and the router account queued."""

        def __init__(self, activation: Activation) -> None:
            super().__init__()
            self.activation = activation

    class JobFollowed(Message):
        """The queued job's latest state."""

        def __init__(self, state: JobState | None) -> None:
            super().__init__()
            self.state = state

    def __init__(self) -> None:
        super().__init__()
        self.activation: Activation | None = None
        self._follow_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="activate-dialog"):
            yield Label("Activate a client", classes="dialog-title")
            yield Label("Client", classes="field-label")
            yield Input(placeholder="username, name or phone", id="client-search", compact=True)
            yield OptionList(id="client-matches", compact=True)
            yield Label("Package", classes="field-label")
            yield Select[str]([], prompt="pick a package", id="package", compact=True)
            yield Label("Payment reference", classes="field-label")
            yield Input(
                placeholder="optional, e.g. the M-Pesa receipt", id="payment-ref", compact=True
            )
            yield Static("", id="activate-result")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Activate", id="activate", variant="primary", compact=True)
                yield Button("Close", id="close", compact=True)
            yield Label("enter: next   ctrl+s: activate   esc: close", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#client-search", Input).focus()
        self._load_packages()
        self._search("")

    # ------------------------------------------------------------------------ choices

    @work(thread=True, group="packages", exit_on_error=False)
    def _load_packages(self) -> None:
        with session_scope(self.app.engine) as session:  # type: ignore[attr-defined]
            self.post_message(self.PackagesLoaded(package_choices(session)))

    @on(PackagesLoaded)
    def _packages_loaded(self, message: PackagesLoaded) -> None:
        self.query_one("#package", Select).set_options((c.label, c.value) for c in message.choices)

    @on(Input.Changed, "#client-search")
    def _typed(self, event: Input.Changed) -> None:
        self._search(event.value.strip())

    @work(thread=True, exclusive=True, group="client-search", exit_on_error=False)
    def _search(self, text: str) -> None:
        with session_scope(self.app.engine) as session:  # type: ignore[attr-defined]
            self.post_message(self.ClientsFound(text, search_clients(session, text)))

    @on(ClientsFound)
    def _found(self, message: ClientsFound) -> None:
        matches = self.query_one("#client-matches", OptionList)
        matches.clear_options()
        matches.add_options(Option(c.label, id=c.value) for c in message.choices)
        if message.choices:
            matches.highlighted = 0

    @on(Input.Submitted, "#client-search")
    def _client_entered(self) -> None:
        self.query_one("#package", Select).focus()

    @on(OptionList.OptionSelected, "#client-matches")
    def _client_picked(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#client-search", Input).value = event.option.id or ""
        self.query_one("#package", Select).focus()

    @on(Select.Changed, "#package")
    def _package_picked(self) -> None:
        self.query_one("#payment-ref", Input).focus()

    @on(Input.Submitted, "#payment-ref")
    def _reference_entered(self) -> None:
        self.action_activate()

    # -------------------------------------------------------------------------- activate

    def _client(self) -> str | None:
        matches = self.query_one("#client-matches", OptionList)
        typed = self.query_one("#client-search", Input).value.strip()
        ids = [matches.get_option_at_index(i).id for i in range(matches.option_count)]
        if typed in ids:
            return typed
        if matches.highlighted is not None and matches.option_count:
            return matches.get_option_at_index(matches.highlighted).id
        return None

    def action_activate(self) -> None:
        """Activate the chosen client on the chosen package."""
        client = self._client()
        package = self.query_one("#package", Select).value
        if client is None:
            self._say("Find a client first: type part of their username, name or phone.", False)
        elif package == Select.NULL:
            self._say("Pick a package.", False)
        else:
            reference = self.query_one("#payment-ref", Input).value.strip() or None
            self._say(f"Activating {client} on {package}…", None)
            self._activate(client, str(package), reference)

    @work(thread=True, exclusive=True, group="activate", exit_on_error=False)
    def _activate(self, client: str, package: str, reference: str | None) -> None:
        activation = ActivationService(self.app.engine).activate(client, package, reference)  # type: ignore[attr-defined]
        self.post_message(self.Activated(activation))

    @on(Activated)
    def _activated(self, message: Activated) -> None:
        self.activation = message.activation
        self.query_one("#payment-ref", Input).value = ""
        self.app.wake_scheduler()  # type: ignore[attr-defined]
        self._follow(message.activation.job_id)

    def job_changed(self, job_id: int) -> None:
        """The scheduler reported on a job: look again at once if it is the one queued here."""
        if self.activation is not None and self.activation.job_id == job_id:
            self._follow(job_id)

    @work(thread=True, exclusive=True, group="follow", exit_on_error=False)
    def _follow(self, job_id: int) -> None:
        self.post_message(self.JobFollowed(job_state(self.app.engine, job_id)))  # type: ignore[attr-defined]

    @on(JobFollowed)
    def _followed(self, message: JobFollowed) -> None:
        if self.activation is None:
            return
        text, ok = result_text(
            self.activation,
            message.state,
            self.app.scheduler_state,  # type: ignore[attr-defined]
            self.app.settings.zone,  # type: ignore[attr-defined]
        )
        self._say(text, ok)
        if self._follow_timer is not None:
            self._follow_timer.stop()
            self._follow_timer = None
        if message.state is not None and not message.state.settled:
            job_id = self.activation.job_id
            self._follow_timer = self.set_timer(FOLLOW_EVERY, lambda: self._follow(job_id))

    def _say(self, text: str, ok: bool | None) -> None:
        result = self.query_one("#activate-result", Static)
        result.update(text)
        result.set_class(ok is True, "ok")
        result.set_class(ok is False, "bad")

    @on(Button.Pressed, "#activate")
    def _pressed_activate(self) -> None:
        self.action_activate()

    @on(Button.Pressed, "#close")
    def _pressed_close(self) -> None:
        self.dismiss()

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self._say(one_sentence(event.worker.error, self.app.engine), False)  # type: ignore[attr-defined]
