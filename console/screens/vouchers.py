"""Vouchers: batches with their vouchers by state and the value sold; generate, print, revoke.

The list refreshes with the console; the selected batch's bar shows how many of its vouchers
reached the router while the queue delivers it. Reads and writes run in thread workers, and the
widgets are only touched on the main thread.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Input, Label, ProgressBar, Select, Static

from console.screens.confirm import ConfirmScreen
from console.screens.keys import HELP_IN_DIALOG
from console.screens.typed import OnWispApp
from console.views.errors import one_sentence
from console.widgets.footer import KeysFooter
from db.models import Package, ServiceType

PROGRESS_EVERY = 25
"""Cards drawn between two progress updates while a batch prints."""
COLUMNS = (
    ("batch", "Batch"),
    ("package", "Package"),
    ("count", "Count"),
    ("on_router", "On router"),
    ("unused", "Unused"),
    ("in_use", "In use"),
    ("expired", "Expired"),
    ("revoked", "Revoked"),
    ("sold_value", "Sold"),
    ("note", "Note"),
)


def money(value: Decimal) -> str:
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"


class VouchersScreen(OnWispApp, Screen[None]):
    """Voucher batches: counts by state, delivery, value; keys to generate, print and revoke."""

    DEFAULT_CSS = """
    VouchersScreen #vouchers-status { height: auto; padding: 0 1; }
    VouchersScreen #vouchers-progress { padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="vouchers_back"),
        Binding("g", "generate", "Generate", id="vouchers_generate"),
        Binding("p", "print", "Print", id="vouchers_print"),
        Binding("x", "revoke", "Revoke unused", id="vouchers_revoke"),
    ]

    def __init__(self) -> None:
        super().__init__(id="vouchers")
        self.rows: list[dict[str, Any]] = []
        self.printing = False
        """A batch is being drawn: the status line and the bar show that, not delivery."""

    def compose(self) -> ComposeResult:
        yield Static("Reading batches…", id="vouchers-status")
        yield ProgressBar(id="vouchers-progress", show_eta=False)
        yield DataTable(id="vouchers-batches", cursor_type="row", zebra_stripes=True)
        yield KeysFooter(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        self.reload()
        self.set_interval(max(self.wisp.settings.console.refresh_interval, 1.0), self.reload)

    def action_back(self) -> None:
        self.app.pop_screen()

    # -- reading -------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="vouchers-read", exit_on_error=False)
    def reload(self) -> None:
        from db import vouchers

        try:
            rows = vouchers.batches(self.wisp.engine)
        except Exception as error:
            text = f"Could not read the batches: {one_sentence(error, self.wisp.engine)}"
            self.app.call_from_thread(self._status, text)
            return
        self.app.call_from_thread(self._show, rows)

    def _show(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        table = self.query_one(DataTable)
        keep = table.cursor_row
        table.clear()
        for row in rows:
            cells = {**row, "sold_value": money(row["sold_value"]), "note": row["note"] or ""}
            table.add_row(*(str(cells[key]) for key, _ in COLUMNS), key=row["batch"])
        if rows:
            table.move_cursor(row=min(keep, len(rows) - 1))
        self._summarise()

    def _summarise(self) -> None:
        if self.printing:
            return
        rows = self.rows
        if not rows:
            self._status("No voucher batch yet: press g to generate one.")
            self.query_one(ProgressBar).update(total=1, progress=0)
            return
        sold = sum((row["sold_value"] for row in rows), Decimal("0"))
        total = sum(row["count"] for row in rows)
        unused = sum(row["unused"] for row in rows)
        selected = self.selected
        line = (
            f"{len(rows)} batch(es), {total:,} voucher(s), {unused:,} unused; sold {money(sold)}."
        )
        if selected is not None:
            line += (
                f" {selected['batch']}: {selected['on_router']:,} of {selected['count']:,} on "
                f"router {selected['router']}."
            )
            self.query_one(ProgressBar).update(
                total=selected["count"], progress=selected["on_router"]
            )
        self._status(line)

    @property
    def selected(self) -> dict[str, Any] | None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row is None or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    @on(DataTable.RowHighlighted)
    def _moved(self) -> None:
        self._summarise()

    def _status(self, text: str) -> None:
        self.query_one("#vouchers-status", Static).update(text)

    # -- generate ------------------------------------------------------------------------------

    def action_generate(self) -> None:
        with Session(self.wisp.engine) as session:
            packages = [
                (p.name, p.price)
                for p in session.scalars(
                    select(Package)
                    .where(
                        col(Package.type) == ServiceType.HOTSPOT,
                        col(Package.router_id).is_not(None),
                    )
                    .order_by(col(Package.name))
                )
            ]
        if not packages:
            self.notify("Vouchers need a hotspot package with a router; add one first.")
            return
        self.app.push_screen(GenerateScreen(packages), self._generate)

    def _generate(self, order: tuple[str, int, str, str | None] | None) -> None:
        if order is not None:
            self._make(*order)

    @work(thread=True, exclusive=True, group="vouchers-write", exit_on_error=False)
    def _make(self, package: str, count: int, prefix: str, note: str | None) -> None:
        from console.cli.vouchers import operator_name
        from db import vouchers

        try:
            made = vouchers.generate(
                self.wisp.engine,
                package=package,
                count=count,
                created_by=operator_name(),
                prefix=prefix,
                note=note,
            )
        except Exception as error:
            text = f"No batch was made: {one_sentence(error, self.wisp.engine)}"
            self.app.call_from_thread(self.notify, text, severity="error")
            return
        self.app.call_from_thread(self.wisp.wake_scheduler)
        first = ", ".join(made.codes[:3])
        text = (
            f"Batch {made.name}: {made.count:,} voucher(s) of {made.package}, "
            f"{money(made.price * made.count)} in all; first codes {first}. The queue delivers "
            "them behind customers' accounts."
        )
        self.app.call_from_thread(self.notify, text, timeout=10)
        self.reload()

    # -- print and revoke ----------------------------------------------------------------------

    def action_print(self) -> None:
        selected = self.selected
        if selected is None:
            self.notify("No batch to print.")
            return
        self._print(selected["batch"])

    @work(thread=True, exclusive=True, group="vouchers-print", exit_on_error=False)
    def _print(self, batch: str) -> None:
        from console.printing.batch import batch_cards, render

        settings = self.wisp.settings

        def drawn(done: int) -> None:
            if done % PROGRESS_EVERY == 0 or done == len(cards):
                self.app.call_from_thread(self._printing, batch, done, len(cards))

        self.printing = True
        try:
            name, cards, dns = batch_cards(self.wisp.engine, settings, batch)
            path = Path(f"{name}.pdf").resolve()
            data = render(cards, "pdf", "a4-36", settings.vouchers.operator, progress=drawn)
            path.write_bytes(data)
        except Exception as error:
            text = f"Nothing was printed: {one_sentence(error, self.wisp.engine)}"
            self.app.call_from_thread(self.notify, text, severity="error")
            return
        finally:
            self.printing = False
            self.app.call_from_thread(self._summarise)
        text = f"Wrote {path}: {len(cards):,} card(s), logging in at http://{dns}/login."
        self.app.call_from_thread(self.notify, text, timeout=10)

    def _printing(self, batch: str, done: int, total: int) -> None:
        self._status(f"Printing {batch}: {done:,} of {total:,} card(s)…")
        self.query_one(ProgressBar).update(total=total, progress=done)

    def action_revoke(self) -> None:
        selected = self.selected
        if selected is None or not selected["unused"]:
            self.notify("The selected batch has no unused voucher to revoke.")
            return
        batch, unused = selected["batch"], selected["unused"]
        question = (
            f"Revoke the {unused:,} unused voucher(s) of {batch}? They are removed from router "
            f"{selected['router']}; vouchers in use are left alone."
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self._revoke(batch)

        self.app.push_screen(ConfirmScreen(question), answered)

    @work(thread=True, exclusive=True, group="vouchers-write", exit_on_error=False)
    def _revoke(self, batch: str) -> None:
        from db import vouchers

        try:
            done = vouchers.revoke(self.wisp.engine, batch=batch)
        except Exception as error:
            text = f"Nothing was revoked: {one_sentence(error, self.wisp.engine)}"
            self.app.call_from_thread(self.notify, text, severity="error")
            return
        self.app.call_from_thread(self.wisp.wake_scheduler)
        text = f"Revoked {len(done.revoked):,} voucher(s) of {batch}; the queue removes them."
        self.app.call_from_thread(self.notify, text)
        self.reload()


class GenerateScreen(ModalScreen[tuple[str, int, str, str | None] | None]):
    """Package, count, prefix and note of a new batch, with its total and the codes' shape."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="generate_cancel"),
        HELP_IN_DIALOG,
    ]

    def __init__(self, packages: list[tuple[str, Decimal]]) -> None:
        super().__init__()
        self.prices = dict(packages)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Generate vouchers", classes="dialog-title")
            yield Select(
                [(f"{name} ({money(price)})", name) for name, price in self.prices.items()],
                value=next(iter(self.prices)),
                allow_blank=False,
                id="generate-package",
            )
            yield Input("100", placeholder="how many", id="generate-count", type="integer")
            yield Input(placeholder="prefix (optional, e.g. KB)", id="generate-prefix")
            yield Input(placeholder="note (optional: shop, agent)", id="generate-note")
            yield Label("", id="generate-preview")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Generate", id="generate", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#generate-count", Input).focus()
        self._preview()

    @on(Input.Changed)
    @on(Select.Changed)
    def _preview(self) -> None:
        from db.voucher_codes import new_code

        label = self.query_one("#generate-preview", Label)
        try:
            package, count, prefix, _ = self._order()
            sample = ", ".join(new_code(6, prefix) for _ in range(2))
        except ValueError as error:
            label.update(str(error))
            return
        total = self.prices[package] * count
        label.update(
            f"{count:,} × {money(self.prices[package])} = {money(total)}; codes like {sample}"
        )

    def _order(self) -> tuple[str, int, str, str | None]:
        from db.voucher_codes import check_prefix
        from db.vouchers import MAX_BATCH

        package = str(self.query_one("#generate-package", Select).value)
        text = self.query_one("#generate-count", Input).value.strip()
        count = int(text) if text.isdigit() else 0
        if not 1 <= count <= MAX_BATCH:
            raise ValueError(f"The count must be from 1 to {MAX_BATCH:,}.")
        prefix = check_prefix(self.query_one("#generate-prefix", Input).value.strip().upper())
        note = self.query_one("#generate-note", Input).value.strip() or None
        return package, count, prefix, note

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    @on(Button.Pressed, "#generate")
    def _submit(self) -> None:
        try:
            order = self._order()
        except ValueError as error:
            self.notify(str(error), severity="error")
            return
        self.dismiss(order)

    @on(Button.Pressed, "#cancel")
    def _cancelled(self) -> None:
        self.dismiss(None)
