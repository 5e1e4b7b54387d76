"""The footer of every screen: Textual's, rebuilt only when the keys it shows change.

Textual's footer removes and mounts all its keys whenever the screen's bindings may have changed:
a focus move, a highlighted row, every refresh tick of the main screen. Mounting a key styles it
(the costliest part of opening the router users screen, and of a tick), so this footer first
compares what it would show with what it shows.
"""

from __future__ import annotations

from collections.abc import Hashable

from textual.screen import Screen
from textual.widgets import Footer


class KeysFooter(Footer):
    """A footer that recomposes only when a shown key, its label, state or tooltip changes."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._shown: Hashable = None

    def bindings_changed(self, screen: Screen[object]) -> None:
        shown = _shown_keys(screen)
        if self._bindings_ready and shown == self._shown:
            return
        super().bindings_changed(screen)
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self._shown = shown  # recomposed (after the next refresh) with these keys


def _shown_keys(screen: Screen[object]) -> Hashable:
    """What the footer shows of the screen's bindings (the palette's key is shown hidden or not)."""
    palette = screen.app.COMMAND_PALETTE_BINDING
    return tuple(
        (key, binding, enabled, tooltip)
        for key, (_, binding, enabled, tooltip) in screen.active_bindings.items()
        if binding.show or key == palette
    )
