"""Rate limits: per key, per account, per address and per organisation, on sign-in (the
API and the portal's page), key use, interest, meeting requests and imports: 429 with
``Retry-After``, in this process's memory and in Redis, where two uvicorn workers and a
second server share one count."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from fastapi import FastAPI
from sqlalchemy import Connection

from api.main import build_services, create_app
from catalog.search.tantivy_engine import TantivyIndex
from core.db import Database
from core.errors import TooManyRequests
from core.ratelimit import RateLimiter, Rule
from core.settings import RateLimitSettings, Settings, get_settings
from matching.matrix import MatrixStore
from tests.api.test_event_meetings import ask, make_day
from tests.api.test_import import csv_of, five_rows, upload
from tests.api.test_portal_accounts import csrf, sign_in_with_key
from tests.factories import World, auth, create_and_publish, create_profile
from tests.live import environment, seeded, serve

REDIS_URL = os.environ.get("CITYDEAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PER_MINUTE = range(1, 61)


def unique_prefix() -> str:
    """A key prefix of this test's own: parallel tests never share a count."""
    return f"citydeal-test-{uuid.uuid4().hex}"


def limiter_settings(storage: str = "memory", **limits: str) -> RateLimitSettings:
    url = REDIS_URL if storage == "redis" else "memory://"
    return RateLimitSettings.model_validate(
        {"storage_url": url, "key_prefix": unique_prefix(), **limits}
    )


@pytest.fixture
def app(
    request: pytest.FixtureRequest, connection: Connection, tantivy_index: TantivyIndex
) -> Iterator[FastAPI]:
    """The real app with the limits a test names (``indirect`` parameters: the storage,
    ``memory`` or ``redis``, and the limits); the defaults otherwise. Counts under the
    test's own prefix are deleted afterwards."""
    wanted: dict[str, str] = dict(getattr(request, "param", {}))
    limits = limiter_settings(wanted.pop("storage", "memory"), **wanted)
    settings = get_settings().model_copy(update={"rate_limits": limits})
    services = build_services(
        settings,
        database=Database(connection, join_transaction_mode="create_savepoint"),
        search=tantivy_index,
        matrices=MatrixStore(),
    )
    yield create_app(services=services)
    services.limiter.reset()


def assert_too_many(response: httpx.Response, field: str | None = None) -> int:
    assert response.status_code == 429, response.text
    wait = int(response.headers["retry-after"])
    assert wait in PER_MINUTE
    if response.headers["content-type"].startswith("application/json"):
        body = response.json()
        assert body["error"] == "too_many_requests"
        assert body["field"] == field
        assert body["retry_after"] == wait
    return wait


@pytest.mark.parametrize(
    "app",
    [{"key_use": "3/minute"}, {"storage": "redis", "key_use": "3/minute"}],
    indirect=True,
    ids=["memory", "redis"],
)
async def test_a_key_over_its_limit_gets_429_and_when_to_come_back(
    client: httpx.AsyncClient, world: World
) -> None:
    investor = auth(world.investor_key)
    for _ in range(3):
        assert (await client.get("/v1/interests", headers=investor)).status_code == 200
    assert_too_many(await client.get("/v1/interests", headers=investor), "authorization")
    # Per key: another key, and anyone without one, are not held back.
    assert (await client.get("/v1/interests", headers=auth(world.rayong_key))).status_code in (
        200,
        403,
    )
    assert (await client.get("/v1/taxonomy")).status_code == 200


@pytest.mark.parametrize("app", [{"sign_in_per_address": "3/minute"}], indirect=True)
async def test_sign_in_attempts_are_limited_per_address(client: httpx.AsyncClient) -> None:
    for n in range(3):  # three different accounts, one address
        wrong = await client.post(
            "/v1/sessions", json={"email": f"nobody{n}@x.example", "password": "guess"}
        )
        assert wrong.status_code == 401
    assert_too_many(
        await client.post("/v1/sessions", json={"email": "other@x.example", "password": "guess"})
    )


@pytest.mark.parametrize("app", [{"sign_in_per_account": "2/minute"}], indirect=True)
async def test_sign_in_attempts_are_limited_per_account(client: httpx.AsyncClient) -> None:
    for _ in range(2):
        wrong = await client.post(
            "/v1/sessions", json={"email": "someone@x.example", "password": "guess"}
        )
        assert wrong.status_code == 401
    refused = await client.post(
        "/v1/sessions", json={"email": "SomeOne@x.example", "password": "guess"}
    )
    assert_too_many(refused, "email")  # the same account, however it is written
    other = await client.post("/v1/sessions", json={"email": "else@x.example", "password": "g"})
    assert other.status_code == 401


