"""M-Pesa beside the provisioning engine in `wisp run`: the callback receiver on its own thread
(its intake storing and applying payments), and a recovery round on a timer. Both wake the
provisioning engine of the process once a payment queued a router job (`wakes`)."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

from sqlalchemy.engine import Engine

from db.config import Settings
from db.mpesa import mpesa_secrets
from db.types import utcnow
from scheduler.mpesa.daraja import DarajaClient
from scheduler.mpesa.intake import Intake, woken
from scheduler.mpesa.receiver import build_app, callback_paths
from scheduler.mpesa.recovery import MpesaUnavailable, daraja_client, recover
from scheduler.mpesa.serving import Served, serve_in_thread

logger = logging.getLogger("wisp.mpesa")
said = logging.getLogger("wisp.run")
"""The runner's own lines (shown at its level): the receiver's address, recovery's findings."""
MIN_TOKEN = 16


class MpesaService:
    """The receiver (when `[mpesa] listen` is set) and the recovery timer."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.served: Served | None = None
        self.client: DarajaClient | None = None
        self.intake = Intake(engine, settings)
        self._wake: Callable[[], object] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wakes(self, wake: Callable[[], object] | None) -> None:
        """Call `wake` (the provisioning engine's `wake`) once a payment queued a router job, so
        the account is written at once instead of at the next drain."""
        self._wake = wake
        self.intake.wakes(wake)
        if wake is not None:
            woken(wake, [])  # for what was applied before the engine was there to wake

    def _woken(self) -> None:
        """Wake the engine, if one is there to wake (a portal payment queued a router job)."""
        if self._wake is not None:
            self._wake()

    def start(self) -> None:
        mpesa = self.settings.mpesa
        if not said.level:
            said.setLevel(logging.INFO)  # as the runner sets it, which starts after this
        secrets = mpesa_secrets()
        if len(secrets.callback_token) < MIN_TOKEN:
            raise MpesaUnavailable(
                f"[mpesa] listen is set, so WISP_MPESA_CALLBACK_TOKEN must hold a random secret "
                f"of at least {MIN_TOKEN} characters (in the environment or .env)."
            )
        host, _, port = mpesa.listen.rpartition(":")
        app = build_app(self.settings, self.intake, secrets.callback_token)
        if self.settings.portal.enabled:
            from scheduler.portal.app import build_portal

            # Checked before anything starts: a missing WISP_PORTAL_SECRET is one sentence.
            app.mount("/portal", build_portal(self.engine, self.settings, wake=self._woken))
        self.intake.start()
        self.served = serve_in_thread(app, host.strip("[]"), int(port))
        said.info(
            "M-Pesa callbacks received on %s:%s%s",
            host,
            self.served.port,
            callback_paths("<token>")["stk"].removesuffix("/stk"),
        )
        if self.settings.portal.enabled:
            said.info(
                "captive portal served on http://%s:%s/portal/ (phones reach it at %s)",
                host,
                self.served.port,
                self.settings.portal.public_url or "the [portal] public_url, not set",
            )
        try:
            self.client = daraja_client(self.settings, secrets)
        except MpesaUnavailable as missing:
            said.warning("M-Pesa recovery is off: %s", missing)
        self._thread = threading.Thread(target=self._recover, name="mpesa-recovery", daemon=True)
        self._thread.start()

    def _recover(self) -> None:
        mpesa = self.settings.mpesa
        last_pull = 0.0
        while not self._stop.wait(mpesa.recovery_interval):
            since = None
            if mpesa.pull_interval and time.monotonic() - last_pull >= mpesa.pull_interval:
                since = utcnow() - timedelta(seconds=mpesa.pull_window)
                last_pull = time.monotonic()
            try:
                report = recover(self.engine, self.settings, self.client, pull_since=since)
            except Exception:
                logger.exception("M-Pesa recovery round failed")
                continue
            if report.applied or report.answered or report.errors:
                said.info("M-Pesa recovery: %s", report.summary())
            if self._wake is not None and any(a.job_id for a in report.applied):
                woken(self._wake, report.applied)

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=30)
        if self.served:
            self.served.stop()
        self.intake.stop()
        if self.client:
            self.client.close()


@contextlib.contextmanager
def mpesa_running(settings: Settings, engine: Engine) -> Iterator[MpesaService | None]:
    """The M-Pesa service while inside, when `[mpesa] listen` is set; else nothing."""
    if not settings.mpesa.listen:
        yield None
        return
    service = MpesaService(settings, engine)
    service.start()
    try:
        yield service
    finally:
        service.stop()
