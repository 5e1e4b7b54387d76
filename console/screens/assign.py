"""The assign dialog: give an unmatched M-Pesa payment to a client and a package, then apply it.

The package whose price the amount pays is chosen already (on the chosen client's router first);
the operator may pick another. Assigning is recorded in the LogService as the operator's action.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from console.screens.keys import HELP_IN_DIALOG
from console.screens.typed import OnWispApp
from console.views.clients import Choice, package_choices, search_clients
from console.views.errors import one_sentence
from console.views.payment_assign import Unmatched, assign_payment, package_for, unmatched
from db.engine import session_scope
from db.models import MpesaStatus
from db.mpesa import Applied

HINT = "enter: next   ctrl+s: assign   f1: keys   esc: close"


class AssignScreen(OnWispApp, ModalScreen[None]):
    """Give one unmatched M-Pesa payment to a client and package."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close", id="close_assign"),
        Binding("ctrl+s", "assign", "Assign", id="confirm_assign"),
        HELP_IN_DIALOG,
    ]

    class PaymentLoaded(Message):
        """The payment and the packages to choose from."""

        def __init__(self, payment: Unmatched, packages: list[Choice]) -> None:
            super().__init__()
            self.payment = payment
            self.packages = packages

    class ClientsFound(Message):
        """Clients matching the search text."""

        def __init__(self, choices: list[Choice]) -> None:
            super().__init__()
            self.choices = choices

    class PackageMatched(Message):
        """The package the amount pays for the highlighted client."""

        def __init__(self, package: str | None) -> None:
            super().__init__()
            self.package = package

    class Assigned(Message):
        """The payment was assigned and applied (or left unmatched, with why)."""

        def __init__(self, done: Applied) -> None:
            super().__init__()
            self.done = done

    def __init__(self, transaction_id: int) -> None:
        super().__init__()
        self.transaction_id = transaction_id
        self.payment: Unmatched | None = None
        self._busy = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="assign-dialog"):
            yield Label(
                f"Assign M-Pesa payment {self.transaction_id}",
                id="assign-title",
                classes="dialog-title",
            )
            yield Static("", id="assign-why", classes="hint")
            with Horizontal(classes="form-row"):
                yield Label("Client", classes="row-label")
                yield Input(placeholder="username, name or phone", id="client-search", compact=True)
            yield OptionList(id="client-matches", compact=True)
            with Horizontal(classes="form-row"):
                yield Label("Package", classes="row-label")
                yield Select[str]([], prompt="pick a package", id="package", compact=True)
            yield Static("", id="assign-result", classes="empty")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Assign", id="assign", variant="primary", compact=True)
                yield Button("Close", id="close", compact=True)
            yield Label(HINT, classes="hint")

    def on_mount(self) -> None:
        self.query_one("#client-search", Input).focus()
        self._load()
        self._search("")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Assign only once the payment is read and while nothing is being assigned."""
        if action == "assign":
            return None if self._busy or self.payment is None else True
        return True

    # ------------------------------------------------------------------------ choices

    @work(thread=True, group="assign-load", exit_on_error=False)
    def _load(self) -> None:
        with session_scope(self.wisp.engine) as session:
            payment = unmatched(session, self.transaction_id)
            packages = package_choices(session)
        self.post_message(self.PaymentLoaded(payment, packages))

    @on(PaymentLoaded)
    def _loaded(self, message: PaymentLoaded) -> None:
        self.payment = message.payment
        self.query_one("#assign-title", Label).update(message.payment.title)
        self.query_one("#assign-why", Static).update(f"Unmatched: {message.payment.note or '-'}")
        packages = self.query_one("#package", Select)
        packages.set_options((c.label, c.value) for c in message.packages)
        self._match_package(self._client())
        self.refresh_bindings()

    @on(Input.Changed, "#client-search")
    def _typed(self, event: Input.Changed) -> None:
        self._search(event.value.strip())

    @work(thread=True, exclusive=True, group="assign-search", exit_on_error=False)
    def _search(self, text: str) -> None:
        with session_scope(self.wisp.engine) as session:
            self.post_message(self.ClientsFound(search_clients(session, text)))

    @on(ClientsFound)
    def _found(self, message: ClientsFound) -> None:
        matches = self.query_one("#client-matches", OptionList)
        matches.clear_options()
        matches.add_options(Option(c.label, id=c.value) for c in message.choices)
        if message.choices:
            matches.highlighted = 0

    @on(OptionList.OptionHighlighted, "#client-matches")
    def _client_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._match_package(event.option.id)

    @on(Input.Submitted, "#client-search")
    def _client_entered(self) -> None:
        self.query_one("#package", Select).focus()

    @on(OptionList.OptionSelected, "#client-matches")
    def _client_picked(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#client-search", Input).value = event.option.id or ""
        self.query_one("#package", Select).focus()

    @on(Select.Changed, "#package")
    def _package_picked(self, event: Select.Changed) -> None:
        if event.value != Select.NULL and self.query_one("#package", Select).has_focus:
            self.query_one("#assign", Button).focus()

    def _match_package(self, client: str | None) -> None:
        if self.payment is not None:
            self._package_for(client)

    @work(thread=True, exclusive=True, group="assign-match", exit_on_error=False)
    def _package_for(self, client: str | None) -> None:
        assert self.payment is not None
        with session_scope(self.wisp.engine) as session:
            found = package_for(session, self.payment.amount, client)
        self.post_message(self.PackageMatched(found))

    @on(PackageMatched)
    def _package_matched(self, message: PackageMatched) -> None:
        packages = self.query_one("#package", Select)
        if message.package is not None:
            packages.value = message.package

    # -------------------------------------------------------------------------- assign

    def _client(self) -> str | None:
        matches = self.query_one("#client-matches", OptionList)
        typed = self.query_one("#client-search", Input).value.strip()
        ids = [matches.get_option_at_index(i).id for i in range(matches.option_count)]
        if typed in ids:
            return typed
        if matches.highlighted is not None and matches.option_count:
            return matches.get_option_at_index(matches.highlighted).id
        return None

    def action_assign(self) -> None:
        """Assign the payment to the chosen client and package, and apply it."""
        if self._busy or self.payment is None:
            return
        client = self._client()
        package = self.query_one("#package", Select).value
        if client is None:
            self._say("Find a client first: type part of their username, name or phone.", False)
            self.query_one("#client-search", Input).focus()
            return
        if package == Select.NULL:
            self._say(f"Pick the package the KES {self.payment.amount:,.0f} pays for.", False)
            self.query_one("#package", Select).focus()
            return
        self._busy = True
        self.refresh_bindings()
        self._say(f"Assigning payment {self.transaction_id} to {client} on {package}…", None)
        self._assign(client, str(package))

    @work(thread=True, exclusive=True, group="assign", exit_on_error=False)
    def _assign(self, client: str, package: str) -> None:
        app = self.wisp
        done = assign_payment(app.engine, app.settings, self.transaction_id, client, package)
        self.post_message(self.Assigned(done))

    @on(Assigned)
    def _assigned(self, message: Assigned) -> None:
        done = message.done
        self._busy = False
        if done.status == MpesaStatus.APPLIED:
            self.wisp.notify(f"M-Pesa payment {done.id} assigned: {done.note}.")
            self.wisp.wake_scheduler()
            self.dismiss()
            return
        self.refresh_bindings()
        self._say(f"Payment {done.id} is still {done.status}: {done.note}", False)

    def _say(self, text: str, ok: bool | None) -> None:
        result = self.query_one("#assign-result", Static)
        result.update(text)
        result.set_class(not text, "empty")
        result.set_class(ok is True, "ok")
        result.set_class(ok is False, "bad")

    @on(Button.Pressed, "#assign")
    def _pressed_assign(self) -> None:
        self.action_assign()

    @on(Button.Pressed, "#close")
    def _pressed_close(self) -> None:
        self.dismiss()

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """A refusal (no longer unmatched, client gone) is one sentence in the dialog."""
        if event.state != WorkerState.ERROR:
            return
        if event.worker.group == "assign":
            self._busy = False
            self.refresh_bindings()
        reason = one_sentence(event.worker.error, self.wisp.engine)
        self._say(f"Not assigned: {reason}", False)