@pytest.mark.parametrize("app", [{"sign_in_per_address": "1/minute"}], indirect=True)
async def test_the_sign_in_page_says_so_in_the_readers_language(
    client: httpx.AsyncClient,
) -> None:
    async def attempt() -> httpx.Response:
        form = await client.get("/signin", params={"lang": "th"})
        return await client.post(
            "/signin",
            data={"csrf_token": csrf(form.text), "email": "a@x.example", "password": "guess"},
        )

    assert (await attempt()).status_code == 401
    refused = await attempt()
    assert_too_many(refused)
    assert refused.headers["content-type"].startswith("text/html")
    assert 'lang="th"' in refused.text
    assert "ลองใหม่" in refused.text  # "try again", in Thai
    assert refused.headers["content-security-policy"]  # a page like any other


@pytest.mark.parametrize("app", [{"interest": "1/minute"}], indirect=True)
async def test_interest_is_limited_per_organisation(
    client: httpx.AsyncClient, world: World
) -> None:
    first = await create_and_publish(client, world.nakhon_sawan_key, slug="first-idea")
    second = await create_and_publish(client, world.nakhon_sawan_key, slug="second-idea")
    investor = auth(world.investor_key)
    await create_profile(client, world.investor_key)
    sent = await client.post(f"/v1/listings/{first}/interest", json={}, headers=investor)
    assert sent.status_code == 201, sent.text
    assert_too_many(await client.post(f"/v1/listings/{second}/interest", json={}, headers=investor))
    mine = (await client.get("/v1/interests", headers=investor)).json()
    assert [i["listing_slug"] for i in mine["data"]] == [first]  # the refused one was not kept


@pytest.fixture
async def day(client: httpx.AsyncClient, world: World) -> dict[str, int]:
    """The pitch day of tests/api/test_event_meetings.py, made in the test's transaction."""
    return await make_day(client, world)


@pytest.mark.parametrize("app", [{"meeting_requests": "1/minute"}], indirect=True)
async def test_meeting_requests_are_limited_per_organisation(
    client: httpx.AsyncClient,
    world: World,
    day: dict[str, int],
) -> None:
    sent = await ask(client, world.investor_key, "fish-balls", day["food"])
    assert sent.status_code == 201, sent.text
    assert_too_many(await ask(client, world.investor_key, "fish-balls", day["wide"]))
    # Another organisation asks on its own count.
    answered = await ask(client, world.nakhon_sawan_key, "fish-balls", day["wide"])
    assert answered.status_code == 201, answered.text


@pytest.mark.parametrize("app", [{"imports": "2/minute"}], indirect=True)
async def test_imports_are_limited_per_organisation(
    client: httpx.AsyncClient, world: World
) -> None:
    data = csv_of(five_rows())
    for _ in range(2):
        checked = await upload(client, world.nakhon_sawan_key, data, dry_run=True)
        assert checked.status_code == 200, checked.text
    assert_too_many(await upload(client, world.nakhon_sawan_key, data))
    other = await upload(client, world.rayong_key, data, dry_run=True)
    assert other.status_code in (200, 422)  # its own count (its city may differ)
    assert other.status_code != 429


@pytest.mark.parametrize("app", [{"imports": "1/minute"}], indirect=True)
async def test_the_portal_says_so_in_the_readers_language_too(
    client: httpx.AsyncClient, world: World
) -> None:
    await sign_in_with_key(client, world.nakhon_sawan_key)
    page = await client.get("/dashboard/import", params={"lang": "th"})
    spreadsheet = {"file": ("plans.csv", csv_of(five_rows()))}
    posted = {"csrf_token": csrf(page.text), "action": "check"}
    checked = await client.post("/dashboard/import", data=posted, files=spreadsheet)
    assert checked.status_code == 200, checked.text
    refused = await client.post("/dashboard/import", data=posted, files=spreadsheet)
    assert_too_many(refused)
    assert refused.headers["content-type"].startswith("text/html")
    assert "ลองหลายครั้งเกินไป" in refused.text  # "too many attempts", in Thai


async def test_the_default_limits_leave_ordinary_use_alone(
    client: httpx.AsyncClient, world: World
) -> None:
    investor = auth(world.investor_key)
    for _ in range(60):
        assert (await client.get("/v1/interests", headers=investor)).status_code == 200


