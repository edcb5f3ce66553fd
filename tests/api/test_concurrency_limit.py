"""About so many requests in progress per process; a wait for a turn is bounded, and
health checks never wait."""

from __future__ import annotations

import asyncio

import httpx
from starlette.types import Receive, Scope, Send

from api.middleware import ConcurrencyLimit
from core.settings import Settings


def _app(started: list[str], release: asyncio.Event) -> ConcurrencyLimit:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        started.append(scope["path"])
        if scope["path"] == "/slow":
            await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return ConcurrencyLimit(app, limit=1, max_wait=30)


async def test_requests_past_the_limit_wait_their_turn_but_health_checks_do_not() -> None:
    started: list[str] = []
    release = asyncio.Event()
    transport = httpx.ASGITransport(app=_app(started, release))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        slow = asyncio.create_task(client.get("/slow"))
        await asyncio.sleep(0.05)
        waiting = asyncio.create_task(client.get("/v1/search"))
        await asyncio.sleep(0.1)
        assert started == ["/slow"]  # the second request has not started
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/readyz")).status_code == 200
        release.set()
        assert (await slow).status_code == 200
        assert (await waiting).status_code == 200
    assert started == ["/slow", "/healthz", "/readyz", "/v1/search"]


async def test_a_request_that_waited_its_bound_goes_ahead() -> None:
    started: list[str] = []
    release = asyncio.Event()
    limited = _app(started, release)
    limited.max_wait = 0.2  # the turn is held by a request that will not finish soon
    transport = httpx.ASGITransport(app=limited)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        stuck = asyncio.create_task(client.get("/slow"))
        await asyncio.sleep(0.05)
        assert (await client.get("/v1/taxonomy")).status_code == 200
        assert started == ["/slow", "/v1/taxonomy"]
        release.set()
        await stuck
        # The turn the stuck request held is free again; the one that went ahead took none.
        limited.max_wait = 30
        release.clear()
        second = asyncio.create_task(client.get("/slow"))
        await asyncio.sleep(0.05)
        waiting = asyncio.create_task(client.get("/v1/search"))
        await asyncio.sleep(0.1)
        assert started[-1] == "/slow"
        release.set()
        await second
        await waiting
    assert started[-1] == "/v1/search"


def test_the_limit_and_the_wait_are_settings() -> None:
    assert Settings().max_concurrent_requests == 8
    assert Settings().max_turn_wait_seconds == 0.5
    assert Settings(max_concurrent_requests=2).max_concurrent_requests == 2
