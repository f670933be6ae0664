"""Every request passes ``Guard`` first: Host check, token, CSRF rules and security headers.

A dashboard that runs code must not be drivable by other web pages (CSRF), by DNS rebinding
(a foreign name resolving to 127.0.0.1) or by other local users who learn the port:
- the Host header must name this machine (127.0.0.1, localhost, [::1], plus names the user
  adds), on every route including the event stream;
- the printed URL carries a random token that ``GET /?token=`` swaps for an HttpOnly,
  SameSite=Strict cookie; every other request needs that cookie;
- only GET and HEAD are safe: anything else needs our own Origin, a JSON content type and the
  ``X-Token`` header (a value derived from the token, handed to the page in a meta tag);
- responses carry a strict Content-Security-Policy and no CORS headers.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from http.cookies import SimpleCookie

from starlette.datastructures import Headers, QueryParams
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "tdrun_ui"
SAFE_METHODS = frozenset({"GET", "HEAD"})
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]


def new_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_value(token: str) -> str:
    """The ``X-Token`` value: derived from the token so the page never sees the cookie's."""
    return hmac.new(token.encode(), b"tdrun-ui x-token", hashlib.sha256).hexdigest()


def host_name(host: str) -> str:
    """``127.0.0.1:8000`` -> ``127.0.0.1``, ``[::1]:8000`` -> ``[::1]``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Guard:
    """Pure ASGI middleware (it must not buffer the event stream)."""

    def __init__(self, app: ASGIApp, *, token: str, hosts: Iterable[str] = ()) -> None:
        self.app = app
        self.token = token
        self.csrf = csrf_value(token)
        self.hosts = frozenset(h.lower() for h in (*LOCAL_HOSTS, *hosts))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if not k.lower().startswith(b"access-control-")
                ]
                message["headers"] = headers + HEADERS
            await send(message)

        refusal = self.check(scope)
        if refusal is not None:
            await refusal(scope, receive, send_secured)
            return
        await self.app(scope, receive, send_secured)

    def check(self, scope: Scope) -> Response | None:
        """The response that refuses this request, or None to let it through."""
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if host_name(host) not in self.hosts:
            return PlainTextResponse("forbidden: unknown Host header", status_code=403)
        method = scope["method"]
        given = QueryParams(scope.get("query_string", b"")).get("token")
        if given is not None and method == "GET" and scope["path"] == "/":
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return PlainTextResponse("forbidden: wrong token", status_code=403)
            redirect = RedirectResponse("/", status_code=303)
            redirect.set_cookie(COOKIE, self.token, httponly=True, samesite="strict", path="/")
            return redirect
        if not self._has_cookie(headers):
            return PlainTextResponse(
                "unauthorized: open the URL that tdrun-ui printed (it carries the token)",
                status_code=401,
            )
        if method in SAFE_METHODS:
            return None
        origin = headers.get("origin")
        if origin is None or origin != f"http://{host}":
            return PlainTextResponse("forbidden: missing or foreign Origin", status_code=403)
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            return PlainTextResponse(
                "unsupported media type: send application/json", status_code=415
            )
        if not hmac.compare_digest(headers.get("x-token", "").encode(), self.csrf.encode()):
            return PlainTextResponse("forbidden: missing or wrong X-Token header", status_code=403)
        return None

    def _has_cookie(self, headers: Headers) -> bool:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(headers.get("cookie", ""))
        except Exception:
            return False
        morsel = jar.get(COOKIE)
        return morsel is not None and hmac.compare_digest(
            morsel.value.encode(), self.token.encode()
        )
