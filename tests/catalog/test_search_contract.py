"""The search contract, run over HTTP against every engine available.

Listings are created and published through the API, so each test also exercises the
change log and the catch-up that follows a commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import Session

from api.deps import get_search_index
from api.main import build_services, create_app
from catalog.search.base import SearchIndex
from core.db import Database, make_engine
from core.settings import get_settings
from tests.factories import (
    ENGINES,
    World,
    auth,
    build_world,
    listing_payload,
    new_search_index,
    with_version,
)

NS = "nakhon-sawan"
INFRA: dict[str, Any] = {"kind": "infrastructure", "how_to_invest": [], "smart_block": None}

CATALOGUE: list[tuple[str, dict[str, Any]]] = [
    ("ns", {"slug": "fish-balls"}),
    (
        "ns",
        {
            **INFRA,
            "slug": "smart-poles",
            "sector": "digital-infrastructure",
            "stage": "tendering",
            "title_th": "เสาอัจฉริยะเพื่อการสื่อสาร",
            "title_en": "Smart communication poles",
            "summary_th": "เสาไฟอัจฉริยะพร้อมกล้องและไวไฟ",
            "summary_en": "Poles with cameras and Wi-Fi.",
            "description_th": "ติดตั้งเสาอัจฉริยะในย่านตลาดเก่า",
            "description_en": "Install smart poles downtown.",
            "capital_min_thb": 200_000_000,
            "capital_max_thb": 300_000_000,
            "investment_models": ["concession", "ppp"],
        },
    ),
    (
        "ns",
        {
            **INFRA,
            "slug": "downstream-wastewater",
            "sector": "water-management",
            "title_th": "บำบัดน้ำเสียปลายน้ำ",
            "title_en": "Downstream wastewater treatment",
            "summary_th": "ระบบบำบัดน้ำเสียปลายน้ำของเทศบาล",
            "summary_en": "Municipal wastewater.",
            "description_th": "ก่อสร้างระบบบำบัดน้ำเสียปลายน้ำ",
            "description_en": "A treatment plant at the river's end.",
            "capital_min_thb": 400_000_000,
            "capital_max_thb": 600_000_000,
            "investment_models": ["bot"],
            "stage": "idea",
        },
    ),
    (
        "ns",
        {
            "slug": "polar-cold-store",
            "sector": "cold-chain",
            "title_th": "ห้องเย็นโพลาร์",
            "title_en": "Polar cold store",
            "summary_th": "ห้องเย็นสำหรับโรงงานอาหาร",
            "summary_en": "Cold storage for food factories.",
            "description_th": "ห้องเย็นขนาด 2,000 ตัน",
            "description_en": "A 2,000-tonne cold store.",
            "capital_min_thb": 30_000_000,
            "capital_max_thb": 60_000_000,
            "investment_models": ["debt"],
        },
    ),
    (
        "rayong",
        {
            **INFRA,
            "slug": "rayong-e-bus",
            "city": "rayong",
            "sector": "public-transport",
            "title_th": "ระบบรถเมล์ไฟฟ้าในเมือง",
            "title_en": "Electric city bus system",
            "summary_th": "รถเมล์ไฟฟ้า 40 คัน",
            "summary_en": "Forty electric buses.",
            "description_th": "เดินรถเมล์ไฟฟ้าสามเส้นทาง",
            "description_en": "Three routes <script>alert(1)</script>.",
            "capital_min_thb": 800_000_000,
            "capital_max_thb": 1_000_000_000,
            "investment_models": ["ppp"],
            "stage": "feasibility-done",
        },
    ),
    (
        "rayong",
        {
            **INFRA,
            "slug": "rayong-solar",
            "city": "rayong",
            "sector": "renewable-energy",
            "title_th": "โซลาร์รูฟท็อปอาคารเทศบาล",
            "title_en": "Solar rooftops <b>now</b>",
            "summary_th": "ติดตั้งแผงโซลาร์บนหลังคา",
            "summary_en": "Rooftop solar panels.",
            "description_th": "ผลิตไฟฟ้าใช้เอง",
            "description_en": "Self-consumption power.",
            "capital_min_thb": 50_000_000,
            "capital_max_thb": 90_000_000,
            "investment_models": ["equity", "ppp"],
            "stage": "ready-for-investment",
        },
    ),
]


@pytest.fixture
async def engine_client(
    app: FastAPI, search_index: SearchIndex
) -> AsyncIterator[httpx.AsyncClient]:
    app.dependency_overrides[get_search_index] = lambda: search_index
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def _publish_catalogue(engine_client: httpx.AsyncClient, world: World) -> httpx.AsyncClient:
    keys = {"ns": world.nakhon_sawan_key, "rayong": world.rayong_key}
    for owner, fields in CATALOGUE:
        overrides = {"smart_block": None} if owner == "rayong" else {}
        body = listing_payload(**{**overrides, **fields})
        created = await engine_client.post("/v1/listings", json=body, headers=auth(keys[owner]))
        assert created.status_code == 201, created.text
        slug = created.json()["slug"]
        published = await engine_client.post(
            f"/v1/listings/{slug}/publish",
            headers=await with_version(engine_client, f"/v1/listings/{slug}", auth(keys[owner])),
        )
        assert published.status_code == 200, published.text
    draft = listing_payload(slug="secret-draft", title_en="Secret fish-ball draft")
    assert (
        await engine_client.post("/v1/listings", json=draft, headers=auth(world.nakhon_sawan_key))
    ).status_code == 201
    return engine_client


@pytest.fixture
async def catalogue(engine_client: httpx.AsyncClient, world: World) -> httpx.AsyncClient:
    """The catalogue in the test's own transaction: for tests that change it."""
    return await _publish_catalogue(engine_client, world)


