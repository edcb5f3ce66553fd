"""ASGI middleware: a bound on request bodies, timing, and HEAD answered as GET."""

from __future__ import annotations

import json
import re
import time

from asgi_correlation_id import CorrelationIdMiddleware
from asgi_correlation_id.context import correlation_id
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodySizeLimit:
    """Answers 413 for a body above ``max_bytes``, whether declared or streamed."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._reject(send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._reject(send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        await self.app(scope, replaying(b"".join(chunks), receive), send)

    async def _reject(self, send: Send) -> None:
        payload = json.dumps(
            {
                "error": "payload_too_large",
                "detail": f"request bodies are limited to {self.max_bytes} bytes",
                "field": "body",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


class ServerTiming:
    """Adds ``Server-Timing: app;dur=<ms>`` to every response: the time from the request
    reaching the app to the response starting, visible in a browser's developer tools and
    read by the benchmarks (so their figures exclude the client)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def send_with_timing(message: Message) -> None:
            if message["type"] == "http.response.start":
                elapsed_ms = (time.perf_counter() - started) * 1000
                headers = list(message.get("headers", []))
                headers.append((b"server-timing", f"app;dur={elapsed_ms:.2f}".encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_timing)


class HeadAsGet:
    """Answers ``HEAD`` wherever ``GET`` is answered: the request goes on as a GET and the
    answer keeps its status and headers (``Content-Length`` included, as GET's) without
    the body. One place serves every route, the portal's, the API's and those added
    later; FastAPI routes answer only the methods listed on them, and listing HEAD on each
    would add a HEAD operation per route to the OpenAPI document. The request's state
    says it is a HEAD (``is_head``), so that nothing is counted as a view."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        # A copy: the server still sees the HEAD it received and sends no body either.
        state = {**scope.get("state", {}), HEAD_STATE: True}
        await self.app({**scope, "method": "GET", "state": state}, receive, send_without_body)


HEAD_STATE = "head_request"


def is_head(scope: Scope) -> bool:
    """Whether the request came as a HEAD, answered as a GET without the body."""
    return bool(scope.get("state", {}).get(HEAD_STATE, False))


# --- the request id -------------------------------------------------------------------

_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")


def sane_request_id(value: str) -> bool:
    """A caller's ``X-Request-ID`` is kept when it is short printable ASCII without
    spaces (a UUID, a load balancer's or a tracer's id); anything else is replaced by a
    generated one, so a log line cannot be forged through it."""
    return bool(_SANE_REQUEST_ID.match(value))


def request_id_middleware(app: ASGIApp) -> CorrelationIdMiddleware:
    """``X-Request-ID`` on every request and response: the caller's if sane, else new."""
    return CorrelationIdMiddleware(app, header_name=REQUEST_ID_HEADER, validator=sane_request_id)


REQUEST_ID_HEADER = "X-Request-ID"


def current_request_id() -> str | None:
    """The id of the request being answered (None outside a request)."""
    return correlation_id.get()


def replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the app ``body`` (already read) whole, then whatever comes
    next (a disconnect)."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
