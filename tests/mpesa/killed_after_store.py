"""`python -m tests.mpesa.killed_after_store ARGS`: `wisp ARGS`, except that the M-Pesa intake is
killed (SIGKILL) right after it commits its first group of callbacks: stored, neither answered
nor applied. The crash lands there every time, not when a timer happens to fire."""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

import scheduler.mpesa.intake as intake
from console.cli.main import main

store_many = intake.store_many


def store_then_die(*args: Any, **kwargs: Any) -> Any:
    store_many(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("SIGKILL did not end the process")


intake.store_many = store_then_die  # type: ignore[assignment]

if __name__ == "__main__":
    sys.exit(main())
