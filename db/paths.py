"""Where a SQLite database file is: relative paths in a config file are relative to its folder.

`wisp --config /srv/wisp/config.toml ...` run from any folder finds /srv/wisp/wisp.db for
`url = "sqlite:///wisp.db"`, as systemd's WorkingDirectory would. A URL from the real environment
(WISP_DATABASE_URL) is relative to the working folder, as any path typed in a shell is.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for another backend, an in-memory database or a bad URL."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    if str(parsed.database).startswith("file:"):
        return None  # a URI filename: taken as it is
    return Path(str(parsed.database)).expanduser()


def relative_to(url: str, folder: Path) -> str:
    """The URL with a relative SQLite path made absolute from `folder`; others unchanged."""
    path = sqlite_file(url)
    if path is None or path.is_absolute():
        return url
    parsed = make_url(url)
    return parsed.set(database=str((folder / path).resolve())).render_as_string(hide_password=False)
