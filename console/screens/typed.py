"""The console's screens know their app is a WispApp: typed once here, not ignored at each use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from textual.app import App

    from console.app import WispApp


class OnWispApp:
    """Mixed into a screen: `self.wisp` is the running WispApp, with its engine and settings."""

    if TYPE_CHECKING:
        app: App[Any]

    @property
    def wisp(self) -> WispApp:
        return cast("WispApp", self.app)
