"""A one-line chart of completions and failures over the last hour, in block characters."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

BLOCKS = "▁▁▂▃▄▅▆▇█"
"""Block per level; an empty slice is the lowest block, so the chart keeps its width."""


def bars(values: list[int]) -> str:
    """Scale `values` to block characters (any count at all is taller than an empty slice)."""
    peak = max(values, default=0)
    if peak == 0:
        return "▁" * len(values)
    steps = len(BLOCKS) - 1
    return "".join(BLOCKS[0 if v == 0 else max(2, round(v / peak * steps))] for v in values)


class ActivityChart(Static):
    """Completions (green) and failures (red) per five minutes over the last hour."""

    def show(self, completed: list[int], failed: list[int]) -> None:
        """Draw the two series side by side with their totals."""
        text = Text.assemble(
            ("1h ", "dim"),
            (bars(completed), "green"),
            (f" {sum(completed)} ", ""),
            (bars(failed), "red"),
            (f" {sum(failed)}", ""),
        )
        self.update(text)
