"""The activation modal: find a client, pick a package, say how it was paid, then activate.

Before anything is written it shows what the payment would buy: a new subscription, a renewal and
its new expiry, or, while another package runs, the two ways to change (after the current one or
switching now) with the dates each gives; a change is only activated once one is chosen. A payment
without a reference names its method (cash, bank, ...): nothing becomes cash by default.

As `wisp activate` does, it asks the package's router (off the UI thread, within its connect
timeout) whether the client's username there is an account WISP Console did not create; if so it
says so and activates only once "take over this router account" is ticked, the account then adopted
with its comment text and unmodelled limits kept. When the router cannot be reached in time nothing
is said and the activation goes ahead: the engine asks again before it writes, and refuses the job
for good if the account is not ours.

Instead of a payment typed in, "Request M-Pesa payment" (ctrl+r, `console.screens.activate_push`)
sends an STK Push to the client's phone for the package's price and follows it: the payment, once
the customer enters their PIN, activates the client as any M-Pesa payment does.

After a success the form locks: it shows what was bought and follows the queued job until it is
settled (the router account reaching the router, or the router's reason why not). Nothing is paid a
second time from it; "New activation" starts again from an empty form.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import (
    Button,
    Checkbox,
    Input,
    Label,
    OptionList,
    RadioButton,
    RadioSet,
    Select,
    Static,
)
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState, get_current_worker

from console.screens.activate_push import MpesaRequest
from console.screens.keys import HELP_IN_DIALOG
from console.views.activation_result import (
    ADOPT_LABEL,
    CHANGE_CHOICES,
    Preview,
    bought_text,
    change_labels,
    foreign_account_text,
    preview,
    preview_text,
    result_text,
)
from console.views.clients import Choice, package_choices, search_clients
from console.views.errors import one_sentence
from console.views.job_state import JobState, job_state
from db.activation import Activation, ActivationService, PackageChange, Quote
from db.engine import session_scope

FOLLOW_EVERY = 0.2
"""Seconds between two looks at the queued job."""

NO_METHOD = "how paid?"
"""The method's prompt while nothing is chosen and no reference is typed."""

HINT = "enter: next  ^s: activate  ^r: M-Pesa  f1: keys  esc: close"
LOCKED_HINT = "ctrl+n: new activation   f1: keys   esc: close"


class ForeignAccount(Exception):
    """The router already has the client's account, not created by WISP Console: nothing written."""

    def __init__(self, client: str, package: str, sentence: str) -> None:
        super().__init__(sentence)
        self.client = client
        self.package = package
        self.sentence = sentence


class Missing(Exception):
    """Something the operator has to fill in or choose before activating; `field` is where."""

    def __init__(self, text: str, field: str) -> None:
        super().__init__(text)
        self.field = field


@dataclass(frozen=True)
class Request:
    """What the operator asked for, checked before the activation starts."""

    client: str
    package: str
    reference: str | None
    method: str | None
    amount: Decimal | None
    partial: bool
    change: str | None
    adopt: bool
    """Take over a router account of the client's name that WISP Console did not create."""
    check_foreign: bool
    """The router was not asked yet about such an account for this choice: ask before writing."""


