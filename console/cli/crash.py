"""The last resort: an error nobody foresaw becomes one sentence, its traceback goes to a file.

The traceback is written with every known secret masked and no SQL parameters (the engine hides
them), to `wisp-errors.log` beside the config file, or in the working folder when that cannot be
written. The operator sees where it went and can send it on; the terminal never shows it.
"""

from __future__ import annotations

import os
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path

LOG_NAME = "wisp-errors.log"


def report(exc: BaseException, config: str | None) -> None:
    """Print one line naming the error and the file holding its traceback."""
    from db.secrets import mask

    written = _write(exc, _folders(config))
    first = mask(str(exc).strip().splitlines()[0]) if str(exc).strip() else ""
    what = f"{type(exc).__name__}: {first[:200]}" if first else type(exc).__name__
    where = f"the details are in {written}" if written else "no log file could be written"
    print(f"wisp: an unexpected error stopped the command ({what}); {where}.", file=sys.stderr)


def _folders(config: str | None) -> list[Path]:
    named = config or os.environ.get("WISP_CONFIG")
    folders = [Path(named).expanduser().absolute().parent] if named else []
    return [*folders, Path.cwd()]


def _write(exc: BaseException, folders: list[Path]) -> Path | None:
    from db.secrets import mask

    text = mask("".join(traceback.format_exception(exc)))
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    for folder in folders:
        path = folder / LOG_NAME
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a") as fh:
                fh.write(f"--- {stamp} wisp {' '.join(mask(a) for a in sys.argv[1:])}\n{text}")
            return path
        except OSError:
            continue
    return None