@pytest.fixture(scope="module", params=ENGINES)
async def shared(
    request: pytest.FixtureRequest,
    module_database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[httpx.AsyncClient]:
    """The same catalogue, built once per module and engine in a database of the module's
    own, for the tests that only read it."""
    index = new_search_index(request.param, tmp_path_factory.mktemp("shared-search"))
    engine = make_engine(module_database_url)
    with Session(engine) as session:
        world = build_world(session)
        session.commit()
    services = build_services(get_settings(), database=Database(engine), search=index)
    transport = httpx.ASGITransport(app=create_app(services=services))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield await _publish_catalogue(client, world)
    index.close()
    engine.dispose()


async def _search(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/search", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _slugs(client: httpx.AsyncClient, **params: Any) -> list[str]:
    return [hit["listing"]["slug"] for hit in (await _search(client, **params))["hits"]]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("ลูกชิ้น", ["fish-balls"]),
        ("ลูกชิ้นปลา", ["fish-balls"]),
        ("รถเมล์", ["rayong-e-bus"]),
        ("รถเมล์ไฟฟ้า", ["rayong-e-bus"]),
        ("เสาอัจฉริยะ", ["smart-poles"]),
        # ปลา (fish) must not match ปลายน้ำ (downstream) though it starts with the same letters
        ("ปลา", ["fish-balls"]),
        ("BUSES", ["rayong-e-bus"]),
        ("electric buses", ["rayong-e-bus"]),
        ("Nakhon Sawann", None),  # a typo: checked below
        ("fihsball", ["fish-balls"]),
        ("fish ball", ["fish-balls"]),
        ("wastewater treatment", ["downstream-wastewater"]),
        ("ระยอง", ["rayong-e-bus", "rayong-solar"]),
        ("secret", []),
    ],
)
async def test_text_matching(shared: httpx.AsyncClient, q: str, expected: list[str] | None) -> None:
    found = await _slugs(shared, q=q)
    if expected is None:
        assert {"fish-balls", "smart-poles", "downstream-wastewater", "polar-cold-store"} <= set(
            found
        )
        assert not {"rayong-e-bus", "rayong-solar"} & set(found)
    else:
        assert sorted(found) == sorted(expected)


async def test_plural_and_title_boost(shared: httpx.AsyncClient) -> None:
    # "factories" is in the cold store's summary; "factory" is in the fish-ball title.
    found = await _slugs(shared, q="factories")
    assert found[:2] == ["fish-balls", "polar-cold-store"]


async def test_exact_match_ranks_above_typo(shared: httpx.AsyncClient) -> None:
    found = await _slugs(shared, q="solar ")  # finished word: no prefix matching
    assert found[0] == "rayong-solar"
    assert "polar-cold-store" in found  # one typo away


