"""Ranking both ways over HTTP, with reasons, removals and the gap report."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlmodel import Session

from tests.factories import (
    MARKET_LISTINGS,
    World,
    auth,
    create_and_publish,
    create_profile,
    listing_payload,
    profile_payload,
    snapshot,
    with_version,
)

INFRA: dict[str, Any] = {"kind": "infrastructure", "how_to_invest": [], "smart_block": None}
E_BUS: dict[str, Any] = {
    **INFRA,
    "slug": "e-bus",
    "city": "rayong",
    "sector": "public-transport",
    "title_th": "รถเมล์ไฟฟ้า",
    "title_en": "Electric buses",
    "stage": "feasibility-done",
    "capital_min_thb": 800_000_000,
    "capital_max_thb": 1_000_000_000,
    "investment_models": ["ppp"],
    "payback_years": 12,
    "expected_irr_pct": 9,
}


@pytest.fixture
async def market(client: httpx.AsyncClient, world: World) -> httpx.AsyncClient:
    for key, bodies in ((world.nakhon_sawan_key, MARKET_LISTINGS), (world.rayong_key, [E_BUS])):
        for body in bodies:
            created = await client.post(
                "/v1/listings", json=listing_payload(**body), headers=auth(key)
            )
            assert created.status_code == 201, created.text
            published = await client.post(
                f"/v1/listings/{body['slug']}/publish",
                headers=await with_version(client, f"/v1/listings/{body['slug']}", auth(key)),
            )
            assert published.status_code == 200, published.text
    return client


async def test_profile_sees_its_best_fits_with_reasons(
    market: httpx.AsyncClient, world: World
) -> None:
    profile_id = await create_profile(market, world.investor_key)
    response = await market.get(f"/v1/investors/{profile_id}/matches?explain=true&min_score=0")
    assert response.status_code == 200, response.text
    body = response.json()
    slugs = [m["listing"]["slug"] for m in body["data"]]
    assert slugs[0] == "fish-balls"
    assert "e-bus" not in slugs
    best = body["data"][0]
    assert 0 <= best["score"] <= 100
    assert all(0 <= v <= 1 for v in best["components"].values())
    reasons = {r["component"]: r for r in best["reasons"]}
    assert reasons["ticket"]["en"] == "capital THB 5M–12M is inside your THB 2M–20M ticket"
    assert reasons["ticket"]["th"] == "เงินลงทุน 5–12 ล้านบาท อยู่ในวงเงิน 2–20 ล้านบาท ของคุณ"
    assert reasons["geography"]["en"] == "in the north, a region you chose"
    assert "ลูกชิ้น" in reasons["text"]["th"]
    noodle = next(m for m in body["data"] if m["listing"]["slug"] == "noodle-shop")
    model = {r["component"]: r for r in noodle["reasons"]}["model"]
    assert model["en"] == "listing is franchise; you accept equity, joint venture only"
    removed = {x["listing_slug"]: x["constraint"] for x in body["excluded"]}
    assert removed == {"cold-store": "ticket", "e-bus": "ticket"}


async def test_hard_constraints_name_what_removed(market: httpx.AsyncClient, world: World) -> None:
    profile_id = await create_profile(
        market,
        world.investor_key,
        excluded_models=["equity", "joint-venture"],
        excluded_sectors=["retail-services"],
        stages=["ready-for-investment"],
    )
    body = (await market.get(f"/v1/investors/{profile_id}/matches?explain=true")).json()
    removed = {x["listing_slug"]: x["constraint"] for x in body["excluded"]}
    assert removed == {
        "fish-balls": "excluded_model",
        "noodle-shop": "excluded_sector",
        "cold-store": "ticket",
        "e-bus": "ticket",
    }
    assert body["data"] == []
    reason = next(x for x in body["excluded"] if x["listing_slug"] == "noodle-shop")["reason"]
    assert reason["en"] == "you exclude the Retail and services sector"


async def test_ties_break_by_listing_id(client: httpx.AsyncClient, world: World) -> None:
    ids = []
    for slug in ("twin-b", "twin-a"):
        created = await client.post(
            "/v1/listings", json=listing_payload(slug=slug), headers=auth(world.nakhon_sawan_key)
        )
        ids.append(created.json()["id"])
        await client.post(
            f"/v1/listings/{slug}/publish",
            headers=await with_version(
                client, f"/v1/listings/{slug}", auth(world.nakhon_sawan_key)
            ),
        )
    body = (await client.post("/v1/match", json=_try_body())).json()
    assert [m["listing"]["id"] for m in body["data"]] == sorted(ids)
    assert body["data"][0]["score"] == body["data"][1]["score"]


def _try_body(**overrides: Any) -> dict[str, Any]:
    profile = {
        k: v
        for k, v in profile_payload().items()
        if k not in ("name", "investor_type", "home_country", "languages", "discoverable")
    }
    return profile | overrides


async def test_visitor_tries_a_profile_without_saving(
    market: httpx.AsyncClient, session: Session
) -> None:
    before = snapshot(session)
    response = await market.post("/v1/match", json=_try_body(kind="trade", k=2, min_score=0))
    assert response.status_code == 200, response.text
    body = response.json()
    assert [m["listing"]["slug"] for m in body["data"]] == ["fish-balls", "noodle-shop"]
    assert body["count"] == 2
    assert snapshot(session) == before
    page_two = await market.post(
        "/v1/match", json=_try_body(kind="trade", k=1, offset=1, min_score=0)
    )
    assert [m["listing"]["slug"] for m in page_two.json()["data"]] == ["noodle-shop"]
    infra = await market.post("/v1/match", json=_try_body(kind="infrastructure"))
    assert infra.json()["count"] == 0


async def test_sector_filter_takes_a_sector_and_its_children_as_the_catalogue_does(
    market: httpx.AsyncClient, world: World
) -> None:
    await create_and_publish(
        market, world.nakhon_sawan_key, slug="warehouse", sector="logistics", title_en="Depot"
    )
    wide = {"ticket_min_thb": 1_000_000, "ticket_max_thb": 2_000_000_000, "min_irr_pct": None}

    async def matched(sector: str) -> set[str]:
        response = await market.post("/v1/match", json=_try_body(**wide, sector=sector, k=20))
        assert response.status_code == 200, response.text
        return {m["listing"]["slug"] for m in response.json()["data"]}

    assert await matched("logistics") == {"cold-store", "warehouse"}  # a parent: its children
    assert await matched("cold-chain") == {"cold-store"}  # a child: not its parent's own
    assert await matched("agriculture") == set()  # nor its siblings
    for sector in ("logistics", "cold-chain"):
        catalogue = await market.get("/v1/listings", params={"sector": sector})
        assert {item["slug"] for item in catalogue.json()["data"]} == await matched(sector)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"k": 0}, "k"),
        ({"k": 101}, "k"),
        ({"ticket_min_thb": 9, "ticket_max_thb": 1}, "ticket_max_thb"),
        ({"sector": "space"}, "sector"),
        ({"thesis": "x" * 5001}, "thesis"),
        ({"horizon_years": 0}, "horizon_years"),
        ({"provinces": ["00"]}, "provinces.0"),
        ({"province": "00"}, "province"),
        ({"province": "7"}, "province"),
    ],
)
async def test_bad_match_requests_are_422(
    client: httpx.AsyncClient, overrides: dict[str, Any], field: str
) -> None:
    response = await client.post("/v1/match", json=_try_body(**overrides))
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


async def test_publisher_sees_fitting_investors_and_gaps(
    market: httpx.AsyncClient, world: World
) -> None:
    fund = {
        "name": "EEC Transit Fund",
        "investor_type": "fund",
        "sectors": ["transport"],
        "regions": [],
        "provinces": ["21"],
        "ticket_min_thb": 500_000_000,
        "ticket_max_thb": 2_000_000_000,
        "models": ["ppp", "concession"],
        "stages": ["feasibility-done", "tendering"],
        "horizon_years": 15,
        "min_irr_pct": 8,
        "thesis": "electric buses for eastern cities",
    }
    await create_profile(market, world.investor_key, **fund)
    await create_profile(
        market, world.investor_key, **fund | {"name": "Late-stage Fund", "stages": ["tendering"]}
    )
    await create_profile(
        market, world.investor_key, **fund | {"name": "No PPP Fund", "excluded_models": ["ppp"]}
    )
    await create_profile(
        market, world.investor_key, **fund | {"name": "Hidden Fund", "discoverable": False}
    )
    response = await market.get("/v1/listings/e-bus/investors", headers=auth(world.rayong_key))
    assert response.status_code == 200, response.text
    body = response.json()
    assert [m["investor"]["name"] for m in body["data"]] == ["EEC Transit Fund"]
    gaps = {g["change"]: g["investors_gained"] for g in body["gaps"]}
    assert gaps["stage:tendering"] == 1
    assert gaps["model:concession"] == 1
    tendering = next(g for g in body["gaps"] if g["change"] == "stage:tendering")
    assert tendering["en"] == "reach stage tendering"
    other = await market.get("/v1/listings/e-bus/investors", headers=auth(world.nakhon_sawan_key))
    assert other.status_code == 403


async def test_weak_fits_are_not_padding(market: httpx.AsyncClient, world: World) -> None:
    """Below the minimum score a listing is left out of the page and of the count: the
    threshold by default, the profile's own minimum, or the one asked for."""
    every = (await market.post("/v1/match", json=_try_body(min_score=0, k=50))).json()
    scores = {m["listing"]["slug"]: m["score"] for m in every["data"]}
    assert min(scores.values()) < 55 < max(scores.values()), scores  # the data shows both

    default = (await market.post("/v1/match", json=_try_body(k=50))).json()
    assert default["min_score"] == 55
    assert {m["listing"]["slug"] for m in default["data"]} == {
        slug for slug, score in scores.items() if score >= 55
    }
    assert default["count"] == len(default["data"])

    profile_id = await create_profile(market, world.investor_key, min_score=0)
    own = (await market.get(f"/v1/investors/{profile_id}/matches?k=50")).json()
    assert own["min_score"] == 0
    assert {m["listing"]["slug"] for m in own["data"]} == set(scores)
    asked = (await market.get(f"/v1/investors/{profile_id}/matches?k=50&min_score=70")).json()
    assert all(m["score"] >= 70 for m in asked["data"])
    assert asked["count"] == sum(1 for s in scores.values() if s >= 70)


