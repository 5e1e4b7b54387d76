"""The portal as one Starlette app, self-contained so that it can be mounted (at /portal) in the
HTTP server of `wisp run` beside the M-Pesa receiver, or served on its own."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from db.config import Settings
from db.mpesa import mpesa_secrets
from scheduler.mpesa.daraja import DarajaClient
from scheduler.mpesa.recovery import daraja_client
from scheduler.portal import views
from scheduler.portal.csrf import CsrfGuard
from scheduler.portal.limits import StkLimits
from scheduler.portal.signing import Signer, portal_secret
from scheduler.portal.site import Portal

TEMPLATES = Path(__file__).with_name("templates")


def default_daraja(settings: Settings) -> Callable[[], DarajaClient]:
    """Daraja as configured, with the credentials from the environment."""
    return lambda: daraja_client(settings, mpesa_secrets())


def build_portal(
    engine: Engine,
    settings: Settings,
    *,
    daraja_factory: Callable[[], DarajaClient] | None = None,
    secret: bytes | None = None,
    wake: Callable[[], object] | None = None,
) -> Starlette:
    """The portal's app: `secret` signs its pages (default: WISP_PORTAL_SECRET, checked now);
    `wake` (the provisioning engine's) is called when a look at a payment applied it."""
    signer = Signer(secret or portal_secret())
    portal = settings.portal
    site = Portal(
        engine=engine,
        settings=settings,
        signer=signer,
        csrf=CsrfGuard(signer),
        limits=StkLimits(
            engine, portal.stk_per_phone, portal.stk_per_mac, portal.rate_window, portal.wrong_codes
        ),
        templates=Jinja2Templates(directory=str(TEMPLATES)),
        daraja_factory=daraja_factory or default_daraja(settings),
        watches={},
        lock=threading.Lock(),
        wake=wake,
    )
    app = Starlette(
        routes=[
            Route("/", views.packages, methods=["GET"]),
            Route("/pay", views.pay_form, methods=["GET"]),
            Route("/pay", views.pay, methods=["POST"]),
            Route("/payment/{token}", views.payment, methods=["GET"]),
            Route("/voucher", views.voucher, methods=["POST"]),
            Route("/receipt", views.receipt, methods=["POST"]),
        ]
    )
    app.state.portal = site
    return app
