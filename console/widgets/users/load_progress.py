"""The router users screen's progress line: rows so far while loading, then the total or why not."""

from __future__ import annotations

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import ProgressBar, Static


class LoadProgress(Horizontal):
    """'loading hotspot users from r1… 3,500' with an indeterminate bar, then the outcome."""

    def compose(self) -> ComposeResult:
        yield Static(id="users-progress-text")
        yield ProgressBar(total=None, show_eta=False, show_percentage=False, id="users-bar")

    def show_loading(self, router: str, title: str, count: int) -> None:
        """Rows are arriving."""
        self.query_one("#users-bar").display = True
        text = self.query_one("#users-progress-text", Static)
        line = f"loading {title.lower()} from {router}… {count:,}"
        # a line as wide as the last moves nothing: no layout of the whole screen per batch
        text.update(line, layout=cell_len(line) != cell_len(str(text.content)))

    def loaded(self, router: str, title: str, count: int, shown: int) -> None:
        """The listing is complete."""
        self.query_one("#users-bar").display = False
        of = f" ({shown:,} match the filter)" if shown != count else ""
        self.query_one("#users-progress-text", Static).update(
            f"{router}: {count:,} {title.lower()}{of}"
        )

    def refused(self, router: str) -> None:
        """The router could not be read (the reason is shown beside)."""
        self.query_one("#users-bar").display = False
        self.query_one("#users-progress-text", Static).update(f"{router} could not be read")
