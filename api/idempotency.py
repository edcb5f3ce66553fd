"""``Idempotency-Key`` on the API's ``POST`` requests: a retried create returns the first
response (with ``Idempotent-Replayed: true``) instead of making a second listing.

The record lives in the database (``core.idempotency``), so a retry that reaches another
process or host is recognised too. Keys are scoped to the caller's credentials (or, for
anonymous requests, the address), so one client cannot replay another's answer.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from functools import partial
from typing import Any

import anyio
from sqlalchemy.exc import DBAPIError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.middleware import replaying
from core import idempotency
from core.db import Database

log = logging.getLogger(__name__)
HEADER = "Idempotency-Key"
_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, as the IETF draft expects
# Headers of the first answer that belong to that exchange alone, not to a replay.
_NOT_REPLAYED = {b"set-cookie", b"server-timing", b"x-request-id", b"date", b"content-length"}


def _json(status: int, code: str, detail: str, **headers: str) -> tuple[int, list[Any], bytes]:
    body = json.dumps({"error": code, "detail": detail, "field": HEADER}).encode()
    extra = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return status, [(b"content-type", b"application/json"), *extra], body


class Idempotency:
    """ASGI middleware: claim the key, run the request once, keep its answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", [])) if scope["type"] == "http" else {}
        key = headers.get(HEADER.lower().encode())
        if key is None or scope["method"] != "POST" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        text = key.decode("latin-1")
        if not _VALID_KEY.match(text):
            await _answer(
                send, *_json(400, "bad_idempotency_key", "1 to 255 visible ASCII characters")
            )
            return
        body, replay = await _read_body(receive)
        database: Database = scope["app"].state.services.database
        claim_of = partial(
            idempotency.claim,
            database,
            scope=_caller(scope, headers),
            key=text,
            method=scope["method"],
            path=scope["path"],
            digest=hashlib.sha256(scope.get("query_string", b"") + b"\0" + body).hexdigest(),
        )
        try:
            claim = await anyio.to_thread.run_sync(claim_of)
        except DBAPIError:
            log.warning("idempotency: database unavailable")
            await _answer(
                send,
                *_json(
                    503,
                    "database_unavailable",
                    "the database is unavailable",
                    **{"Retry-After": "2"},
                ),
            )
            return
        await self._answer_claim(claim, database, scope, replay, send)

    async def _answer_claim(
        self,
        claim: idempotency.Claim,
        database: Database,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        if isinstance(claim, idempotency.Stored):
            stored = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in claim.headers]
            stored.append((b"idempotent-replayed", b"true"))
            await _answer(send, claim.status, stored, claim.body)
        elif isinstance(claim, idempotency.Busy):
            await _answer(
                send,
                *_json(
                    409,
                    "idempotency_key_in_use",
                    "a request with this key is still running; retry shortly",
                    **{"Retry-After": "1"},
                ),
            )
        elif isinstance(claim, idempotency.Mismatch):
            await _answer(
                send,
                *_json(
                    409,  # a conflict with the first request under this key
                    "idempotency_key_reused",
                    "this key was used for a different request; use a new key",
                ),
            )
        else:
            await self._run_once(claim.record_id, database, scope, receive, send)

    async def _run_once(
        self, record_id: int, database: Database, scope: Scope, receive: Receive, send: Send
    ) -> None:
        status = 500
        kept: list[list[str]] = []
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() not in _NOT_REPLAYED:
                        kept.append([name.decode("latin-1"), value.decode("latin-1")])
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, capture)
        except BaseException:
            await anyio.to_thread.run_sync(idempotency.release, database, record_id)
            raise
        if status >= 500:  # our failure, not an answer: a retry may run it again
            await anyio.to_thread.run_sync(idempotency.release, database, record_id)
            return
        await anyio.to_thread.run_sync(
            partial(
                idempotency.complete,
                database,
                record_id,
                status=status,
                headers=kept,
                body=b"".join(chunks),
            )
        )


def _caller(scope: Scope, headers: dict[bytes, bytes]) -> str:
    """Whose keys these are: the credentials (a digest of them), else the address."""
    credentials = headers.get(b"authorization") or _session_cookie(headers.get(b"cookie", b""))
    if not credentials:
        client = scope.get("client")
        credentials = f"address:{client[0] if client else ''}".encode()
    return hashlib.sha256(credentials).hexdigest()


def _session_cookie(cookies: bytes) -> bytes:
    for part in cookies.split(b";"):
        name, _, value = part.strip().partition(b"=")
        if name == b"citydeal_session":
            return b"cookie:" + value
    return b""


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    return body, replaying(body, receive)


async def _answer(send: Send, status: int, headers: list[Any], body: bytes) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def describe(spec: dict[str, Any]) -> dict[str, Any]:
    """Document the header and its answers on every ``POST`` operation of the API."""
    parameter = {
        "name": HEADER,
        "in": "header",
        "required": False,
        "description": "Any unique string (a UUID): a retry with the same key returns the "
        "first response instead of repeating the request.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[!-~]+$"},
    }
    for path, operations in spec.get("paths", {}).items():
        post = operations.get("post") if path.startswith("/v1/") else None
        if post is None:
            continue
        post.setdefault("parameters", []).append(parameter)
        responses = post.setdefault("responses", {})
        error = {"$ref": "#/components/schemas/ErrorBody"}
        for status, what in (
            ("400", "A malformed Idempotency-Key"),
            (
                "409",
                "This Idempotency-Key is in use by a request still running, or was "
                "used for another request",
            ),
        ):
            responses.setdefault(
                status, {"description": what, "content": {"application/json": {"schema": error}}}
            )
    return spec
