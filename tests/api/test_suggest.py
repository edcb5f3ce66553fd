"""Suggestions as someone types in the search box: titles from the index (the word being
typed matching as a prefix, in Thai too), then sectors and cities, each with its page."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import World, create_and_publish


@pytest.fixture
async def published(client: httpx.AsyncClient, world: World) -> httpx.AsyncClient:
    await create_and_publish(client, world.nakhon_sawan_key)
    return client


async def _suggest(client: httpx.AsyncClient, q: str) -> list[dict[str, str]]:
    response = await client.get("/v1/suggest", params={"q": q})
    assert response.status_code == 200, response.text
    data: list[dict[str, str]] = response.json()["data"]
    return data


async def test_half_typed_thai_suggests_the_listing(published: httpx.AsyncClient) -> None:
    [first, *_] = await _suggest(published, "ลูกชิ้")
    assert first["kind"] == "listing"
    assert first["href"] == "/listings/fish-ball-factory"
    assert "ลูกชิ้น" in first["label_th"]


async def test_names_of_sectors_and_cities_in_either_language(
    published: httpx.AsyncClient,
) -> None:
    cities = [s for s in await _suggest(published, "nakh") if s["kind"] == "city"]
    assert [c["href"] for c in cities] == ["/cities/nakhon-sawan"]
    thai = [s for s in await _suggest(published, "นครสว") if s["kind"] == "city"]
    assert [c["href"] for c in thai] == ["/cities/nakhon-sawan"]
    sectors = [s for s in await _suggest(published, "touri") if s["kind"] == "sector"]
    assert sectors
    assert all(s["href"].startswith("/?sector=") for s in sectors)


async def test_nothing_typed_nothing_suggested_and_bad_input_is_named(
    published: httpx.AsyncClient,
) -> None:
    assert await _suggest(published, "   ") == []
    too_long = await published.get("/v1/suggest", params={"q": "ก" * 201})
    assert too_long.status_code == 422
    assert too_long.json()["field"] == "q"


async def test_the_catalogue_page_offers_suggestions_without_inline_script(
    published: httpx.AsyncClient,
) -> None:
    page = await published.get("/")
    assert '<datalist id="suggestions">' in page.text
    assert '<script src="/static/suggest.js" defer></script>' in page.text
    script = await published.get("/static/suggest.js")
    assert script.status_code == 200
    assert "/v1/suggest" in script.text