async def test_a_minimal_profile_means_any(market: httpx.AsyncClient) -> None:
    """Whatever the visitor leaves out matches anything: no models, stages, horizon or
    ticket sent is not an error and removes nothing."""
    body = (await market.post("/v1/match", json={"min_score": 0, "k": 50})).json()
    assert body["count"] == len(MARKET_LISTINGS) + 1  # every published listing
    fish = next(m for m in body["data"] if m["listing"]["slug"] == "fish-balls")
    reasons = {r["component"]: r["en"] for r in fish["reasons"]}
    assert reasons["model"] == "you accept any model"
    assert reasons["horizon"] == "you set no horizon"
    assert fish["components"]["stage"] == 1.0


async def test_what_would_widen_the_list_is_proven(market: httpx.AsyncClient) -> None:
    """Each suggestion, applied, matches exactly as many more listings as it says."""
    narrow = _try_body(models=["equity"], stages=["ready-for-investment"], min_score=40, k=50)
    body = (await market.post("/v1/match", json=narrow | {"widen": True})).json()
    widenings = body["widenings"]
    assert widenings, body
    assert [w["listings_gained"] for w in widenings] == sorted(
        (w["listings_gained"] for w in widenings), reverse=True
    )
    for widening in widenings:
        kind, _, value = widening["change"].partition(":")
        changed = dict(narrow)
        if kind == "stage":
            changed["stages"] = [*narrow["stages"], value]
        elif kind == "model":
            changed["models"] = [*narrow["models"], value]
        elif kind == "min-score":
            changed["min_score"] = narrow["min_score"] - 10
        else:
            continue
        wider = (await market.post("/v1/match", json=changed)).json()
        assert wider["count"] == body["count"] + widening["listings_gained"], widening
        assert widening["th"]
        assert widening["en"]
    assert all("concession" not in w["change"] or "สัมปทาน" in w["th"] for w in widenings)
