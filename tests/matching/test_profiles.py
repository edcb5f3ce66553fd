"""Investor profiles over HTTP: who may create, read and change them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlmodel import Session

from tests.factories import World, auth, profile_payload, snapshot

V1 = {"If-Match": '"v1"'}  # the version every profile starts at


async def test_investor_creates_and_edits_its_own_profile(
    client: httpx.AsyncClient, world: World
) -> None:
    created = await client.post(
        "/v1/investors", json=profile_payload(), headers=auth(world.investor_key)
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["slug"] == "lanna-food-ventures"
    assert body["organisation"] == "siam-infra-fund"
    profile_id = body["id"]
    edited = await client.patch(
        f"/v1/investors/{profile_id}",
        json={"horizon_years": 8},
        headers=auth(world.investor_key) | V1,
    )
    assert edited.status_code == 200
    assert edited.json()["horizon_years"] == 8
    assert edited.json()["version"] == 2
    mine = await client.get("/v1/investors", headers=auth(world.investor_key))
    assert [p["id"] for p in mine.json()["data"]] == [profile_id]


async def test_nobody_else_edits_a_profile(client: httpx.AsyncClient, world: World) -> None:
    created = await client.post(
        "/v1/investors", json=profile_payload(), headers=auth(world.investor_key)
    )
    profile_id = created.json()["id"]
    for key in (world.nakhon_sawan_key, world.rayong_key):
        response = await client.patch(
            f"/v1/investors/{profile_id}", json={"name": "Mine now"}, headers=auth(key) | V1
        )
        assert response.status_code == 403
    unchanged = await client.get(f"/v1/investors/{profile_id}")
    assert unchanged.json()["name"] == "Lanna Food Ventures"


async def test_publisher_keys_cannot_create_profiles(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await client.post(
        "/v1/investors", json=profile_payload(), headers=auth(world.nakhon_sawan_key)
    )
    assert response.status_code == 403
    admin = await client.post(
        "/v1/investors", json=profile_payload(name="Event guest"), headers=auth(world.admin_key)
    )
    assert admin.status_code == 201


async def test_hidden_profiles_stay_hidden(client: httpx.AsyncClient, world: World) -> None:
    created = await client.post(
        "/v1/investors", json=profile_payload(discoverable=False), headers=auth(world.investor_key)
    )
    profile_id = created.json()["id"]
    assert (await client.get(f"/v1/investors/{profile_id}")).status_code == 404
    publisher = await client.get(f"/v1/investors/{profile_id}", headers=auth(world.rayong_key))
    assert publisher.status_code == 404
    owner = await client.get(f"/v1/investors/{profile_id}", headers=auth(world.investor_key))
    assert owner.status_code == 200


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"ticket_min_thb": 50, "ticket_max_thb": 10}, "ticket_max_thb"),
        ({"sectors": ["space-mining"]}, "sectors.0"),
        ({"provinces": ["99"]}, "provinces.0"),
        ({"provinces": ["1"]}, "provinces.0"),
        ({"horizon_years": -1}, "horizon_years"),
        ({"thesis": "ก" * 5001}, "thesis"),
        ({"thesis": "bad\x00"}, "thesis"),
        ({"models": ["barter"]}, "models.0"),
        ({"investor_type": "pirate"}, "investor_type"),
        ({"home_country": "Thailand"}, "home_country"),
    ],
)
async def test_bad_profiles_are_422(
    client: httpx.AsyncClient,
    world: World,
    session: Session,
    overrides: dict[str, Any],
    field: str,
) -> None:
    before = snapshot(session)
    response = await client.post(
        "/v1/investors", json=profile_payload(**overrides), headers=auth(world.investor_key)
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert snapshot(session) == before


async def test_bad_profile_update_changes_nothing(
    client: httpx.AsyncClient, world: World, session: Session
) -> None:
    created = await client.post(
        "/v1/investors", json=profile_payload(), headers=auth(world.investor_key)
    )
    profile_id = created.json()["id"]
    before = snapshot(session)
    for body, field in [
        ({"ticket_min_thb": 30_000_000}, "ticket_max_thb"),
        ({"name": None}, "name"),
        ({"provinces": ["98"]}, "provinces.0"),
    ]:
        response = await client.patch(
            f"/v1/investors/{profile_id}", json=body, headers=auth(world.investor_key) | V1
        )
        assert response.status_code == 422, response.text
        assert response.json()["field"] == field
    assert snapshot(session) == before
