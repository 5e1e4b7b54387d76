"""Captive portal page weight: prints the bytes of each page a customer's phone loads, asserts
nothing.

    .venv/bin/python bench/bench_portal.py

Every page is one HTML document with its CSS inline and no image, font or script file, so its
size is what the phone downloads (before any compression). Pages reached over HTTP from the
portal app on SQLite: packages (six packages), the phone form, a refusal; the payment page in
each state and the login page are rendered from the same templates with a stand-in payment.
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402

os.environ.setdefault("WISP_SECRET_KEY", Fernet.generate_key().decode())
os.environ.setdefault("WISP_PORTAL_SECRET", "bench-portal-secret-0123456789")

import httpx  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from starlette.requests import Request  # noqa: E402

from db import catalog  # noqa: E402
from db.config import Settings  # noqa: E402
from db.engine import make_engine, session_scope, upgrade  # noqa: E402
from db.models import MpesaTransaction  # noqa: E402
from scheduler.mpesa.serving import serve_in_thread  # noqa: E402
from scheduler.portal import views  # noqa: E402
from scheduler.portal.app import build_portal  # noqa: E402
from scheduler.portal.hotspot import Hotspot  # noqa: E402

BUDGET = 100 * 1024


def shop(engine: Engine) -> None:
    with session_scope(engine) as session:
        catalog.add_router(session, name="r1", host="10.5.50.1", password="pw", username="admin")
    for name, validity, price, rate in [
        ("1 hour", "1h", "10", "2M"),
        ("3 hours", "3h", "20", "3M"),
        ("Day", "1d", "50", "5M"),
        ("Week", "7d", "300", "10M"),
        ("Month", "30d", "1000", "10M"),
        ("Month family", "30d", "2000", "20M"),
    ]:
        spec = catalog.PackageSpec(
            name=name, type="hotspot", router="r1", price=price, validity=validity, rate=rate
        )
        with session_scope(engine) as session:
            catalog.add_package(session, spec)


def rendered(app: object, name: str, **context: object) -> int:
    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "app": app}
    request = Request(scope)
    return len(views.page(request, name, **context).body)


def main() -> None:
    folder = Path(tempfile.mkdtemp())
    engine = make_engine(f"sqlite:///{folder / 'bench.db'}")
    upgrade(engine)
    shop(engine)
    settings = Settings()
    settings.portal.router = "r1"
    app = build_portal(engine, settings)
    served = serve_in_thread(app)
    login = quote("http://10.5.50.1/login", safe="")
    entry = f"{served.url}/?mac=AA:BB:CC:00:00:01&ip=10.5.50.9&link-login-only={login}"
    sizes: dict[str, int] = {}
    with httpx.Client() as http:
        packages = http.get(entry)
        sizes["packages (6 packages, voucher and receipt boxes)"] = len(packages.content)
        h = packages.text.split("?h=", 1)[1].split("&", 1)[0]
        form = http.get(f"{served.url}/pay?h={h}&package=3")
        sizes["phone number form"] = len(form.content)
        stranger = f"{served.url}/?link-login-only=http%3A%2F%2Fother.example%2Flogin"
        sizes["refusal (a login link not the router's)"] = len(http.get(stranger).content)
    served.stop()
    row = MpesaTransaction(
        kind="stk",
        status="pending",
        amount=Decimal("50"),
        msisdn="+254708374149",
        receipt="QK7AB1CD2E",
        result_code=1032,
        created_at=datetime.now(UTC),
    )
    for state in ("waiting", "paid", "cancelled", "timed out"):
        sizes[f"payment: {state}"] = rendered(
            app, "payment.html", state=state, row=row, h=h, refresh=3, package_id=3, phone="0708"
        )
    hotspot = Hotspot("r1", "AA:BB:CC:00:00:01", "10.5.50.9", "http://10.5.50.1/login")
    fields = {"username": "c254708374149", "password": "0" * 32, "dst": "http://example.com/"}
    sizes["login (auto-submitted to the hotspot)"] = rendered(
        app, "login.html", action=hotspot.link_login_only, fields=fields, receipt="QK7AB1CD2E"
    )
    width = max(len(name) for name in sizes)
    print(f"Portal pages (one HTML document each, CSS inline; budget {BUDGET // 1024} KB):")
    for name, size in sizes.items():
        print(f"  {name:<{width}}  {size:>6,} bytes  {size / BUDGET:6.1%} of the budget")


if __name__ == "__main__":
    main()
