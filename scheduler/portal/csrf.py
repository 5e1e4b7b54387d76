"""CSRF protection of the portal's forms (double submit, signed): the browser holds a random
cookie, every form carries the HMAC of it, and a post whose token does not match its cookie is
refused. Another site can make the browser post, but cannot read the cookie to forge the token."""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

from scheduler.portal.signing import Signer

COOKIE = "wisp_portal_csrf"
FIELD = "csrf"


class CsrfGuard:
    """Hands out form tokens tied to the browser's cookie, and checks them on posts."""

    def __init__(self, signer: Signer) -> None:
        self._signer = signer

    def cookie_of(self, request: Request) -> str:
        """The browser's cookie value, or a new one (set by `keep` on the response)."""
        known = request.cookies.get(COOKIE, "")
        if len(known) >= 16:
            return known
        fresh = getattr(request.state, "csrf_cookie", None)
        if fresh is None:
            fresh = secrets.token_urlsafe(18)
            request.state.csrf_cookie = fresh
        return str(fresh)

    def token(self, request: Request) -> str:
        """The token the request's forms carry."""
        return self._signer.mac("csrf", self.cookie_of(request))

    def keep(self, request: Request, response: Response) -> None:
        """Set the cookie on the response when the browser had none."""
        fresh = getattr(request.state, "csrf_cookie", None)
        if fresh is not None:
            path = request.scope.get("root_path") or "/"
            response.set_cookie(COOKIE, fresh, httponly=True, samesite="lax", path=path)

    def valid(self, request: Request, form: dict[str, str]) -> bool:
        """True when the post carries the token of its own cookie."""
        cookie = request.cookies.get(COOKIE, "")
        if len(cookie) < 16:
            return False
        return hmac.compare_digest(form.get(FIELD, ""), self._signer.mac("csrf", cookie))
