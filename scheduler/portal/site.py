"""What every page of the portal shares: the database, settings, signing, limits, Daraja and the
payments being followed."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from db import portal
from db.config import Settings
from db.errors import UserError
from db.models import MpesaTransaction
from scheduler.mpesa.daraja import DarajaClient
from scheduler.mpesa.push import PushWatch
from scheduler.portal.csrf import CsrfGuard
from scheduler.portal.limits import StkLimits
from scheduler.portal.signing import Signer

logger = logging.getLogger("wisp.portal")


@dataclass
class Portal:
    """What every page needs: the database, settings, signing, limits and Daraja."""

    engine: Engine
    settings: Settings
    signer: Signer
    csrf: CsrfGuard
    limits: StkLimits
    templates: Jinja2Templates
    daraja_factory: Callable[[], DarajaClient]
    watches: dict[int, PushWatch]
    lock: threading.Lock
    wake: Callable[[], object] | None = None
    """The provisioning engine's wake, called once a look at a payment applied it."""
    _daraja: DarajaClient | None = None

    def daraja(self) -> DarajaClient:
        with self.lock:
            if self._daraja is None:
                self._daraja = self.daraja_factory()
            return self._daraja

    def watch(self, row: MpesaTransaction) -> PushWatch:
        """The push's watcher, kept so a refreshing page asks Daraja at most every few seconds."""
        row_id = int(row.id or 0)
        with self.lock:
            found = self.watches.get(row_id)
            if found is None:
                found = PushWatch(self.engine, self.settings, None, row_id, clock=time.time)
                found.started = row.created_at.timestamp()
                if len(self.watches) > 10_000:
                    self.watches.clear()
                self.watches[row_id] = found
        if found.daraja is None:
            try:
                found.daraja = self.daraja()
            except UserError as missing:  # no query then: the callback still settles it
                logger.warning("portal: M-Pesa payments cannot be asked after: %s", missing)
        return found

    def allowed_hosts(self, router: str) -> set[str]:
        hosts = portal.router_hosts(self.engine, router) | set(self.settings.portal.extra_hosts())
        if self.settings.vouchers.hotspot_dns:
            hosts.add(self.settings.vouchers.hotspot_dns.lower())
        return hosts


def portal_of(request: Request) -> Portal:
    site: Portal = request.app.state.portal
    return site
