"""Bad input gets a 4xx naming the field, never a 500, and changes nothing stored."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlmodel import Session

from tests.factories import World, auth, create_and_publish, listing_payload, snapshot


async def _seed_published(client: httpx.AsyncClient, world: World) -> None:
    await create_and_publish(client, world.nakhon_sawan_key)


CREATE_CASES: list[tuple[str, dict[str, Any], int, str]] = [
    ("unknown city", {"city": "atlantis"}, 422, "city"),
    ("unknown sector", {"sector": "space-mining"}, 422, "sector"),
    ("unknown stage", {"stage": "dreaming"}, 422, "stage"),
    ("unknown model", {"investment_models": ["barter"]}, 422, "investment_models.0"),
    ("no model", {"investment_models": []}, 422, "investment_models"),
    ("capital min above max", {"capital_min_thb": 9, "capital_max_thb": 1}, 422, "capital_min_thb"),
    ("negative capital", {"capital_min_thb": -5}, 422, "capital_min_thb"),
    ("absurd capital", {"capital_max_thb": 10**19}, 422, "capital_max_thb"),
    ("block outside city", {"smart_block": "rayong-riverfront"}, 422, "smart_block"),
    ("unknown block", {"smart_block": "nowhere"}, 422, "smart_block"),
    ("other organisation's city", {"city": "rayong", "smart_block": None}, 422, "city"),
    ("empty Thai title", {"title_th": "   "}, 422, "title_th"),
    ("NUL in title", {"title_th": "ลูกชิ้น\x00"}, 422, "title_th"),
    ("title too long", {"title_en": "x" * 201}, 422, "title_en"),
    (
        "bad document url",
        {"documents": [{"title": "x", "url": "javascript:alert(1)"}]},
        422,
        "documents.0.url",
    ),
    ("bad email", {"contacts": [{"name": "a", "email": "not-an-email"}]}, 422, "contacts.0.email"),
    ("unknown field", {"colour": "red"}, 422, "colour"),
    ("bad slug", {"slug": "Not A Slug"}, 422, "slug"),
    ("IRR out of range", {"expected_irr_pct": 1000}, 422, "expected_irr_pct"),
    ("string for number", {"capital_min_thb": "lots"}, 422, "capital_min_thb"),
]


@pytest.mark.parametrize(
    ("case", "overrides", "status", "field"), CREATE_CASES, ids=[c[0] for c in CREATE_CASES]
)
async def test_create_rejects_bad_fields(
    client: httpx.AsyncClient,
    world: World,
    session: Session,
    case: str,
    overrides: dict[str, Any],
    status: int,
    field: str,
) -> None:
    before = snapshot(session)
    response = await client.post(
        "/v1/listings", json=listing_payload(**overrides), headers=auth(world.nakhon_sawan_key)
    )
    assert response.status_code == status, response.text
    body = response.json()
    assert body["field"] == field
    assert body["detail"]
    assert snapshot(session) == before


async def test_malformed_json_is_a_400(
    client: httpx.AsyncClient, world: World, session: Session
) -> None:
    before = snapshot(session)
    response = await client.post(
        "/v1/listings",
        content=b'{"kind": "trade",',
        headers={**auth(world.nakhon_sawan_key), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "malformed_json"
    assert snapshot(session) == before


async def test_oversize_body_is_a_413(
    client: httpx.AsyncClient, world: World, session: Session
) -> None:
    before = snapshot(session)
    huge = listing_payload(description_th="ก" * 2_000_000)
    response = await client.post("/v1/listings", json=huge, headers=auth(world.nakhon_sawan_key))
    assert response.status_code == 413
    assert response.json()["field"] == "body"
    assert snapshot(session) == before


async def test_rejected_update_changes_nothing(
    client: httpx.AsyncClient, world: World, session: Session
) -> None:
    await _seed_published(client, world)
    before = snapshot(session)
    headers = {**auth(world.nakhon_sawan_key), "If-Match": '"v2"'}
    cases = [
        ({"capital_min_thb": 50_000_000}, "capital_min_thb"),  # now above the stored max
        ({"smart_block": "rayong-riverfront"}, "smart_block"),
        ({"title_th": None}, "title_th"),
        ({"city": "atlantis"}, "city"),
    ]
    for body, field in cases:
        response = await client.patch("/v1/listings/fish-ball-factory", json=body, headers=headers)
        assert response.status_code == 422, response.text
        assert response.json()["field"] == field
    bad_etag = await client.patch(
        "/v1/listings/fish-ball-factory",
        json={"stage": "funded"},
        headers={**auth(world.nakhon_sawan_key), "If-Match": "yesterday"},
    )
    assert bad_etag.status_code == 422
    assert bad_etag.json()["field"] == "If-Match"
    assert snapshot(session) == before


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("kind=castle", "kind"),
        ("sector=space", "sector"),
        ("province=999", "province"),
        ("province=99", "province"),
        ("city=atlantis", "city"),
        ("smart_block=nowhere", "smart_block"),
        ("model=barter", "model"),
        ("capital_min=10&capital_max=5", "capital_max"),
        ("limit=0", "limit"),
        ("limit=1000", "limit"),
        ("offset=-1", "offset"),
        ("sort=random", "sort"),
        ("city=%00", "city"),
        ("bogus=1", "bogus"),
    ],
)
async def test_catalogue_filters_reject_unknown_values(
    client: httpx.AsyncClient, world: World, query: str, field: str
) -> None:
    response = await client.get(f"/v1/listings?{query}")
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


async def test_unknown_listing_and_routes_are_404(client: httpx.AsyncClient, world: World) -> None:
    for path in ("/v1/listings/999999", "/v1/listings/no-such-thing", "/v1/nothing-here"):
        response = await client.get(path)
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"
    weird = await client.get("/v1/listings/%00drop")
    assert weird.status_code in (404, 422)


async def test_numeric_refs_beyond_any_id_are_not_found(client: httpx.AsyncClient) -> None:
    for ref in ("2147483648", "9" * 25):
        response = await client.get(f"/v1/listings/{ref}")
        assert response.status_code == 404, response.text
        assert response.json()["field"] == "listing"
    page = await client.get("/listings/" + "9" * 40)
    assert page.status_code == 404
    assert "text/html" in page.headers["content-type"]
