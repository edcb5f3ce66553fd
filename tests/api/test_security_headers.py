"""Security headers on every kind of response (a page, the API, a static file, the
errors the app, Starlette and the body limit answer with, a 500), the looser policy of the
API documentation and switching it off, and the attributes of every cookie."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Connection

from api.main import build_services, create_app
from api.security import tile_source
from catalog.search.tantivy_engine import TantivyIndex
from core.db import Database
from core.settings import RateLimitSettings, Settings, get_settings
from matching.matrix import MatrixStore
from tests.factories import World, auth

EVERY_RESPONSE = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
}


def directives(response: httpx.Response) -> dict[str, list[str]]:
    policy = response.headers["content-security-policy"]
    parsed: dict[str, list[str]] = {}
    for directive in policy.split(";"):
        name, *sources = directive.split()
        parsed[name] = sources
    return parsed


def assert_secured(response: httpx.Response) -> dict[str, list[str]]:
    for name, value in EVERY_RESPONSE.items():
        assert response.headers.get(name) == value, (response.request.url, name)
    assert "strict-transport-security" not in response.headers  # not production
    policy = directives(response)
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    return policy


def assert_strict(response: httpx.Response) -> None:
    policy = assert_secured(response)
    assert policy["script-src"] == ["'self'"]  # no inline script, no other host
    assert policy["default-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["img-src"] == ["'self'", "data:"]  # no tile server configured


def app_with(connection: Connection, index: TantivyIndex, settings: Settings) -> FastAPI:
    services = build_services(
        get_settings(),
        database=Database(connection, join_transaction_mode="create_savepoint"),
        search=index,
        matrices=MatrixStore(),
    )
    return create_app(settings, services=services)


@pytest.fixture
async def failing(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with a route that fails as a bug would, answered without raising."""

    def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/v1/broken", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_every_kind_of_response_carries_the_headers(
    client: httpx.AsyncClient, world: World, failing: httpx.AsyncClient
) -> None:
    answers = {
        "page": await client.get("/"),
        "sign-in page": await client.get("/signin"),
        "api": await client.get("/v1/taxonomy"),
        "api with a key": await client.get("/v1/interests", headers=auth(world.investor_key)),
        "static script": await client.get("/static/map.js"),
        "static style": await client.get("/static/booklet.css"),
        "spec": await client.get("/openapi.json"),
        "page 404": await client.get("/no-such-page"),
        "api 404": await client.get("/v1/listings/no-such-listing"),
        "api 401": await client.get("/v1/interests"),
        "api 405": await client.delete("/v1/taxonomy"),
        "api 422": await client.get("/v1/search", params={"limit": "many"}),
        "api 413": await client.post(
            "/v1/listings", content=b"x" * 1_000_001, headers=auth(world.nakhon_sawan_key)
        ),
        "head": await client.head("/"),
        "api 500": await failing.get("/v1/broken"),
    }
    expected = {
        "page 404": 404,
        "api 404": 404,
        "api 401": 401,
        "api 405": 405,
        "api 422": 422,
        "api 413": 413,
        "api 500": 500,
    }
    for kind, response in answers.items():
        assert response.status_code == expected.get(kind, 200), (kind, response.text[:200])
        assert_strict(response)
    assert answers["api 500"].json()["error"] == "internal_error"  # the app's own answer
    assert answers["api 405"].headers["allow"]  # Starlette's own header kept


async def test_no_page_needs_inline_script(client: httpx.AsyncClient) -> None:
    """No event-handler attribute and no executable inline script in the pages the
    policy would break (the catalogue's sort, the booklet's print button moved to files)."""
    catalogue = (await client.get("/")).text
    assert "onchange=" not in catalogue
    assert "data-autosubmit" in catalogue
    assert '<script src="/static/autosubmit.js" defer></script>' in catalogue
    assert (await client.get("/static/autosubmit.js")).status_code == 200
    assert (await client.get("/static/print.js")).status_code == 200


