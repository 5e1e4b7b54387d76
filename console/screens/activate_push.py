"""The activation modal's M-Pesa request: an STK Push to the client's phone for the package's
price, followed on screen until the customer answers and then until the router has the account.

The push and every look at it go through `scheduler.mpesa.push`, as `wisp pay request --wait`
does; a worker thread follows it and posts what it sees. Daraja not configured is one sentence
naming what to set.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from textual import on, work
from textual.binding import Binding
from textual.message import Message
from textual.screen import ModalScreen
from textual.worker import get_current_worker

from console.screens.typed import OnWispApp
from console.views.activation_result import job_text
from console.views.job_state import JobState, job_state
from console.views.push_state import PushSeen, no_answer_text, no_job_text, push_text, sent_text
from db.mpesa import get_transaction
from scheduler.mpesa.push import (
    PushOrder,
    PushWatch,
    callback_urls_of,
    delivery_job,
    push_order,
    send_push,
)
from scheduler.mpesa.recovery import daraja_client

LOOK_EVERY = 0.3
"""Seconds between two looks at the push, then at its router job."""
FOLLOW_FOR = 180.0
"""Seconds the modal follows a push the customer does not answer."""


class MpesaRequest(OnWispApp, ModalScreen[None]):
    """The STK Push half of the activation modal, which builds on this class.

    A Screen itself, so that Textual registers the message handlers defined here.
    """

    BINDINGS = [
        Binding(
            "ctrl+r",
            "request_mpesa",
            "Request M-Pesa payment",
            id="request_mpesa",
            tooltip="Send an STK Push to the client's phone for the package's price",
        ),
    ]

    if TYPE_CHECKING:

        def _chosen_or_say(self) -> tuple[str, str] | None: ...

        def _say(self, text: str, ok: bool | None) -> None: ...

        def _lock_form(self, locked: bool) -> None: ...

        def _push_settled(self, paid: bool) -> None: ...

    class PushSent(Message):
        """Daraja accepted the push: the customer's phone is asked for the PIN."""

        def __init__(self, order: PushOrder) -> None:
            super().__init__()
            self.order = order

    class PushLooked(Message):
        """The push's latest state."""

        def __init__(self, seen: PushSeen) -> None:
            super().__init__()
            self.seen = seen

    class PushUnanswered(Message):
        """The customer did not answer while the modal followed the push."""

    class DeliveryLooked(Message):
        """The router job of the paid push (None: nothing queued for a router)."""

        def __init__(self, seen: PushSeen, job_id: int | None, state: JobState | None) -> None:
            super().__init__()
            self.seen = seen
            self.job_id = job_id
            self.state = state

    def __init__(self) -> None:
        super().__init__()
        self.pushing = False
        """An STK Push is being sent or followed: the form stays locked."""

    def action_request_mpesa(self) -> None:
        """Ask the client's phone for the chosen package's price through M-Pesa."""
        if self.pushing:
            return
        chosen = self._chosen_or_say()
        if chosen is None:
            return
        self.pushing = True
        self._lock_form(True)
        self.refresh_bindings()
        self._say(f"Sending an STK Push to {chosen[0]}'s phone…", None)
        self._push(*chosen)

    @work(thread=True, exclusive=True, group="mpesa-push", exit_on_error=False)
    def _push(self, client: str, package: str) -> None:
        """Send the push, then follow it to its end and on to the router job."""
        app = self.wisp
        callback_urls_of(app.settings)  # Daraja's settings first: they are missing most often
        with daraja_client(app.settings) as daraja:
            order = push_order(app.engine, client, package)
            sent = send_push(app.engine, app.settings, daraja, order)
            self.post_message(self.PushSent(order))
            watch = PushWatch(app.engine, app.settings, daraja, sent.row_id)
            seen = self._until_settled(watch)
        if seen is not None and seen.paid:
            self._follow_delivery(seen)

    def _until_settled(self, watch: PushWatch) -> PushSeen | None:
        worker = get_current_worker()
        deadline = time.monotonic() + FOLLOW_FOR
        while not worker.is_cancelled:
            seen = PushSeen.of(watch.look())
            self.post_message(self.PushLooked(seen))
            if seen.settled:
                return seen
            if time.monotonic() > deadline:
                self.post_message(self.PushUnanswered())
                return None
            time.sleep(LOOK_EVERY)
        return None

    def _follow_delivery(self, seen: PushSeen) -> None:
        app = self.wisp
        row = get_transaction(app.engine, seen.row_id)
        job = delivery_job(app.engine, row.client_id, row.package_id)
        if job is None:
            self.post_message(self.DeliveryLooked(seen, None, None))
            return
        worker = get_current_worker()
        while not worker.is_cancelled:
            state = job_state(app.engine, job.job_id)
            self.post_message(self.DeliveryLooked(seen, job.job_id, state))
            if state is None or state.settled:
                return
            time.sleep(LOOK_EVERY)

    @on(PushSent)
    def _push_sent(self, message: PushSent) -> None:
        self._say(sent_text(message.order), None)

    @on(PushLooked)
    def _push_looked(self, message: PushLooked) -> None:
        text, ok = push_text(message.seen)
        if ok is None:
            return  # still waiting: the sent line (phone, amount, package) stays up
        self._say(text, ok)
        if message.seen.paid:
            self.wisp.wake_scheduler()  # its router job is due now
        if message.seen.settled:
            self.pushing = False
            self._push_settled(message.seen.paid)

    @on(PushUnanswered)
    def _push_unanswered(self) -> None:
        self.pushing = False
        self._say(no_answer_text(FOLLOW_FOR), False)
        self._push_settled(False)

    @on(DeliveryLooked)
    def _delivery_looked(self, message: DeliveryLooked) -> None:
        paid, _ = push_text(message.seen)
        if message.job_id is None:
            self._say(f"{paid}\n{no_job_text()}", True)
            return
        wisp = self.wisp
        line, ok = job_text(
            message.job_id, message.state, wisp.scheduler_state, wisp.key_for("pause")
        )
        self._say(f"{paid}\n{line}", ok)

    def push_failed(self) -> None:
        """The push could not be sent or followed: the form opens again (the caller says why)."""
        self.pushing = False
        self._push_settled(False)
