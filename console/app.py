"""The WISP Console Textual app: settings, the database, the embedded scheduler, global keys.

Build it with `build_app` (the production factory the CLI and the tests share).

The first frame comes first: this module and the main screen's import Textual and the console's
widgets, not SQLAlchemy, the models or the engine. Given an `Opener` instead of an engine (as
`wisp console` does), the app paints the main screen with its panes loading, then opens the
database and starts the embedded provisioning service in a worker thread, and fills the panes.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from textual import on
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.notifications import Notification, Notify, SeverityLevel
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from console.screens.main import MainScreen
from db.localtime import utcnow
from db.states import Health
from scheduler.engine.events import (
    DrainFinished,
    EngineEvent,
    JobCompleted,
    JobFailed,
    RouterHealthChanged,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from db.config import Settings
    from scheduler.mpesa.service import MpesaService


@runtime_checkable
class FollowsJobs(Protocol):
    """A screen that follows jobs to their routers (the activation modal)."""

    def job_changed(self, job_id: int) -> None: ...


class Scheduler(Protocol):
    """What the console needs of the embedded provisioning service."""

    @property
    def state(self) -> str: ...  # running | paused | off

    @property
    def last_drain(self) -> datetime | None: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def wake(self) -> None: ...


SHOWN_WAIT = 2.0
"""How long an opener lets the panes' first query go first before it starts the engine."""


class Opener(Protocol):
    """Opens the database (checked as every command checks it) and starts the embedded
    provisioning service if there is one; called once, in a worker thread, after the first frame.
    An opener that has a service to start calls `app.database_open(engine)` first, so the panes
    fill while the service starts."""

    def __call__(self, app: WispApp) -> tuple[Engine, Scheduler | None]: ...