class ActivateScreen(MpesaRequest):
    """Activate a client on a package, paid by hand or by an STK Push it sends."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close", id="close_activate"),
        Binding("ctrl+s", "activate", "Activate", id="confirm_activate"),
        Binding("ctrl+n", "new", "New activation", id="new_activation"),
        HELP_IN_DIALOG,
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

    class Previewed(Message):
        """What a payment would buy the chosen client on the chosen package."""

        def __init__(self, found: Preview) -> None:
            super().__init__()
            self.found = found

    class ForeignChecked(Message):
        """What the package's router said about an account of the client's name."""

        def __init__(self, client: str, package: str, sentence: str | None) -> None:
            super().__init__()
            self.client = client
            self.package = package
            self.sentence = sentence

    class Activated(Message):
        """The activation was recorded (and the router account queued, unless nothing was due)."""

        def __init__(self, activation: Activation, adopted: bool) -> None:
            super().__init__()
            self.activation = activation
            self.adopted = adopted

    class JobFollowed(Message):
        """The queued job's latest state."""

        def __init__(self, state: JobState | None) -> None:
            super().__init__()
            self.state = state

    def __init__(self) -> None:
        super().__init__()
        self.activation: Activation | None = None
        """The activation done here; while set, the form is locked."""
        self.preview: Preview | None = None
        """What a payment would buy the chosen client on the chosen package, once read."""
        self._previewed: tuple[str, str] | None = None
        self._foreign: tuple[str, str, str | None] | None = None
        """The router's answer for a client and package: why its account is not ours, or None."""
        self._adopted = False
        self._busy = False
        self._focus_before: Widget | None = None
        self._follow_timer: Timer | None = None
        self.push_paid = False
        """An STK Push sent here was paid: like an activation, the form stays locked."""

    def compose(self) -> ComposeResult:
        methods = self.wisp.settings.activation.payment_methods
        with Vertical(classes="dialog", id="activate-dialog"):
            yield Label("Activate a client", classes="dialog-title")
            with Vertical(id="activate-form"):
                with Horizontal(classes="form-row"):
                    yield Label("Client", classes="row-label")
                    yield Input(
                        placeholder="username, name or phone", id="client-search", compact=True
                    )
                yield OptionList(id="client-matches", compact=True)
                with Horizontal(classes="form-row"):
                    yield Label("Package", classes="row-label")
                    yield Select[str]([], prompt="pick a package", id="package", compact=True)
                with Horizontal(classes="form-row"):
                    yield Label("Payment", classes="row-label")
                    yield Input(
                        placeholder="reference, e.g. the M-Pesa receipt",
                        id="payment-ref",
                        compact=True,
                    )
                    yield Select[str](
                        ((method, method) for method in methods),
                        prompt=NO_METHOD,
                        id="method",
                        compact=True,
                    )
                with Horizontal(classes="form-row"):
                    yield Label("Amount", classes="row-label")
                    yield Input(
                        placeholder="the price", id="amount", restrict=r"[0-9.,]*", compact=True
                    )
                    yield Checkbox("part payment (keep as credit)", id="partial", compact=True)
                yield Static("", id="activate-preview", classes="empty")
                yield Vertical(id="change-choices")
                with Vertical(id="foreign", classes="empty"):
                    yield Static("", id="foreign-account")
                    yield Checkbox(ADOPT_LABEL, id="adopt", compact=True)
            yield Static("", id="activate-result", classes="empty")
            with Horizontal(classes="dialog-buttons"):
                yield Button("New activation", id="new-activation", compact=True)
                yield Button("Activate", id="activate", variant="primary", compact=True)
                yield Button("Request M-Pesa", id="request-mpesa", compact=True)
                yield Button("Close", id="close", compact=True)
            yield Label(HINT, id="activate-hint", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#new-activation", Button).display = False
        self.query_one("#client-search", Input).focus()
        self._load_packages()
        self._search("")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Activate or request a payment only from an open form; New activation only once the
        form is locked by an activation or a paid push."""
        if action in ("activate", "request_mpesa"):
            return None if self._done or self._busy or self.pushing else True
        if action == "new":
            return True if self._done else None
        return True

    @property
    def _done(self) -> bool:
        """Something was bought here (activated, or paid by a push): the form is locked."""
        return self.activation is not None or self.push_paid

    # ------------------------------------------------------------------------ choices

    @work(thread=True, group="packages", exit_on_error=False)
    def _load_packages(self) -> None:
        with session_scope(self.wisp.engine) as session:
            self.post_message(self.PackagesLoaded(package_choices(session)))

    @on(PackagesLoaded)
    def _packages_loaded(self, message: PackagesLoaded) -> None:
        self.query_one("#package", Select).set_options((c.label, c.value) for c in message.choices)

    @on(Input.Changed, "#client-search")
    def _typed(self, event: Input.Changed) -> None:
        self._search(event.value.strip())

    @work(thread=True, exclusive=True, group="client-search", exit_on_error=False)
    def _search(self, text: str) -> None:
        with session_scope(self.wisp.engine) as session:
            self.post_message(self.ClientsFound(text, search_clients(session, text)))

    @on(ClientsFound)
    async def _found(self, message: ClientsFound) -> None:
        matches = self.query_one("#client-matches", OptionList)
        matches.clear_options()
        matches.add_options(Option(c.label, id=c.value) for c in message.choices)
        if message.choices:
            matches.highlighted = 0
        await self._requote()

    @on(OptionList.OptionHighlighted, "#client-matches")
    async def _client_highlighted(self) -> None:
        await self._requote()

    @on(Input.Submitted, "#client-search")
    def _client_entered(self) -> None:
        self.query_one("#package", Select).focus()

    @on(OptionList.OptionSelected, "#client-matches")
    def _client_picked(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#client-search", Input).value = event.option.id or ""
        self.query_one("#package", Select).focus()

    @on(Select.Changed, "#package")
    async def _package_picked(self, event: Select.Changed) -> None:
        if event.value != Select.NULL:
            self.query_one("#payment-ref", Input).focus()
        await self._requote()

    @on(Input.Changed, "#payment-ref")
    def _reference_typed(self, event: Input.Changed) -> None:
        """With a reference the method may be left to the first one (shown as the prompt)."""
        methods = self.wisp.settings.activation.payment_methods
        default = f"{methods[0]} (default)" if event.value.strip() and methods else NO_METHOD
        self.query_one("#method", Select).prompt = default

    @on(Input.Submitted, "#payment-ref")
    @on(Input.Submitted, "#amount")
    def _entered_to_activate(self) -> None:
        self.action_activate()

    @on(Select.Changed, "#method")
    def _method_picked(self, event: Select.Changed) -> None:
        if event.value != Select.NULL:
            self.query_one("#amount", Input).focus()

    @on(RadioSet.Changed, "#change")
    def _change_picked(self) -> None:
        self.query_one("#activate", Button).focus()

    # ------------------------------------------------------------------ what it would buy

    def _chosen(self) -> tuple[str, str] | None:
        client = self._client()
        package = self.query_one("#package", Select).value
        if client is None or package == Select.NULL:
            return None
        return client, str(package)

    async def _requote(self) -> None:
        """Read again what the payment would buy, when the client or the package changed."""
        chosen = self._chosen()
        if self.activation is not None or chosen == self._previewed:
            return
        self._previewed = chosen
        self.preview = None
        self._foreign = None
        self._show_preview("")
        self._show_foreign(None)
        await self._show_choices(None)
        if chosen is not None:
            self._preview(*chosen)

    @work(thread=True, exclusive=True, group="preview", exit_on_error=False)
    def _preview(self, client: str, package: str) -> None:
        app = self.wisp
        found = preview(app.engine, app.settings, client, package, app.now())
        self.post_message(self.Previewed(found))
        if get_current_worker().is_cancelled:
            return  # chosen again since: the router is asked about the newer choice
        # Then the router, which may take up to its connect timeout to answer (or not).
        sentence = foreign_account_text(app.engine, app.settings, client, package)
        self.post_message(self.ForeignChecked(client, package, sentence))

    @on(Previewed)
    async def _previewed_found(self, message: Previewed) -> None:
        found = message.found
        if self.activation is not None or self._previewed != (found.client, found.package):
            return  # an answer for an earlier choice
        self.preview = found
        zone = self.wisp.settings.zone
        self._show_preview(preview_text(found, zone))
        await self._show_choices(found.quote)

    @on(ForeignChecked)
    def _foreign_checked(self, message: ForeignChecked) -> None:
        if self.activation is not None or self._previewed != (message.client, message.package):
            return  # an answer for an earlier choice
        self._know_foreign(message.client, message.package, message.sentence)

    def _know_foreign(self, client: str, package: str, sentence: str | None) -> None:
        """Keep the router's answer for this choice; a new answer is shown (and the box unticked)."""
        if self._foreign == (client, package, sentence):
            return  # said already (by the activation's own look): leave the box as the operator set it
        self._foreign = (client, package, sentence)
        self._show_foreign(sentence)

    def _show_foreign(self, sentence: str | None) -> None:
        """Say why the router account is not ours and offer to take it over (unticked)."""
        self.query_one("#foreign-account", Static).update(sentence or "")
        self.query_one("#adopt", Checkbox).value = False
        self.query_one("#foreign", Vertical).set_class(not sentence, "empty")
        self.query_one("#activate-dialog", Vertical).set_class(bool(sentence), "foreign")

    def _show_preview(self, text: str) -> None:
        shown = self.query_one("#activate-preview", Static)
        shown.update(text)
        shown.set_class(not text, "empty")

    async def _show_choices(self, quote: Quote | None) -> None:
        """Offer both ways to change package, none chosen (a fresh set each time)."""
        holder = self.query_one("#change-choices", Vertical)
        await holder.remove_children()
        if quote is not None:
            after, switch = change_labels(quote, self.wisp.settings.zone)
            await holder.mount(
                RadioSet(
                    RadioButton(after, id="after-current"),
                    RadioButton(switch, id="switch-now"),
                    id="change",
                    compact=True,
                )
            )

    def _change(self) -> str | None:
        radios = self.query("#change").results(RadioSet)
        radio = next(radios, None)
        if radio is None or radio.pressed_index < 0:
            return None
        return CHANGE_CHOICES[radio.pressed_index]

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

    def _request(self) -> Request:
        """The operator's request; `Missing` says what is missing and where."""
        chosen = self._chosen()
        if self._client() is None:
            raise Missing(
                "Find a client first: type part of their username, name or phone.",
                "#client-search",
            )
        if chosen is None:
            raise Missing("Pick a package.", "#package")
        client, package = chosen
        reference = self.query_one("#payment-ref", Input).value.strip() or None
        method = self.query_one("#method", Select).value
        if reference is None and method == Select.NULL:
            methods = ", ".join(self.wisp.settings.activation.payment_methods)
            raise Missing(
                "A payment without a reference needs its method: choose how it was paid "
                f"({methods}), or type the payment reference.",
                "#method",
            )
        typed = self.query_one("#amount", Input).value.strip().replace(",", "")
        try:
            amount = Decimal(typed) if typed else None
        except InvalidOperation:
            raise Missing(f"Amount {typed!r} is not a number.", "#amount") from None
        if amount is not None and not amount.is_finite():
            raise Missing(f"Amount {typed!r} is not a number.", "#amount")
        partial = self.query_one("#partial", Checkbox).value
        if partial and amount is None:
            raise Missing("A part payment needs the amount paid.", "#amount")
        found = self.preview if self._previewed == chosen else None
        if found is not None and amount is not None and amount < found.price and not partial:
            raise Missing(
                f"Amount {amount:,.2f} is below {package}'s price {found.price:,.2f}: tick "
                f"part payment to keep it as credit on {client}.",
                "#partial",
            )
        change = self._change()
        if found is not None and found.quote is not None and change is None:
            raise Missing(
                f"{client} has {found.quote.current} running: choose after current or switch "
                f"now for {package}.",
                "#change",
            )
        foreign = self._foreign if self._foreign and self._foreign[:2] == chosen else None
        adopt = foreign is not None and foreign[2] is not None
        if adopt and not self.query_one("#adopt", Checkbox).value:
            raise Missing(f"Tick take over to use {client}'s existing router account.", "#adopt")
        return Request(
            client=client,
            package=package,
            reference=reference,
            method=None if method == Select.NULL else str(method),
            amount=amount,
            partial=partial,
            change=change if found is not None and found.quote is not None else None,
            adopt=adopt,
            check_foreign=foreign is None,
        )

    def action_activate(self) -> None:
        """Activate the chosen client on the chosen package, once."""
        if self._done or self._busy or self.pushing:
            return
        try:
            request = self._request()
        except Missing as missing:
            self._say(str(missing), False)
            for widget in self.query(missing.field).results(Widget):
                widget.focus()
            return
        self._busy = True
        self._focus_before = self.focused
        self._lock_form(True)
        self._say(f"Activating {request.client} on {request.package}…", None)
        self._activate(request)

    @work(thread=True, exclusive=True, group="activate", exit_on_error=False)
    def _activate(self, request: Request) -> None:
        app = self.wisp
        if request.check_foreign:  # activated before the router answered the preview
            sentence = foreign_account_text(
                app.engine,
                app.settings,
                request.client,
                request.package,
            )
            if sentence:
                raise ForeignAccount(request.client, request.package, sentence)
        activation = ActivationService(app.engine, app.settings).activate(
            request.client,
            request.package,
            request.reference,
            amount=request.amount,
            method=request.method,
            change=request.change,
            partial=request.partial,
            adopt=request.adopt,
            now=app.now(),
        )
        self.post_message(self.Activated(activation, request.adopt))

    @on(Activated)
    async def _activated(self, message: Activated) -> None:
        self.activation = message.activation
        self._adopted = message.adopted
        self._busy = False
        self._show_preview("")
        self._show_foreign(None)
        await self._show_choices(None)
        self._show_done()
        activation = message.activation
        if activation.job_id is None:
            self._show_result(None)  # nothing queued: a package after the current one, or credit
        else:
            self._say(bought_text(activation, self.wisp.settings.zone), None)
            self.wisp.wake_scheduler()
            self._follow(activation.job_id)

    def _show_done(self) -> None:
        """Lock the form after a sale: only New activation and Close remain."""
        self.query_one("#activate", Button).disabled = True
        self.query_one("#request-mpesa", Button).display = False  # room for New activation
        self.query_one("#activate-hint", Label).update(LOCKED_HINT)
        new = self.query_one("#new-activation", Button)
        new.display = True
        new.focus()
        self.refresh_bindings()

    # ------------------------------------------------------------------- M-Pesa request

    def _chosen_or_say(self) -> tuple[str, str] | None:
        """The client and package to ask a payment for; else say what is missing, and focus it."""
        missing: Missing | None = None
        if self._client() is None:
            missing = Missing(
                "Find a client first: type part of their username, name or phone.",
                "#client-search",
            )
        elif self._chosen() is None:
            missing = Missing("Pick the package to ask the M-Pesa payment for.", "#package")
        if missing is not None:
            self._say(str(missing), False)
            for widget in self.query(missing.field).results(Widget):
                widget.focus()
            return None
        return self._chosen()

    def _push_settled(self, paid: bool) -> None:
        """The push ended: paid locks the form as an activation does; otherwise it opens again."""
        if paid:
            self.push_paid = True
            self._show_done()
            return
        self._lock_form(False)
        self.refresh_bindings()

    def action_new(self) -> None:
        """Start another activation from an empty form."""
        if not self._done or self.pushing:
            return
        self.activation = None
        self.push_paid = False
        self._stop_following()
        self._previewed = None
        self.preview = None
        self._foreign = None
        self._adopted = False
        self._show_foreign(None)
        self.query_one("#client-search", Input).value = ""
        self.query_one("#package", Select).clear()
        self.query_one("#payment-ref", Input).value = ""
        self.query_one("#method", Select).clear()
        self.query_one("#amount", Input).value = ""
        self.query_one("#partial", Checkbox).value = False
        self._say("", None)
        self._lock_form(False)
        self.query_one("#activate", Button).disabled = False
        self.query_one("#request-mpesa", Button).display = True
        self.query_one("#activate-hint", Label).update(HINT)
        self.query_one("#new-activation", Button).display = False
        self.query_one("#client-search", Input).focus()
        self.refresh_bindings()

    def _lock_form(self, locked: bool) -> None:
        self.query_one("#activate-form", Vertical).disabled = locked

    # ------------------------------------------------------------------------- the job

    def job_changed(self, job_id: int) -> None:
        """The scheduler reported on a job: look again at once if it is the one queued here."""
        if self.activation is not None and self.activation.job_id == job_id:
            self._follow(job_id)

    @work(thread=True, exclusive=True, group="follow", exit_on_error=False)
    def _follow(self, job_id: int) -> None:
        self.post_message(self.JobFollowed(job_state(self.wisp.engine, job_id)))

    @on(JobFollowed)
    def _followed(self, message: JobFollowed) -> None:
        if self.activation is None or self.activation.job_id is None:
            return
        self._show_result(message.state)
        self._stop_following()
        if message.state is not None and not message.state.settled:
            job_id = self.activation.job_id
            self._follow_timer = self.set_timer(FOLLOW_EVERY, lambda: self._follow(job_id))

    def _stop_following(self) -> None:
        if self._follow_timer is not None:
            self._follow_timer.stop()
            self._follow_timer = None

    def _show_result(self, state: JobState | None) -> None:
        if self.activation is None:
            return
        text, ok = result_text(
            self.activation,
            state,
            self.wisp.scheduler_state,
            self.wisp.settings.zone,
            adopted=self._adopted,
            resume_key=self.wisp.key_for("pause"),
        )
        self._say(text, ok)

    def _say(self, text: str, ok: bool | None) -> None:
        result = self.query_one("#activate-result", Static)
        result.update(text)
        result.set_class(not text, "empty")
        result.set_class(ok is True, "ok")
        result.set_class(ok is False, "bad")

    # ------------------------------------------------------------------------- buttons

    @on(Button.Pressed, "#activate")
    def _pressed_activate(self) -> None:
        self.action_activate()

    @on(Button.Pressed, "#request-mpesa")
    def _pressed_request(self) -> None:
        self.action_request_mpesa()

    @on(Button.Pressed, "#new-activation")
    def _pressed_new(self) -> None:
        self.action_new()

    @on(Button.Pressed, "#close")
    def _pressed_close(self) -> None:
        self.dismiss()

    @on(Worker.StateChanged)
    async def _worker_failed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        if event.worker.group == "mpesa-push":
            self.push_failed()
            self._say(f"No M-Pesa request: {one_sentence(error, self.wisp.engine)}", False)
            return
        if event.worker.group == "activate":
            self._busy = False
            self._lock_form(False)
            if self._focus_before is not None:
                self._focus_before.focus()
            self.refresh_bindings()
        if isinstance(error, ForeignAccount):
            # The router answered only now: nothing was written; say why and offer to take over.
            if self._previewed == (error.client, error.package):
                self._know_foreign(error.client, error.package, error.sentence)
                self.query_one("#adopt", Checkbox).focus()
            self._say(
                f"Nothing was written: tick take over to use {error.client}'s existing router "
                "account.",
                False,
            )
            return
        if isinstance(error, PackageChange):
            # Another package started running since the preview: nothing was written; read the
            # choices again and offer them.
            self._previewed = None
            await self._requote()
            self._say(
                f"Nothing was written: {error.quote.client} has {error.quote.current} running; "
                "choose after current or switch now.",
                False,
            )
            return
        self._say(one_sentence(error, self.wisp.engine), False)
