"""The maps over HTTP: the JSON that the catalogue, a city's page and a pitch page hand to
``static/map.js`` holds the right listings where they are, the smart block's boundary
where the city drew one, and cannot be broken out of by a listing's title."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Connection
from sqlmodel import Session, select

from api.main import build_services, create_app
from catalog.models import City, SmartBlock
from catalog.search.tantivy_engine import TantivyIndex
from core.db import Database
from core.settings import Settings, get_settings
from matching.matrix import MatrixStore
from tests.factories import World, auth, create_and_publish, listing_payload

SQUARE = {
    "type": "Polygon",
    "coordinates": [
        [[100.13, 15.69], [100.14, 15.69], [100.14, 15.70], [100.13, 15.70], [100.13, 15.69]]
    ],
}
MAP_DATA = re.compile(r'<script type="application/json" id="map-data">(.*?)</script>', re.S)


def map_data(html: str) -> dict[str, Any] | None:
    found = MAP_DATA.findall(html)
    assert len(found) <= 1
    if not found:
        return None
    data: dict[str, Any] = json.loads(found[0])
    return data


def draw_boundary(session: Session, slug: str, boundary: Any) -> None:
    block = session.exec(select(SmartBlock).where(SmartBlock.slug == slug)).one()
    block.boundary = boundary
    session.add(block)
    session.commit()


@pytest.fixture
async def listings(client: httpx.AsyncClient, world: World, session: Session) -> None:
    """Two listings in Nakhon Sawan's old market (a block with a boundary), one in
    Nakhon Sawan with no block, one in Rayong, and a draft in the old market."""
    draw_boundary(session, "nakhon-sawan-old-market", SQUARE)
    await create_and_publish(client, world.nakhon_sawan_key)
    await create_and_publish(
        client,
        world.nakhon_sawan_key,
        slug="guesthouse",
        title_th="เกสต์เฮาส์ตลาดเก่า",
        title_en="Old market guesthouse",
    )
    await create_and_publish(
        client,
        world.nakhon_sawan_key,
        slug="city-data",
        smart_block=None,
        title_th="แพลตฟอร์มข้อมูลเมือง",
        title_en="City data platform",
    )
    await create_and_publish(
        client,
        world.rayong_key,
        slug="rayong-parking",
        city="rayong",
        smart_block="rayong-riverfront",
        title_th="ที่จอดรถอัจฉริยะ",
        title_en="Smart parking",
    )
    draft = listing_payload(slug="secret-plan", title_en="Secret plan", title_th="แผนลับ")
    created = await client.post("/v1/listings", json=draft, headers=auth(world.nakhon_sawan_key))
    assert created.status_code == 201


def by_name(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {city["name"]: city for city in data["cities"]}


def titles(place: dict[str, Any]) -> list[str]:
    return [listing["title"] for listing in place["listings"]]


@pytest.mark.usefixtures("listings")
async def test_catalogue_map_places_each_result(client: httpx.AsyncClient) -> None:
    page = await client.get("/", params={"lang": "en"})
    data = map_data(page.text)
    assert data is not None
    assert data["tiles"] == {"url": "", "attribution": ""}  # none configured: plain background
    assert data["region"] == "/static/map/region.geojson"
    cities = by_name(data)
    assert set(cities) == {"Nakhon Sawan", "Rayong"}

    nakhon_sawan = cities["Nakhon Sawan"]
    assert (nakhon_sawan["lat"], nakhon_sawan["lon"], nakhon_sawan["href"]) == (
        15.7,
        100.1,
        "/cities/nakhon-sawan",
    )
    block, centre = sorted(nakhon_sawan["places"], key=lambda place: place["name"] is None)
    assert block["name"] == "Old Market"
    assert (block["lat"], block["lon"]) == (pytest.approx(15.695), pytest.approx(100.135))
    assert sorted(titles(block)) == ["Fish-ball factory", "Old market guesthouse"]
    assert block["boundary"] is None  # the catalogue is zoomed out: no outlines to draw
    assert {listing["href"] for listing in block["listings"]} == {
        "/listings/fish-ball-factory",
        "/listings/guesthouse",
    }
    assert centre["name"] is None  # no block: the city centre
    assert (centre["lat"], centre["lon"]) == (15.7, 100.1)
    assert titles(centre) == ["City data platform"]

    (riverfront,) = cities["Rayong"]["places"]  # a block with no boundary: the city centre
    assert riverfront["name"] is None
    assert titles(riverfront) == ["Smart parking"]
    assert "Secret plan" not in page.text


@pytest.mark.usefixtures("listings")
async def test_catalogue_map_speaks_the_readers_language(client: httpx.AsyncClient) -> None:
    data = map_data((await client.get("/", params={"lang": "th"})).text)
    assert data is not None
    cities = by_name(data)
    assert set(cities) == {"เทศบาลนครนครสวรรค์", "เทศบาลนครระยอง"}
    places = cities["เทศบาลนครนครสวรรค์"]["places"]
    assert {title for place in places for title in titles(place)} == {
        "โรงงานผลิตลูกชิ้นปลา",
        "เกสต์เฮาส์ตลาดเก่า",
        "แพลตฟอร์มข้อมูลเมือง",
    }
    assert {place["name"] for place in places} == {"ย่านตลาดเก่า", None}


@pytest.mark.usefixtures("listings")
async def test_catalogue_map_follows_the_search_and_the_page(client: httpx.AsyncClient) -> None:
    narrowed = map_data((await client.get("/", params={"city": "rayong", "lang": "en"})).text)
    assert narrowed is not None
    assert list(by_name(narrowed)) == ["Rayong"]
    first = map_data((await client.get("/", params={"limit": 1, "sort": "newest"})).text)
    second = map_data(
        (await client.get("/", params={"limit": 1, "offset": 1, "sort": "newest"})).text
    )
    assert first is not None
    assert second is not None
    hrefs = [
        [listing["href"] for c in data["cities"] for p in c["places"] for listing in p["listings"]]
        for data in (first, second)
    ]
    assert len(hrefs[0]) == len(hrefs[1]) == 1
    assert hrefs[0] != hrefs[1]
    nothing = await client.get("/", params={"q": "zeppelin hangar"})
    assert map_data(nothing.text) is None
    assert 'id="map"' not in nothing.text


@pytest.mark.usefixtures("listings")
async def test_city_page_maps_its_listings_with_their_boundaries(
    client: httpx.AsyncClient,
) -> None:
    data = map_data((await client.get("/cities/nakhon-sawan", params={"lang": "en"})).text)
    assert data is not None
    (city,) = data["cities"]
    assert city["name"] == "Nakhon Sawan"
    block = next(place for place in city["places"] if place["name"] == "Old Market")
    assert block["boundary"] == SQUARE
    assert sorted(titles(block)) == ["Fish-ball factory", "Old market guesthouse"]
    all_titles = {title for place in city["places"] for title in titles(place)}
    assert all_titles == {"Fish-ball factory", "Old market guesthouse", "City data platform"}
    rayong = map_data((await client.get("/cities/rayong", params={"lang": "en"})).text)
    assert rayong is not None
    assert [c["name"] for c in rayong["cities"]] == ["Rayong"]


@pytest.mark.usefixtures("listings")
async def test_pitch_page_draws_the_smart_block_boundary(client: httpx.AsyncClient) -> None:
    page = await client.get("/listings/guesthouse", params={"lang": "en"})
    data = map_data(page.text)
    assert data is not None
    ((place,),) = [city["places"] for city in data["cities"]]
    assert place["boundary"] == SQUARE
    assert place["name"] == "Old Market"
    assert (place["lat"], place["lon"]) == (pytest.approx(15.695), pytest.approx(100.135))
    assert place["listings"] == [{"title": "Old market guesthouse", "href": "/listings/guesthouse"}]
    # The map is an enhancement: hidden until the script shows it, the text says where.
    assert re.search(r"<div class=\"map-section noprint\" data-map-section hidden>", page.text)
    assert "Old Market" in page.text.split('id="map-data"')[0]

    no_block = map_data((await client.get("/listings/city-data", params={"lang": "en"})).text)
    assert no_block is not None
    ((centre,),) = [city["places"] for city in no_block["cities"]]
    assert (centre["lat"], centre["lon"], centre["boundary"]) == (15.7, 100.1, None)


async def test_a_malformed_boundary_is_left_off_the_map(
    client: httpx.AsyncClient, world: World, session: Session
) -> None:
    draw_boundary(session, "nakhon-sawan-old-market", {"type": "Polygon", "coordinates": "x"})
    await create_and_publish(client, world.nakhon_sawan_key)
    page = await client.get("/listings/fish-ball-factory", params={"lang": "en"})
    assert page.status_code == 200
    data = map_data(page.text)
    assert data is not None
    ((place,),) = [city["places"] for city in data["cities"]]
    assert (place["lat"], place["lon"], place["boundary"]) == (15.7, 100.1, None)


async def test_a_city_without_coordinates_puts_no_map_on_the_page(
    client: httpx.AsyncClient, world: World, session: Session
) -> None:
    city = session.exec(select(City).where(City.slug == "nakhon-sawan")).one()
    city.lat = city.lon = None
    session.add(city)
    session.commit()
    await create_and_publish(client, world.nakhon_sawan_key)  # old market: no boundary
    page = await client.get("/listings/fish-ball-factory")
    assert page.status_code == 200
    assert map_data(page.text) is None
    assert "/static/map.js" not in page.text
    # With a boundary, the block's centre stands in for the city's.
    draw_boundary(session, "nakhon-sawan-old-market", SQUARE)
    data = map_data((await client.get("/listings/fish-ball-factory")).text)
    assert data is not None
    (mapped,) = data["cities"]
    assert (mapped["lat"], mapped["lon"]) == (pytest.approx(15.695), pytest.approx(100.135))


EVIL_TITLES = [
    "</script><script>alert(1)</script>",
    "</SCRIPT ><img src=x onerror=alert(1)>",
    "<!--<script>",
    "' \" & \u2028 \\u003c/script>",
]


@pytest.mark.parametrize("title", EVIL_TITLES)
async def test_a_title_cannot_break_out_of_the_map_data(
    client: httpx.AsyncClient, world: World, session: Session, title: str
) -> None:
    draw_boundary(session, "nakhon-sawan-old-market", SQUARE)
    await create_and_publish(client, world.nakhon_sawan_key, slug="evil", title_en=title)
    for url in ("/?lang=en", "/cities/nakhon-sawan?lang=en", "/listings/evil?lang=en"):
        page = await client.get(url)
        assert page.status_code == 200
        script = page.text.split('<script type="application/json" id="map-data">', 1)[1]
        body = script.split("</script>", 1)[0]
        assert "<" not in body  # nothing the HTML parser could act on
        assert ">" not in body
        data = json.loads(body)
        mapped = [
            lst["title"] for c in data["cities"] for p in c["places"] for lst in p["listings"]
        ]
        assert mapped == [title]  # the title survives exactly, as data


@pytest.fixture
def tiled_app(connection: Connection, tantivy_index: TantivyIndex) -> FastAPI:
    settings = get_settings().model_copy(
        update={
            "map_tile_url": "https://tiles.example/{z}/{x}/{y}.png",
            "map_tile_attribution": "© OpenStreetMap contributors",
        }
    )
    services = build_services(
        settings,
        database=Database(connection, join_transaction_mode="create_savepoint"),
        search=tantivy_index,
        matrices=MatrixStore(),
    )
    return create_app(services=services)


@pytest.fixture
async def tiled_client(tiled_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=tiled_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_a_tile_server_is_handed_to_the_map(
    tiled_client: httpx.AsyncClient, world: World
) -> None:
    await create_and_publish(tiled_client, world.nakhon_sawan_key)
    data = map_data((await tiled_client.get("/listings/fish-ball-factory")).text)
    assert data is not None
    assert data["tiles"] == {
        "url": "https://tiles.example/{z}/{x}/{y}.png",
        "attribution": "© OpenStreetMap contributors",
    }


@pytest.mark.parametrize(
    "url",
    ["tiles.example/{z}/{x}/{y}.png", "https://tiles.example/{z}/{x}.png", "javascript:{z}{x}{y}"],
)
def test_settings_refuse_a_tile_url_that_cannot_be_one(url: str) -> None:
    with pytest.raises(ValueError, match="CITYDEAL_MAP_TILE_URL"):
        Settings(map_tile_url=url)


def test_settings_take_a_tile_url() -> None:
    assert Settings(map_tile_url="https://t.example/{z}/{x}/{y}.png").map_tile_url.endswith(".png")
    assert Settings().map_tile_url == ""  # the default: no tiles, nothing fetched
