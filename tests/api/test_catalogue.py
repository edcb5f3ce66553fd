"""Reading the public catalogue: filters, ticket-range overlap, sorting, pagination."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import World, auth, listing_payload, with_version

LISTINGS: list[dict[str, Any]] = [
    {
        "slug": "ns-fish-balls",
        "kind": "trade",
        "sector": "agri-food-processing",
        "stage": "ready-for-investment",
        "capital_min_thb": 5_000_000,
        "capital_max_thb": 12_000_000,
        "investment_models": ["equity"],
    },
    {
        "slug": "ns-smart-poles",
        "kind": "infrastructure",
        "sector": "digital-infrastructure",
        "stage": "tendering",
        "capital_min_thb": 200_000_000,
        "capital_max_thb": 350_000_000,
        "investment_models": ["concession", "ppp"],
        "how_to_invest": [],
        "smart_block": None,
    },
    {
        "slug": "ns-e-bus",
        "kind": "infrastructure",
        "sector": "public-transport",
        "stage": "feasibility-done",
        "capital_min_thb": 800_000_000,
        "capital_max_thb": 1_200_000_000,
        "investment_models": ["ppp"],
        "how_to_invest": [],
    },
]


@pytest.fixture
async def catalogue(client: httpx.AsyncClient, world: World) -> None:
    key = auth(world.nakhon_sawan_key)
    for listing in LISTINGS:
        created = await client.post("/v1/listings", json=listing_payload(**listing), headers=key)
        assert created.status_code == 201, created.text
        published = await client.post(
            f"/v1/listings/{listing['slug']}/publish",
            headers=await with_version(client, f"/v1/listings/{listing['slug']}", key),
        )
        assert published.status_code == 200, published.text
    rayong = {
        "slug": "rayong-health-hub",
        "city": "rayong",
        "smart_block": "rayong-riverfront",
        "kind": "infrastructure",
        "sector": "health-supply-chain",
        "stage": "pre-feasibility",
        "capital_min_thb": 300_000_000,
        "capital_max_thb": 500_000_000,
        "investment_models": ["ppp", "bot"],
        "how_to_invest": [],
    }
    key = auth(world.rayong_key)
    assert (
        await client.post("/v1/listings", json=listing_payload(**rayong), headers=key)
    ).status_code == 201
    assert (
        await client.post(
            "/v1/listings/rayong-health-hub/publish",
            headers=await with_version(client, "/v1/listings/rayong-health-hub", key),
        )
    ).status_code == 200
    draft = listing_payload(slug="rayong-draft", city="rayong", smart_block=None)
    assert (await client.post("/v1/listings", json=draft, headers=key)).status_code == 201


async def _slugs(client: httpx.AsyncClient, query: str) -> list[str]:
    response = await client.get(f"/v1/listings?{query}")
    assert response.status_code == 200, response.text
    return sorted(item["slug"] for item in response.json()["data"])


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["ns-e-bus", "ns-fish-balls", "ns-smart-poles", "rayong-health-hub"]),
        ("kind=trade", ["ns-fish-balls"]),
        ("sector=public-transport", ["ns-e-bus"]),
        ("province=21", ["rayong-health-hub"]),
        ("city=nakhon-sawan", ["ns-e-bus", "ns-fish-balls", "ns-smart-poles"]),
        ("smart_block=nakhon-sawan-old-market", ["ns-e-bus", "ns-fish-balls"]),
        ("stage=tendering", ["ns-smart-poles"]),
        ("model=ppp", ["ns-e-bus", "ns-smart-poles", "rayong-health-hub"]),
        ("model=ppp&province=60", ["ns-e-bus", "ns-smart-poles"]),
        # Ticket ranges overlap the capital range, touching at the edge included.
        ("capital_min=10000000&capital_max=250000000", ["ns-fish-balls", "ns-smart-poles"]),
        ("capital_min=1200000000", ["ns-e-bus"]),
        ("capital_max=4999999", []),
        ("province=10", []),
    ],
)
async def test_filters(client: httpx.AsyncClient, query: str, expected: list[str]) -> None:
    assert await _slugs(client, query) == expected


@pytest.mark.usefixtures("catalogue")
async def test_sorting_and_pagination(client: httpx.AsyncClient) -> None:
    ascending = (await client.get("/v1/listings?sort=capital_asc")).json()
    assert [i["slug"] for i in ascending["data"]] == [
        "ns-fish-balls",
        "ns-smart-poles",
        "rayong-health-hub",
        "ns-e-bus",
    ]
    pages = []
    for offset in (0, 2):
        page = (await client.get(f"/v1/listings?sort=capital_desc&limit=2&offset={offset}")).json()
        assert page["count"] == 4
        pages += [i["slug"] for i in page["data"]]
    assert pages == ["ns-e-bus", "rayong-health-hub", "ns-smart-poles", "ns-fish-balls"]
    newest = (await client.get("/v1/listings?limit=1")).json()
    assert newest["data"][0]["slug"] == "rayong-health-hub"