def test_the_limiter_counts_and_forgets_only_under_its_own_prefix() -> None:
    mine = RateLimiter(limiter_settings("redis", interest="2/minute"))
    theirs = RateLimiter(limiter_settings("redis", interest="2/minute"))
    try:
        for limiter in (mine, theirs):
            limiter.hit(Rule.interest, "org:1")
            limiter.hit(Rule.interest, "org:1")
            with pytest.raises(TooManyRequests) as refused:
                limiter.hit(Rule.interest, "org:1")
            assert refused.value.retry_after in PER_MINUTE
        mine.reset()
        mine.hit(Rule.interest, "org:1")  # counted afresh
        with pytest.raises(TooManyRequests):  # the other prefix kept its count
            theirs.hit(Rule.interest, "org:1")
        assert mine.shared
        assert theirs.shared
        assert not RateLimiter(limiter_settings()).shared
    finally:
        mine.reset()
        theirs.reset()


def test_an_unreachable_store_lets_requests_through_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = RateLimitSettings(storage_url="redis://127.0.0.1:1/0", interest="1/minute")
    limiter = RateLimiter(settings)
    with caplog.at_level(logging.WARNING, logger="core.ratelimit"):
        for _ in range(3):
            limiter.hit(Rule.interest, "org:1")
    warnings = [r.getMessage() for r in caplog.records if r.name == "core.ratelimit"]
    assert len(warnings) == 1  # one line, not one per request
    assert "127.0.0.1:1/0 unreachable" in warnings[0]


def test_settings_refuse_nonsense_and_memory_in_production() -> None:
    with pytest.raises(ValueError, match="rate limit such as"):
        RateLimitSettings(key_use="lots")
    with pytest.raises(ValueError, match="memory:// or redis"):
        RateLimitSettings(storage_url="memcached://127.0.0.1")
    production: dict[str, Any] = {
        "environment": "production",
        "session_secret": "a real secret",
        "database_url": "postgresql+psycopg://db.invalid/citydeal",
    }
    with pytest.raises(ValueError, match="CITYDEAL_RATE_LIMIT_STORAGE_URL"):
        Settings(**production, rate_limits=RateLimitSettings(storage_url="memory://"))
    Settings(**production, rate_limits=RateLimitSettings(storage_url=REDIS_URL))


# --- across processes and hosts -------------------------------------------------------------


@pytest.mark.live_server
@pytest.mark.slow
def test_two_workers_and_a_second_server_share_one_count_in_redis(tmp_path: Path) -> None:
    """Server A (uvicorn, two workers) and server B (another process, as another host
    would be) on one database and one Redis prefix: six requests spread over them use up
    a key's limit of six, and the seventh is refused wherever it lands."""
    prefix = unique_prefix()
    env = environment(
        tmp_path,
        CITYDEAL_RATE_LIMIT_STORAGE_URL=REDIS_URL,
        CITYDEAL_RATE_LIMIT_KEY_PREFIX=prefix,
        CITYDEAL_RATE_LIMIT_KEY_USE="6/minute",
    )
    key = seeded(env, publisher_of="patong-municipality")
    for server in ("a", "b"):
        (tmp_path / server).mkdir()
    store = redis.Redis.from_url(REDIS_URL)
    try:
        with (
            serve(env, tmp_path / "a", workers=2) as server_a,
            serve(env, tmp_path / "b") as server_b,
        ):
            headers = {"Authorization": f"Bearer {key}"}
            answers = []
            for n in range(6):
                base = server_a if n % 2 else server_b
                # A new connection each time, so that both of A's workers take some.
                answers.append(httpx.get(f"{base}/v1/me", headers=headers, timeout=10))
            assert [a.status_code for a in answers] == [200] * 6, answers[-1].text
            for base in (server_a, server_b):
                refused = httpx.get(f"{base}/v1/me", headers=headers, timeout=10)
                assert refused.status_code == 429, refused.text
                assert int(refused.headers["retry-after"]) in PER_MINUTE
                assert refused.json()["field"] == "authorization"
            assert httpx.get(f"{server_a}/v1/taxonomy", timeout=10).status_code == 200
            assert store.keys(f"{prefix}:*")  # the count is in Redis, under the prefix
    finally:
        for name in store.scan_iter(f"{prefix}:*"):
            store.delete(name)
        store.close()
