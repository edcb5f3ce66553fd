"""Reference data over HTTP: provinces, cities with smart blocks, the taxonomy."""

from __future__ import annotations

import httpx

from tests.factories import World


async def test_provinces_are_the_official_77(client: httpx.AsyncClient, world: World) -> None:
    body = (await client.get("/v1/provinces")).json()
    assert body["count"] == 77
    assert {
        "code": "60",
        "name_th": "นครสวรรค์",
        "name_en": "Nakhon Sawan",
        "region": "north",
    } in body["data"]


async def test_city_page_lists_its_smart_blocks(client: httpx.AsyncClient, world: World) -> None:
    city = (await client.get("/v1/cities/nakhon-sawan")).json()
    assert city["province"]["code"] == "60"
    assert [b["slug"] for b in city["smart_blocks"]] == ["nakhon-sawan-old-market"]
    assert (await client.get("/v1/cities/atlantis")).status_code == 404
    cities = (await client.get("/v1/cities")).json()
    assert [c["slug"] for c in cities["data"]] == ["nakhon-sawan", "rayong"]


async def test_taxonomy_lists_sectors_with_parents(client: httpx.AsyncClient) -> None:
    body = (await client.get("/v1/taxonomy")).json()
    sectors = {s["slug"]: s for s in body["sectors"]}
    assert sectors["health-supply-chain"]["parent"] == "health"
    assert sectors["transport"]["parent"] is None
    assert sectors["agri-food-processing"]["name_th"] == "แปรรูปเกษตรและอาหาร"
    assert body["stages"][0] == "idea"
    assert body["stages"][-1] == "operating"
