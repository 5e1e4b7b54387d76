"""A one-line text with shorter versions: it shows the longest one that fits its width."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class FittedText(Static):
    """One line, said in as many words as the terminal's width allows.

    `content` stays the fullest version (what the line means); only the drawing picks a shorter one
    when the widget is narrower than it.
    """

    def __init__(self, *versions: Text, **kwargs: object) -> None:
        super().__init__(versions[0] if versions else "", **kwargs)  # type: ignore[arg-type]
        self.versions: tuple[Text, ...] = versions

    def show(self, *versions: Text) -> None:
        """Set the versions, fullest first; redrawn only when they changed."""
        if versions != self.versions:
            self.versions = versions
            self.update(versions[0] if versions else "")

    def render(self) -> Text:
        """The first version that fits the width (the last one, cut, when none does)."""
        width = self.size.width
        for version in self.versions:
            if version.cell_len <= width:
                return version
        shortest = self.versions[-1].copy() if self.versions else Text()
        shortest.truncate(max(width, 0), overflow="ellipsis")
        return shortest
