"""The portal is served by `wisp run`'s HTTP server, beside the M-Pesa callbacks, when
`[portal] enabled` is set; without its signing secret nothing starts and one sentence says why."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.engine import Engine

from db.config import Settings
from db.errors import UserError
from scheduler.mpesa.service import MpesaService
from scheduler.sim import SimRouter
from tests import factories
from tests.mpesa.conftest import TOKEN
from tests.portal.conftest import PORTAL_SECRET
from tests.scheduler.conftest import SIM_PASSWORD


def settings_for(engine: Engine) -> Settings:
    settings = Settings()
    settings.database.url = engine.url.render_as_string(hide_password=False)
    settings.mpesa.listen = "127.0.0.1:0"
    settings.mpesa.callback_base_url = "http://127.0.0.1"
    settings.portal.enabled = True
    settings.portal.router = "r1"
    return settings


def test_the_portal_rides_on_the_callback_server(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WISP_MPESA_CALLBACK_TOKEN", TOKEN)
    monkeypatch.setenv("WISP_PORTAL_SECRET", PORTAL_SECRET)
    with SimRouter(password=SIM_PASSWORD) as router:
        factories.setup(sqlite_engine, router_port=router.port, password=SIM_PASSWORD)
        service = MpesaService(settings_for(sqlite_engine), sqlite_engine)
        service.start()
        try:
            assert service.served is not None
            page = httpx.get(f"{service.served.url}/portal/", timeout=60)
            hook = httpx.post(f"{service.served.url}/hooks/not-the-token/stk", json={}, timeout=60)
        finally:
            service.stop()
    assert page.status_code == 200 and "Home 10M" in page.text
    assert hook.status_code == 404  # the callbacks still answer beside it


def test_without_its_secret_the_portal_stops_the_start_in_one_sentence(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WISP_MPESA_CALLBACK_TOKEN", TOKEN)
    monkeypatch.delenv("WISP_PORTAL_SECRET", raising=False)
    service = MpesaService(settings_for(sqlite_engine), sqlite_engine)
    with pytest.raises(UserError, match="WISP_PORTAL_SECRET must hold a random secret"):
        service.start()
    assert service.served is None
