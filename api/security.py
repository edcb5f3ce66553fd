"""Security headers on every response (pages, the API, static files, errors), and the
attributes of every cookie the app sets.

The Content-Security-Policy allows no inline script: the portal's scripts are files
under ``/static`` attached with ``addEventListener``; ``<script type="application/json">``
data blocks are not run and need nothing. Styles allow ``'unsafe-inline'``: the templates
use ``<style>`` blocks and ``style=`` attributes, and Leaflet positions its panes with
inline styles; a style cannot run code. Images may come from the map's tile server
(``CITYDEAL_MAP_TILE_URL``). ``/docs`` and ``/redoc`` (Swagger UI and ReDoc load their
scripts and styles from a CDN and start with an inline script) get a looser policy of
their own, and are served only where ``Settings.serves_api_docs`` says so.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.settings import Settings

log = logging.getLogger(__name__)

DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
DOCS_CDN = "https://cdn.jsdelivr.net"  # where FastAPI's Swagger UI and ReDoc pages load from
HSTS = "max-age=63072000; includeSubDomains"  # two years: production is HTTPS only


def tile_source(map_tile_url: str) -> str | None:
    """The CSP source of a tile URL template: its origin, with a ``{s}`` subdomain
    placeholder as a wildcard (``https://*.tile.example.org``); just the scheme when the
    host has a placeholder CSP cannot express."""
    if not map_tile_url:
        return None
    parts = urlsplit(map_tile_url)
    labels = parts.netloc.split(".")
    if "{" in labels[0] and "{" not in ".".join(labels[1:]) and len(labels) > 2:
        return f"{parts.scheme}://*.{'.'.join(labels[1:])}"
    if "{" in parts.netloc:
        return f"{parts.scheme}:"
    return f"{parts.scheme}://{parts.netloc}"


def _policy(directives: dict[str, list[str]]) -> str:
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def content_security_policy(settings: Settings) -> str:
    """The portal's and the API's policy."""
    images = ["'self'", "data:"]
    if tiles := tile_source(settings.map_tile_url):
        images.append(tiles)
    return _policy(
        {
            "default-src": ["'self'"],
            "script-src": ["'self'"],
            "style-src": ["'self'", "'unsafe-inline'"],
            "img-src": images,
            "font-src": ["'self'"],
            "connect-src": ["'self'"],
            "object-src": ["'none'"],
            "base-uri": ["'self'"],
            "form-action": ["'self'"],
            "frame-ancestors": ["'none'"],
        }
    )


def docs_security_policy() -> str:
    """``/docs`` and ``/redoc``: their CDN and their inline start-up script."""
    return _policy(
        {
            "default-src": ["'self'"],
            "script-src": ["'self'", "'unsafe-inline'", DOCS_CDN],
            "style-src": ["'self'", "'unsafe-inline'", DOCS_CDN, "https://fonts.googleapis.com"],
            "img-src": ["'self'", "data:", "https://fastapi.tiangolo.com", "https://cdn.redoc.ly"],
            "font-src": ["'self'", "https://fonts.gstatic.com"],
            "connect-src": ["'self'"],
            "worker-src": ["'self'", "blob:"],
            "object-src": ["'none'"],
            "base-uri": ["'self'"],
            "form-action": ["'self'"],
            "frame-ancestors": ["'none'"],
        }
    )


def _secure_cookie(value: bytes, *, production: bool) -> bytes:
    """A ``Set-Cookie`` value with HttpOnly and SameSite (Lax unless it says otherwise),
    and Secure in production, whatever set it."""
    attributes = {part.strip().split(b"=", 1)[0].lower() for part in value.split(b";")[1:]}
    extra = b""
    if b"httponly" not in attributes:
        extra += b"; HttpOnly"
    if b"samesite" not in attributes:
        extra += b"; SameSite=Lax"
    if production and b"secure" not in attributes:
        extra += b"; Secure"
    return value + extra


class SecurityHeaders:
    """Adds the security headers to every HTTP response and makes every cookie HttpOnly,
    SameSite and (in production) Secure. A response's own header wins (none sets one
    today). An exception that escapes the app is answered here by the app's own handler,
    so that a 500 carries the headers too (Starlette answers it outside every middleware
    otherwise); it is raised again, for the server to log."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.production = settings.environment == "production"
        common = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
        ]
        if self.production:
            common.append((b"strict-transport-security", HSTS.encode()))
        csp = b"content-security-policy"
        self.headers = [*common, (csp, content_security_policy(settings).encode())]
        self.docs_headers = [*common, (csp, docs_security_policy().encode())]
        self.docs_paths = DOCS_PATHS if settings.serves_api_docs else frozenset()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = self.docs_headers if scope["path"] in self.docs_paths else self.headers
        started = False

        async def send_secured(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [
                    (name, _secure_cookie(value, production=self.production))
                    if name.lower() == b"set-cookie"
                    else (name, value)
                    for name, value in message.get("headers", [])
                ]
                present = {name.lower() for name, _ in headers}
                headers.extend((name, value) for name, value in added if name not in present)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_secured)
        except Exception as exc:
            if started:
                raise
            response = await _unexpected(scope, exc)
            if response is None:
                raise
            await response(scope, receive, send_secured)
            raise


async def _unexpected(scope: Scope, exc: Exception) -> Response | None:
    """The app's own answer to an unexpected exception (its ``Exception`` handler)."""
    app = scope.get("app")
    handlers = getattr(app, "exception_handlers", {})
    handler = handlers.get(Exception) or handlers.get(500)
    if handler is None:
        return None
    answer = handler(Request(scope), exc)
    if not isinstance(answer, Response):
        answer = await answer
    assert isinstance(answer, Response)
    return answer