async def test_the_api_docs_have_their_own_policy_and_can_be_switched_off(
    client: httpx.AsyncClient, connection: Connection, tmp_path_factory: pytest.TempPathFactory
) -> None:
    docs = await client.get("/docs")
    assert docs.status_code == 200
    policy = assert_secured(docs)
    assert "https://cdn.jsdelivr.net" in policy["script-src"]  # Swagger UI's own
    assert "'unsafe-inline'" in policy["script-src"]  # its start-up script
    assert "https://cdn.jsdelivr.net" in directives(await client.get("/redoc"))["script-src"]

    off = get_settings().model_copy(update={"api_docs": False})
    index = TantivyIndex(tmp_path_factory.mktemp("search"))
    transport = httpx.ASGITransport(app=app_with(connection, index, off))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as without:
        for path in ("/docs", "/redoc"):
            gone = await without.get(path)
            assert gone.status_code == 404
            assert_strict(gone)
        assert (await without.get("/openapi.json")).status_code == 200


def test_the_docs_are_off_in_production_unless_asked_for() -> None:
    production: dict[str, Any] = {
        "environment": "production",
        "session_secret": "a real secret",
        "database_url": "postgresql+psycopg://db.invalid/citydeal",
        "rate_limits": RateLimitSettings(storage_url="redis://127.0.0.1:6379/0"),
    }
    assert Settings(**production).serves_api_docs is False
    assert Settings(**production, api_docs=True).serves_api_docs is True
    assert Settings(environment="development").serves_api_docs is True
    assert Settings(environment="development", api_docs=False).serves_api_docs is False


async def test_production_adds_hsts_and_secures_every_cookie(
    connection: Connection, tmp_path_factory: pytest.TempPathFactory
) -> None:
    production = get_settings().model_copy(update={"environment": "production"})
    index = TantivyIndex(tmp_path_factory.mktemp("search"))
    transport = httpx.ASGITransport(app=app_with(connection, index, production))
    async with httpx.AsyncClient(transport=transport, base_url="https://test") as client:
        signin = await client.get("/signin", params={"lang": "en"})
        for response in (signin, await client.get("/v1/taxonomy")):
            assert response.headers["strict-transport-security"].startswith("max-age=")
        assert (await client.get("/docs")).status_code == 404
    cookies = cookie_attributes(signin)
    assert set(cookies) == {"citydeal_session", "lang"}  # the session (CSRF) and language
    for name, attributes in cookies.items():
        assert {"httponly", "secure", "samesite=lax"} <= attributes, name


async def test_every_cookie_is_http_only_and_same_site_in_development(
    client: httpx.AsyncClient,
) -> None:
    signin = await client.get("/signin", params={"lang": "th"})
    cookies = cookie_attributes(signin)
    assert set(cookies) == {"citydeal_session", "lang"}
    for name, attributes in cookies.items():
        assert {"httponly", "samesite=lax"} <= attributes, name
        assert "secure" not in attributes, name  # plain HTTP on a developer's machine
    assert "strict-transport-security" not in signin.headers


def cookie_attributes(response: httpx.Response) -> dict[str, set[str]]:
    cookies = {}
    for header in response.headers.get_list("set-cookie"):
        name = header.split("=", 1)[0]
        cookies[name] = {part.strip().lower() for part in header.split(";")[1:]}
    return cookies


def test_the_tile_server_is_allowed_for_images() -> None:
    assert tile_source("https://tile.example.org/{z}/{x}/{y}.png") == "https://tile.example.org"
    assert (
        tile_source("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png")
        == "https://*.tile.openstreetmap.org"
    )
    assert tile_source("https://tiles-{s}.example/{z}/{x}/{y}.png") == "https:"
    assert tile_source("") is None


async def test_the_policy_names_the_configured_tile_server(
    connection: Connection, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tiled = get_settings().model_copy(
        update={"map_tile_url": "https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png"}
    )
    index = TantivyIndex(tmp_path_factory.mktemp("search"))
    transport = httpx.ASGITransport(app=app_with(connection, index, tiled))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        policy = directives(await client.get("/"))
    assert policy["img-src"] == ["'self'", "data:", "https://*.tile.openstreetmap.org"]
    assert policy["script-src"] == ["'self'"]
