"""At most so many units of work at the database per process: a request that needs the
database waits for a turn, a bounded time, then is answered 503 server_busy; one that
needs no database never waits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
from fastapi import FastAPI

from api.deps import Turns
from core.settings import Settings


@asynccontextmanager
async def every_turn_held(turns: Turns) -> AsyncIterator[None]:
    """As if ``turns.limit`` requests were at the database, stuck there until released."""
    async with AsyncExitStack() as stack:
        for _ in range(turns.limit):
            await stack.enter_async_context(turns.take())
        yield


async def test_a_request_at_the_database_waits_for_a_turn_and_one_without_does_not(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    turns: Turns = app.state.services.turns
    async with every_turn_held(turns):
        waiting = asyncio.create_task(client.get("/v1/provinces"))
        await asyncio.sleep(0.3)
        assert not waiting.done()
        assert (await client.get("/v1/taxonomy")).status_code == 200
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/static/favicon.svg")).status_code == 200
        assert not waiting.done()
    answer = await waiting
    assert answer.status_code == 200
    assert answer.json()


async def test_a_request_that_waited_its_bound_is_told_the_server_is_busy(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    turns: Turns = app.state.services.turns
    turns.max_wait = 0.2
    async with every_turn_held(turns):
        api = await client.get("/v1/provinces")
        page = await client.get("/", headers={"Accept-Language": "th"})
    assert api.status_code == 503
    assert api.headers["Retry-After"] == "1"
    assert api.json()["error"] == "server_busy"
    assert page.status_code == 503
    assert page.headers["content-type"].startswith("text/html")
    assert "ยุ่ง" in page.text  # the reader's language
    # The shed requests took no turn: every turn is free again (else this waits its bound).
    async with every_turn_held(turns):
        pass
    assert (await client.get("/v1/provinces")).status_code == 200


def test_the_limit_and_the_wait_are_settings() -> None:
    assert Settings().max_concurrent_requests == 2
    assert Settings().max_turn_wait_seconds == 5
    assert Settings(max_concurrent_requests=8).max_concurrent_requests == 8
