"""Expressions of interest become the publisher's leads."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import (
    World,
    auth,
    create_and_publish,
    listing_payload,
    profile_payload,
    with_version,
)


@pytest.fixture
async def listing(client: httpx.AsyncClient, world: World) -> str:
    await create_and_publish(client, world.nakhon_sawan_key)
    return "fish-ball-factory"


async def test_interest_needs_a_profile_and_is_recorded_once(
    client: httpx.AsyncClient, world: World, listing: str
) -> None:
    investor = auth(world.investor_key)
    no_profile = await client.post(f"/v1/listings/{listing}/interest", json={}, headers=investor)
    assert no_profile.status_code == 422
    assert no_profile.json()["field"] == "investor_profile"
    await client.post("/v1/investors", json=profile_payload(), headers=investor)
    first = await client.post(
        f"/v1/listings/{listing}/interest", json={"message": "ขอนัดคุยรายละเอียด"}, headers=investor
    )
    assert first.status_code == 201, first.text
    again = await client.post(
        f"/v1/listings/{listing}/interest", json={"message": "again"}, headers=investor
    )
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["message"] == "ขอนัดคุยรายละเอียด"

    leads = await client.get("/v1/leads", headers=auth(world.nakhon_sawan_key))
    assert leads.json()["count"] == 1
    lead = leads.json()["data"][0]
    assert lead["investor"]["name"] == "Lanna Food Ventures"
    assert lead["status"] == "new"
    assert (await client.get("/v1/leads", headers=auth(world.rayong_key))).json()["count"] == 0

    moved = await client.patch(
        f"/v1/leads/{lead['id']}", json={"status": "meeting"}, headers=auth(world.nakhon_sawan_key)
    )
    assert moved.status_code == 200
    assert moved.json()["status"] == "meeting"
    foreign = await client.patch(
        f"/v1/leads/{lead['id']}", json={"status": "won"}, headers=auth(world.rayong_key)
    )
    assert foreign.status_code == 404
    bad = await client.patch(
        f"/v1/leads/{lead['id']}", json={"status": "married"}, headers=auth(world.nakhon_sawan_key)
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "status"


async def test_archived_listing_refuses_interest(
    client: httpx.AsyncClient, world: World, listing: str
) -> None:
    investor = auth(world.investor_key)
    await client.post("/v1/investors", json=profile_payload(), headers=investor)
    archived = await client.post(
        f"/v1/listings/{listing}/archive",
        headers=await with_version(client, f"/v1/listings/{listing}", auth(world.nakhon_sawan_key)),
    )
    assert archived.status_code == 200
    response = await client.post(f"/v1/listings/{listing}/interest", json={}, headers=investor)
    assert response.status_code == 409
    assert response.json()["field"] == "listing"


async def test_drafts_and_publishers_cannot_take_interest(
    client: httpx.AsyncClient, world: World
) -> None:
    key = auth(world.nakhon_sawan_key)
    await client.post("/v1/listings", json=listing_payload(slug="hidden"), headers=key)
    investor = auth(world.investor_key)
    await client.post("/v1/investors", json=profile_payload(), headers=investor)
    assert (
        await client.post("/v1/listings/hidden/interest", json={}, headers=investor)
    ).status_code == 404
    await client.post(
        "/v1/listings/hidden/publish",
        headers=await with_version(client, "/v1/listings/hidden", key),
    )
    own = await client.post("/v1/listings/hidden/interest", json={}, headers=key)
    assert own.status_code == 403