async def test_last_word_matches_as_prefix(shared: httpx.AsyncClient) -> None:
    assert "fish-balls" in await _slugs(shared, q="fish facto")
    assert await _slugs(shared, q="elec") == ["rayong-e-bus"]
    assert await _slugs(shared, q="elec ") == []  # a finished word is not a prefix


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"kind": "trade"}, ["fish-balls", "polar-cold-store"]),
        ({"sector": "transport"}, ["rayong-e-bus"]),  # parent sector covers public-transport
        ({"city": "rayong"}, ["rayong-e-bus", "rayong-solar"]),
        ({"province": "60", "model": "ppp"}, ["smart-poles"]),
        ({"stage": "idea"}, ["downstream-wastewater"]),
        ({"smart_block": "nakhon-sawan-old-market"}, ["fish-balls", "polar-cold-store"]),
        (
            {"capital_min": 60_000_000, "capital_max": 250_000_000},
            ["polar-cold-store", "rayong-solar", "smart-poles"],
        ),
        ({"q": "ไฟฟ้า", "city": "rayong"}, ["rayong-e-bus", "rayong-solar"]),
    ],
)
async def test_filters(
    shared: httpx.AsyncClient, params: dict[str, Any], expected: list[str]
) -> None:
    assert sorted(await _slugs(shared, **params)) == expected


async def test_facets_count_the_filtered_result(shared: httpx.AsyncClient) -> None:
    everything = await _search(shared)
    assert everything["count"] == 6
    assert everything["facets"]["kind"] == {"infrastructure": 4, "trade": 2}
    assert everything["facets"]["city"] == {"nakhon-sawan": 4, "rayong": 2}
    assert everything["facets"]["model"]["ppp"] == 3
    in_rayong = await _search(shared, city="rayong")
    assert in_rayong["facets"]["sector"] == {"public-transport": 1, "renewable-energy": 1}
    assert in_rayong["facets"]["province"] == {"21": 2}


async def test_sorting_and_pagination(shared: httpx.AsyncClient) -> None:
    ascending = await _slugs(shared, sort="capital_asc")
    assert ascending == [
        "fish-balls",
        "polar-cold-store",
        "rayong-solar",
        "smart-poles",
        "downstream-wastewater",
        "rayong-e-bus",
    ]
    descending = await _slugs(shared, sort="capital_desc")
    assert descending[0] == "rayong-e-bus"
    newest = await _slugs(shared)  # empty query browses newest first
    assert newest[0] == "rayong-solar"
    pages = []
    for offset in (0, 4):
        page = await _search(shared, sort="capital_asc", limit=4, offset=offset)
        assert page["count"] == 6
        pages += [hit["listing"]["slug"] for hit in page["hits"]]
    assert pages == ascending


async def test_highlights_mark_matches_and_escape_text(shared: httpx.AsyncClient) -> None:
    hits = (await _search(shared, q="ลูกชิ้น"))["hits"]
    assert hits[0]["highlights"]["title_th"] == "โรงงานผลิต<mark>ลูกชิ้น</mark>ปลา"
    solar = (await _search(shared, q="solar"))["hits"][0]
    assert solar["highlights"]["title_en"] == "<mark>Solar</mark> rooftops &lt;b&gt;now&lt;/b&gt;"
    typo = (await _search(shared, q="fihsball"))["hits"][0]
    assert "<mark>Fish-ball</mark>" in typo["highlights"]["title_en"]


async def test_archived_listing_leaves_the_index(
    catalogue: httpx.AsyncClient, world: World
) -> None:
    assert await _slugs(catalogue, q="ลูกชิ้น") == ["fish-balls"]
    archived = await catalogue.post(
        "/v1/listings/fish-balls/archive",
        headers=await with_version(
            catalogue, "/v1/listings/fish-balls", auth(world.nakhon_sawan_key)
        ),
    )
    assert archived.status_code == 200
    assert await _slugs(catalogue, q="ลูกชิ้น") == []
    republished = await catalogue.post(
        "/v1/listings/fish-balls/publish",
        headers=await with_version(
            catalogue, "/v1/listings/fish-balls", auth(world.nakhon_sawan_key)
        ),
    )
    assert republished.status_code == 200
    assert await _slugs(catalogue, q="ลูกชิ้น") == ["fish-balls"]


async def test_edits_are_searchable_at_once(catalogue: httpx.AsyncClient, world: World) -> None:
    edited = await catalogue.patch(
        "/v1/listings/smart-poles",
        json={"title_en": "Smart lamp posts with 5G"},
        headers={**auth(world.nakhon_sawan_key), "If-Match": '"v2"'},
    )
    assert edited.status_code == 200, edited.text
    assert await _slugs(catalogue, q="lamp posts") == ["smart-poles"]
    assert await _slugs(catalogue, q="communication poles") == []