class WispApp(App[int]):
    """The operator console."""

    TITLE = "WISP Console"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True
    COMMAND_PALETTE_BINDING = "ctrl+p"
    NOTIFICATION_TIMEOUT = 4
    BINDINGS: ClassVar[list[BindingType]] = [
        # f1 too: in a text field ? is typed, not a key.
        Binding("question_mark,f1", "help", "Help", id="help"),
        Binding("q", "quit", "Quit", id="quit"),
        Binding(
            "ctrl+p",
            "command_palette",
            "palette",
            id="command_palette",
            show=False,
            priority=True,
            tooltip="Every action by name (the command palette)",
        ),
    ]

    class JobMoved(Message):
        """A job reached its router or failed on it (posted from the engine's threads)."""

        def __init__(self, event: JobCompleted | JobFailed) -> None:
            super().__init__()
            self.event = event

    class RouterHealth(Message):
        """A router's health changed (posted from the engine's threads)."""

        def __init__(self, event: RouterHealthChanged) -> None:
            super().__init__()
            self.event = event

    class DrainDone(Message):
        """A drain ended (posted from the engine's threads)."""

        def __init__(self, event: DrainFinished) -> None:
            super().__init__()
            self.event = event

    class PaymentApplied(Message):
        """An M-Pesa payment received here queued a router job (posted from the M-Pesa threads)."""

    class Opened(Message):
        """The opener has opened the database, and started the service if any (`starting`: the
        service is still starting)."""

        def __init__(
            self, engine: Engine, service: Scheduler | None, *, starting: bool = False
        ) -> None:
            super().__init__()
            self.engine = engine
            self.service = service
            self.starting = starting

    class MpesaStarted(Message):
        """The M-Pesa receiver and recovery started beside the engine, or could not (`error`)."""

        def __init__(self, error: BaseException | None = None) -> None:
            super().__init__()
            self.error = error

    def __init__(
        self,
        settings: Settings,
        engine: Engine | None = None,
        *,
        opener: Opener | None = None,
        service: Scheduler | None = None,
        now: Callable[[], datetime] = utcnow,
        watch_terminal: bool = True,
    ) -> None:
        super().__init__()
        if (engine is None) == (opener is None):
            raise TypeError("the console takes an engine or an opener: one of the two")
        self.settings = settings
        self._engine = engine
        self._opener = opener
        self.open_error: BaseException | None = None
        """Why the opener failed (the console closed at once; `wisp console` tells it)."""
        self.service = service
        self.now = now
        self._watch_terminal = watch_terminal
        self._standing: dict[str, Notification] = {}
        """Notices about one job or router, by subject, so a newer word about it replaces them."""
        self.mpesa: MpesaService | None = None
        """The M-Pesa callback receiver and recovery, run beside the embedded engine."""
        self._closed = False
        self._service_starting = False
        self.greeting: str | None = None
        """A word shown once the console is up (the demo's portal address)."""
        self._settled = False
        self._shown = threading.Event()
        """Set once the panes first show the database."""

    @property
    def engine(self) -> Engine:
        """The database, once the console has opened it (see `is_open`)."""
        if self._engine is None:
            raise RuntimeError("the console has not opened the database yet")
        return self._engine

    @property
    def is_open(self) -> bool:
        """Whether the database is open: until then the panes are loading and the keys that need
        the database wait."""
        return self._engine is not None

    @property
    def keymap(self) -> dict[str, str]:
        """The operator's key overrides ([console.keymap]): binding id -> keys."""
        return self.settings.console.keymap

    def on_mount(self) -> None:
        self.set_keymap(self.keymap)
        self.push_screen(MainScreen())
        if self._watch_terminal:
            self._install_watchdog()
        if self.is_open:
            self._start_beside_engine()
        if self.greeting:
            self.notify(self.greeting, timeout=30)

    def on_ready(self) -> None:
        """The first frame is on the terminal: open the database now, in a worker thread."""
        if self._opener is not None:
            self.run_worker(self._open, thread=True, group="open", exit_on_error=False)

    def _open(self) -> None:
        assert self._opener is not None
        engine, service = self._opener(self)
        self.post_message(self.Opened(engine, service))

    def database_open(self, engine: Engine, *, wait: float = SHOWN_WAIT) -> None:
        """The opener's word that the database is open and the provisioning service is to start
        (from its thread): the panes fill now, the status bar says "scheduler starting". Waits
        until the panes show their first data, at most `wait` seconds: loading the engine holds
        the interpreter for a quarter of a second, which the panes' first query need not share.
        """
        self.post_message(self.Opened(engine, None, starting=True))
        if self.is_running:
            self._shown.wait(wait)

    @on(Opened)
    def _opened(self, message: Opened) -> None:
        """Fill the panes, let the keys that need the database work, start M-Pesa beside the
        engine."""
        self._engine = message.engine
        self._service_starting = message.starting
        if message.service is not None:
            self.service = message.service
            self._start_beside_engine()
        self._refresh_panes()
        self.refresh_bindings()

    @on(Worker.StateChanged)
    def _open_failed(self, event: Worker.StateChanged) -> None:
        """The database could not be opened (none there, another schema, a wrong secret key):
        close, and let `wisp console` say why as any command does."""
        if event.worker.group == "open" and event.state == WorkerState.ERROR:
            self.open_error = event.worker.error
            self.exit(return_code=1)

    def _start_beside_engine(self) -> None:
        if self.service is not None and self.settings.mpesa.listen:
            self.run_worker(self._start_mpesa, thread=True, group="mpesa", exit_on_error=False)

    def on_unmount(self) -> None:
        """The console is closing: stop receiving M-Pesa callbacks with the engine."""
        self._closed = True
        self._stop_mpesa()
        if self._settled:
            gc.unfreeze()  # what lived as long as the console may be collected again

    def painted(self) -> None:
        """The panes show the database: what exists now (modules, screens, widgets) lives as long
        as the console, so the collector's full passes leave it out (`gc.freeze`). Those passes
        come with every 70,000 objects made, and walked all of it: a quarter of the time 10,000
        router users took to load, once it was 150,000 objects."""
        if not self._settled:
            self._settled = True
            gc.freeze()
            self._shown.set()

    # ------------------------------------------------------------------------------------ M-Pesa

    def _start_mpesa(self) -> None:
        """Receive Daraja's callbacks and recover missed ones beside the engine, as `wisp run` does
        (in a worker thread: the receiver binds its port and waits until it serves)."""
        from scheduler.mpesa.service import MpesaService

        mpesa = MpesaService(self.settings, self.engine)
        mpesa.wakes(lambda: self.post_message(self.PaymentApplied()))
        try:
            mpesa.start()
        except Exception as error:
            mpesa.stop()
            self.post_message(self.MpesaStarted(error))
            return
        if self._closed:  # the console closed while the receiver was starting
            mpesa.stop()
            return
        self.mpesa = mpesa
        self.post_message(self.MpesaStarted())

    def _stop_mpesa(self) -> None:
        mpesa, self.mpesa = self.mpesa, None
        if mpesa is not None:
            mpesa.stop()

    @on(PaymentApplied)
    def _payment_applied(self) -> None:
        """Send the paid account to its router now, and show the payment at once."""
        self.wake_scheduler()
        self._refresh_panes()

    @on(MpesaStarted)
    def _mpesa_started(self, message: MpesaStarted) -> None:
        """Say once, in one sentence, why M-Pesa callbacks are not received here."""
        if message.error is not None:
            from console.views.errors import one_sentence

            reason = one_sentence(message.error, self.engine)
            self.announce(
                "mpesa",
                f"M-Pesa callbacks are not received by this console: {reason}",
                severity="error",
                timeout=12,
            )

    # ---------------------------------------------------------------------------- the scheduler

    @property
    def scheduler_state(self) -> str:
        """running, paused, starting (the console opens it beside the panes) or off (no scheduler
        in this console)."""
        if self.service is not None:
            return self.service.state
        return "starting" if self._service_starting else "off"

    @property
    def last_drain(self) -> datetime | None:
        """When the embedded scheduler last drained the queue."""
        return self.service.last_drain if self.service is not None else None

    def toggle_scheduler(self) -> None:
        """Pause a running scheduler, resume a paused one."""
        if self.service is None:
            return
        if self.service.state == "running":
            self.service.pause()
            key = self.key_for("pause")
            self.notify(f"Scheduler paused: no job is sent to a router until you press {key}.")
        else:
            self.service.resume()
            self.notify("Scheduler resumed.")

    def key_for(self, binding_id: str) -> str:
        """The key that runs a binding now, as the footer writes it (after [console.keymap])."""
        from console.screens.keys import key_for

        return key_for(self, binding_id)

    def wake_scheduler(self) -> None:
        """Ask the embedded scheduler to drain now (after an activation or a retry)."""
        if self.service is not None and self.service.state == "running":
            self.service.wake()

    def scheduler_event(self, event: EngineEvent) -> None:
        """Callback for the engine's threads: hand the event to the UI thread as its message."""
        if isinstance(event, JobCompleted | JobFailed):
            self.post_message(self.JobMoved(event))
        elif isinstance(event, RouterHealthChanged):
            self.post_message(self.RouterHealth(event))
        else:
            self.post_message(self.DrainDone(event))

    def _refresh_panes(self) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                screen.poll()

    # ------------------------------------------------------------------------- standing notices

    def announce(
        self,
        subject: str,
        message: str,
        severity: SeverityLevel = "information",
        timeout: float = 4,
    ) -> None:
        """Notify about one subject ("job 4", "router eldoret"), replacing what was said of it."""
        self.withdraw(subject)
        notice = Notification(message, "", severity, timeout)
        self._standing[subject] = notice
        self.post_message(Notify(notice))

    def withdraw(self, subject: str) -> None:
        """Take down a notice about `subject` that is still up (it no longer holds)."""
        notice = self._standing.pop(subject, None)
        if notice is not None and notice in self._notifications:
            self._unnotify(notice)

    @on(JobMoved)
    def _job_moved(self, message: JobMoved) -> None:
        """Refresh the panes, tell a screen that follows jobs, announce a job failed for good."""
        event = message.event
        self._refresh_panes()
        if isinstance(self.screen, FollowsJobs):
            self.screen.job_changed(event.job_id)
        subject = f"job {event.job_id}"
        if isinstance(event, JobFailed) and event.final:
            self.announce(
                subject,
                f"Job {event.job_id} ({event.username} on {event.router}) failed: {event.error}",
                severity="error",
                timeout=8,
            )
        elif isinstance(event, JobCompleted):
            self.withdraw(subject)

    @on(RouterHealth)
    def _router_health(self, message: RouterHealth) -> None:
        """Refresh the panes and say when a router goes away or comes back."""
        event = message.event
        self._refresh_panes()
        subject = f"router {event.router}"
        if event.health != Health.UP:
            self.announce(
                subject,
                f"Router {event.router} is {event.health.replace('_', ' ')}: {event.error}",
                severity="warning",
                timeout=6,
            )
        elif event.previous in (Health.DOWN, Health.AUTH_FAILED):
            self.announce(subject, f"Router {event.router} is up again.")

    @on(DrainDone)
    def _drain_done(self, message: DrainDone) -> None:
        self._refresh_panes()

    # -------------------------------------------------------------------------------- global keys

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The command palette: the console's own actions first, then Textual's."""
        main = next((s for s in self.screen_stack if isinstance(s, MainScreen)), None)
        if main is not None and self.is_open:
            yield SystemCommand(
                "Activate a client", "Pay for a package and queue the account", main.action_activate
            )
            yield SystemCommand(
                "Retry all failed jobs",
                "Put every failed job back in the queue",
                main.action_retry_all,
            )
            yield SystemCommand(
                "Router users", "Browse a router's users, read-only", main.action_users
            )
            yield SystemCommand(
                "M-Pesa payments",
                "Recent payments, what became of them and of their router jobs",
                lambda: main.action_pane(4),
            )
            if self.service is not None:
                yield SystemCommand(
                    "Pause or resume the scheduler",
                    "Stop or restart sending jobs to the routers",
                    main.action_pause,
                )
        yield SystemCommand(
            "Keys", "The keys of this screen, then every other key", self.action_help
        )
        # Textual's own Keys panel would be a second "Keys": this console's help replaces it.
        for command in super().get_system_commands(screen):
            if command.title != "Keys":
                yield command

    def action_help(self) -> None:
        """Show the keys of the current screen, then every other key."""
        from console.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    # ------------------------------------------------------------------------ the terminal going away

    def _install_watchdog(self) -> None:
        """Exit cleanly when the terminal goes away (an SSH session dropped), instead of spinning."""
        if sys.platform != "win32":
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGHUP, signal.SIGTERM):
                loop.add_signal_handler(sig, self._terminal_gone)
        self.set_interval(2.0, self._check_terminal, name="terminal watchdog")

    def _check_terminal(self) -> None:
        try:
            alive = os.isatty(sys.__stdin__.fileno()) if sys.__stdin__ else False
        except (OSError, ValueError):
            alive = False
        if not alive:
            self._terminal_gone()

    def _terminal_gone(self) -> None:
        self.exit(129)


def build_app(
    settings: Settings,
    engine: Engine | None = None,
    *,
    opener: Opener | None = None,
    service: Scheduler | None = None,
    now: Callable[[], datetime] = utcnow,
    watch_terminal: bool = True,
) -> WispApp:
    """The console, as the CLI runs it (with an opener) and the tests drive it (with an engine,
    or an opener)."""
    return WispApp(
        settings,
        engine,
        opener=opener,
        service=service,
        now=now,
        watch_terminal=watch_terminal,
    )
