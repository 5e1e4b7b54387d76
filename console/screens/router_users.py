"""Router users: what a router holds (hotspot users, PPPoE secrets, active sessions), read-only.

Rows stream in a thread worker and appear batch by batch, so the UI never freezes: the worker makes
each row's cells and filter text, and the UI thread adds a whole batch at once. A filter looks
through that text and rebuilds the table once. A router that cannot be reached shows the
classified reason in one sentence, not a stack trace.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input, Select, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState, get_current_worker

from console.screens.typed import OnWispApp
from console.views.errors import one_sentence
from console.views.router_users import (
    LISTINGS,
    found,
    haystack,
    open_router,
    router_names,
    stream_rows,
    voucher_uptimes,
)
from console.widgets.footer import KeysFooter
from console.widgets.users.load_progress import LoadProgress
from console.widgets.window_table import ReadyRow, WindowTable, ready
from scheduler.engine.vouchers import start_seen
from scheduler.routeros.client import RouterError

STATUS_COLUMN = {kind: None if kind == "active" else 2 for kind in LISTINGS}
"""The cell coloured by a row's status (Disabled), per listing."""


def _filtered(rows: list[ReadyRow], text: str) -> list[ReadyRow]:
    words = text.lower().split()
    if not words:
        return rows
    return [row for row in rows if found(row.haystack, words)]


class RouterUsersScreen(OnWispApp, Screen[None]):
    """Pick a router; browse its users by tab; filter as you type."""

    BINDINGS = [
        Binding(
            "escape", "back", "Back", id="users_back", tooltip="Clear the filter, else go back"
        ),
        Binding("f5,ctrl+r", "reload", "Refresh", id="users_refresh"),
        Binding("slash", "filter", "Filter", id="users_filter", key_display="/"),
        Binding("1", "tab('hotspot')", "Hotspot", show=False, id="users_tab_hotspot"),
        Binding("2", "tab('pppoe')", "PPPoE", show=False, id="users_tab_pppoe"),
        Binding("3", "tab('active')", "Active", show=False, id="users_tab_active"),
        Binding("o", "pick_router", "Router", id="users_router"),
        Binding("d", "reconcile", "Drift", id="users_reconcile"),
    ]

    class UsersFetched(Message):
        """A batch of rows arrived from the router."""

        def __init__(self, load: int, kind: str, rows: list[ReadyRow]) -> None:
            super().__init__()
            self.load, self.kind, self.rows = load, kind, rows

    class UsersLoaded(Message):
        """The router sent its whole listing."""

        def __init__(self, load: int, kind: str) -> None:
            super().__init__()
            self.load, self.kind = load, kind

    class RouterRefused(Message):
        """The router could not be read; `reason` is the classified sentence."""

        def __init__(self, load: int, kind: str, reason: str) -> None:
            super().__init__()
            self.load, self.kind, self.reason = load, kind, reason

    def __init__(self, router: str | None = None) -> None:
        super().__init__(id="router-users")
        self.router = router
        self.rows: dict[str, list[ReadyRow]] = {}
        self._loads = 0
        self._current_load: dict[str, int] = {}
        self._fresh: dict[str, list[ReadyRow]] = {}

    def compose(self) -> ComposeResult:
        with Horizontal(id="users-top"):
            yield Select[str]([], prompt="router", id="users-router", allow_blank=True)
            yield Input(placeholder="filter as you type", id="users-filter")
        yield LoadProgress(id="users-progress")
        yield Static(id="users-reason")
        with TabbedContent(id="users-tabs"):
            for listing in LISTINGS.values():
                with TabPane(listing.title, id=f"tab-{listing.kind}"):
                    yield WindowTable(
                        listing.columns, STATUS_COLUMN[listing.kind], id=f"users-{listing.kind}"
                    )
        yield KeysFooter(compact=True)

    class RoutersListed(Message):
        """The routers to choose from, read from the database."""

        def __init__(self, names: list[str]) -> None:
            super().__init__()
            self.names = names

    def on_mount(self) -> None:
        self._list_routers()

    @work(thread=True, group="router-names", exit_on_error=False)
    def _list_routers(self) -> None:
        self.post_message(self.RoutersListed(router_names(self.wisp.engine)))

    @on(RoutersListed)
    def _routers_listed(self, message: RoutersListed) -> None:
        names = message.names
        picker = self.query_one("#users-router", Select)
        picker.set_options((name, name) for name in names)
        if names:
            picker.value = self.router if self.router in names else names[0]
        else:
            self.query_one("#users-reason", Static).update(
                "No routers yet: add one with `wisp router add`."
            )

    @property
    def kind(self) -> str:
        """The listing of the active tab."""
        active = self.query_one(TabbedContent).active or "tab-hotspot"
        return active.removeprefix("tab-")

    def table(self, kind: str) -> WindowTable:
        return self.query_one(f"#users-{kind}", WindowTable)

    # ------------------------------------------------------------------------- choosing

    @on(Select.Changed, "#users-router")
    def _router_picked(self, event: Select.Changed) -> None:
        if event.value == Select.NULL:  # the prompt line: no router chosen
            return
        self.router = str(event.value)
        self.rows.clear()
        for kind in LISTINGS:
            self.table(kind).reset()
        self._load(self.kind)
        self.table(self.kind).focus()

    @on(TabbedContent.TabActivated)
    def _tab_picked(self) -> None:
        if self.router and self.kind not in self.rows:
            self._load(self.kind)
        else:
            self._apply_filter(self.kind)

    def action_tab(self, kind: str) -> None:
        """Show the hotspot users, PPPoE secrets or active sessions tab."""
        self.query_one(TabbedContent).active = f"tab-{kind}"
        self.table(kind).focus()

    def action_pick_router(self) -> None:
        """Open the router list."""
        picker = self.query_one("#users-router", Select)
        picker.focus()
        picker.expanded = True

    def action_reconcile(self) -> None:
        """Compare this router with the database (drift), with fixes behind a confirmation."""
        if self.router:
            from console.screens.reconcile import ReconcileScreen  # loads drift only when asked

            app = self.wisp
            app.push_screen(ReconcileScreen(app.engine, app.settings, str(self.router)))

    def action_reload(self) -> None:
        """Read the current tab again from the router."""
        if self.router:
            self._load(self.kind)

    def action_filter(self) -> None:
        """Type to filter the rows."""
        self.query_one("#users-filter", Input).focus()

    def action_back(self) -> None:
        """Clear the filter (and go back to the rows); with no filter, back to the main screen."""
        field = self.query_one("#users-filter", Input)
        if field.value or field.has_focus:
            field.value = ""
            self.table(self.kind).focus()
        else:
            self.app.pop_screen()

    # -------------------------------------------------------------------------- loading

    def _load(self, kind: str) -> None:
        self._loads += 1
        self._current_load[kind] = self._loads
        self._fresh[kind] = []
        self.rows.setdefault(kind, [])
        self.query_one("#users-reason", Static).update("")
        self.query_one(LoadProgress).show_loading(str(self.router), LISTINGS[kind].title, 0)
        self._stream(self._loads, str(self.router), kind)

    @work(thread=True, exclusive=True, group="router-users", exit_on_error=False)
    def _stream(self, load: int, router: str, kind: str) -> None:
        worker = get_current_worker()
        app = self.wisp
        seen: list[tuple[str, str]] = []
        status = STATUS_COLUMN[kind]
        try:
            with open_router(app.engine, router, app.settings.routers) as client:
                for batch in stream_rows(client, LISTINGS[kind]):
                    if worker.is_cancelled:
                        return
                    seen += voucher_uptimes(kind, batch)
                    made = [ready(row, status, haystack(row)) for row in batch]
                    self.post_message(self.UsersFetched(load, kind, made))
        except RouterError as error:
            self.post_message(self.RouterRefused(load, kind, str(error)))
            return
        self.post_message(self.UsersLoaded(load, kind))
        started = start_seen(app.engine, router, seen, online=kind == "active")
        if started:
            text = (
                f"{len(started)} voucher(s) seen in use for the first time on {router}: "
                f"{', '.join(started[:5])}{' …' if len(started) > 5 else ''}; their clocks run."
            )
            self.app.call_from_thread(self.notify, text)

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """The database (not the router) failed: say so in one sentence."""
        if event.state != WorkerState.ERROR:
            return
        if event.worker.group == "router-users":
            for kind in self._fresh:
                self.rows.pop(kind, None)  # read again when its tab is shown again
            self._fresh.clear()
            self.query_one(LoadProgress).refused(str(self.router))
        reason = one_sentence(event.worker.error, self.wisp.engine)
        self.query_one("#users-reason", Static).update(reason)

    def _is_current(self, load: int, kind: str) -> bool:
        return self._current_load.get(kind) == load

    @on(UsersFetched)
    def _fetched(self, message: UsersFetched) -> None:
        if not self._is_current(message.load, message.kind):
            return
        fresh = self._fresh[message.kind]
        fresh.extend(message.rows)
        if not self.rows[message.kind]:  # a first load shows the rows as they come
            text = self.query_one("#users-filter", Input).value
            self.table(message.kind).append(_filtered(message.rows, text))
        self.query_one(LoadProgress).show_loading(
            str(self.router), LISTINGS[message.kind].title, len(fresh)
        )

    @on(UsersLoaded)
    def _loaded(self, message: UsersLoaded) -> None:
        if not self._is_current(message.load, message.kind):
            return
        first = not self.rows[message.kind]
        self.rows[message.kind] = self._fresh.pop(message.kind, [])
        # a first load's table already holds every row that passes the filter
        self._apply_filter(message.kind, rebuild=not first)

    @on(RouterRefused)
    def _refused(self, message: RouterRefused) -> None:
        if not self._is_current(message.load, message.kind):
            return
        self.rows.pop(message.kind, None)
        self.query_one(LoadProgress).refused(str(self.router))
        self.query_one("#users-reason", Static).update(message.reason)

    # --------------------------------------------------------------------------- filter

    @on(Input.Changed, "#users-filter")
    def _typed(self) -> None:
        self._apply_filter(self.kind)

    @on(Input.Submitted, "#users-filter")
    def _kept(self) -> None:
        self.table(self.kind).focus()

    def _source(self, kind: str) -> list[ReadyRow] | None:
        """The rows to filter: the complete listing, or what has arrived of a first load."""
        loading = kind in self._fresh
        if loading and not self.rows.get(kind):
            return self._fresh[kind]
        return self.rows.get(kind)

    def _apply_filter(self, kind: str, rebuild: bool = True) -> None:
        rows = self._source(kind)
        if rows is None:
            return
        table = self.table(kind)
        if rebuild:
            matched = _filtered(rows, self.query_one("#users-filter", Input).value)
            table.replace(matched)
            shown = len(matched)
        else:
            shown = table.row_count
        if kind not in self._fresh:
            self.query_one(LoadProgress).loaded(
                str(self.router), LISTINGS[kind].title, len(rows), shown
            )
