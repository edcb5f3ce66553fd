"""An investor joins by itself: registration, e-mail confirmation when mail is sent,
verification by an admin before publishers see it, and interest it can follow and take
back."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import World, auth, create_and_publish

PASSWORD = "a password long enough"


def registration(**overrides: Any) -> dict[str, Any]:
    return {
        "email": "desk@mekong-fund.example",
        "password": PASSWORD,
        "name": "Anna Lind",
        "organisation_name": "Mekong Green Fund",
        "investor_type": "fund",
        "home_country": "SE",
        "languages": ["en"],
    } | overrides


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def register(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/v1/registrations", json=registration(**overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_an_investor_registers_and_is_signed_in(client: httpx.AsyncClient) -> None:
    body = await register(client)
    assert body["email_confirmation"] == "not-needed"  # this app sends no mail
    me = await client.get("/v1/me", headers=bearer(body["session"]["token"]))
    assert me.status_code == 200, me.text
    assert me.json()["role"] == "investor"
    assert me.json()["person"]["is_owner"] is True
    profile = body["profile"]
    assert profile["name"] == "Mekong Green Fund"
    assert profile["models"] == []
    assert profile["stages"] == []
    assert profile["horizon_years"] is None
    signed_in = await client.post(
        "/v1/sessions", json={"email": "DESK@mekong-fund.example", "password": PASSWORD}
    )
    assert signed_in.status_code == 201


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": "not-an-address"}, "email"),
        ({"password": "short"}, "password"),
        ({"organisation_name": ""}, "organisation_name"),
        ({"investor_type": "pirate"}, "investor_type"),
        ({"home_country": "Sweden"}, "home_country"),
    ],
)
async def test_bad_registrations_name_the_field(
    client: httpx.AsyncClient, overrides: dict[str, Any], field: str
) -> None:
    response = await client.post("/v1/registrations", json=registration(**overrides))
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


async def test_an_address_registers_once(client: httpx.AsyncClient) -> None:
    await register(client)
    again = await client.post(
        "/v1/registrations", json=registration(organisation_name="Another Fund")
    )
    assert again.status_code == 409
    assert again.json()["field"] == "email"


async def test_publishers_see_a_new_investor_once_an_admin_verifies_it(
    client: httpx.AsyncClient, world: World
) -> None:
    await create_and_publish(client, world.nakhon_sawan_key, slug="fish-balls")
    body = await register(client, organisation_name="Siam Food Angels", investor_type="angel")
    profile_id = body["profile"]["id"]
    publisher = auth(world.nakhon_sawan_key)

    assert (await client.get(f"/v1/investors/{profile_id}", headers=publisher)).status_code == 404
    fits = await client.get("/v1/listings/fish-balls/investors?k=100", headers=publisher)
    assert profile_id not in {m["investor"]["id"] for m in fits.json()["data"]}
    # The investor itself works at once: it reads its profile and matches.
    own = bearer(body["session"]["token"])
    assert (await client.get(f"/v1/investors/{profile_id}", headers=own)).status_code == 200
    matches = await client.get(f"/v1/investors/{profile_id}/matches?min_score=0", headers=own)
    assert "fish-balls" in {m["listing"]["slug"] for m in matches.json()["data"]}

    organisation = body["organisation"]
    refused = await client.put(f"/v1/organisations/{organisation}/verification", headers=own)
    assert refused.status_code == 403
    verified = await client.put(
        f"/v1/organisations/{organisation}/verification", headers=auth(world.admin_key)
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["verified_at"] is not None
    assert (await client.get(f"/v1/investors/{profile_id}", headers=publisher)).status_code == 200

    withdrawn = await client.delete(
        f"/v1/organisations/{organisation}/verification", headers=auth(world.admin_key)
    )
    assert withdrawn.json()["verified_at"] is None
    assert (await client.get(f"/v1/investors/{profile_id}", headers=publisher)).status_code == 404


async def test_interest_is_followed_and_can_be_taken_back(
    client: httpx.AsyncClient, world: World
) -> None:
    await create_and_publish(client, world.nakhon_sawan_key, slug="fish-balls")
    own = bearer((await register(client))["session"]["token"])
    publisher = auth(world.nakhon_sawan_key)

    expressed = await client.post(
        "/v1/listings/fish-balls/interest",
        json={"message": "We fund cold chains", "contact": "+46 8 123 456, Anna"},
        headers=own,
    )
    assert expressed.status_code == 201, expressed.text
    interest = expressed.json()
    assert interest["status"] == "new"
    assert "notes" not in interest  # the city's own notes are not the investor's to read
    lead = next(
        lead
        for lead in (await client.get("/v1/leads", headers=publisher)).json()["data"]
        if lead["id"] == interest["id"]
    )
    assert lead["contact"] == "+46 8 123 456, Anna"

    moved = await client.patch(
        f"/v1/leads/{interest['id']}",
        json={"status": "meeting", "notes": "call on Monday"},
        headers=publisher,
    )
    assert moved.status_code == 200
    mine = (await client.get("/v1/interests", headers=own)).json()
    assert [(i["listing_slug"], i["status"]) for i in mine["data"]] == [("fish-balls", "meeting")]

    other = bearer((await register(client, email="x@other.example"))["session"]["token"])
    assert (
        await client.post(f"/v1/interests/{interest['id']}/withdrawal", headers=other)
    ).status_code == 404
    withdrawn = await client.post(f"/v1/interests/{interest['id']}/withdrawal", headers=own)
    assert withdrawn.status_code == 200
    assert withdrawn.json()["withdrawn_at"] is not None
    leads = (await client.get("/v1/leads", headers=publisher)).json()["data"]
    assert next(lead for lead in leads if lead["id"] == interest["id"])["withdrawn_at"]

    again = await client.post(
        "/v1/listings/fish-balls/interest", json={"message": "Back again"}, headers=own
    )
    assert again.status_code == 201  # new interest after withdrawing
    assert again.json()["withdrawn_at"] is None
    assert again.json()["status"] == "new"
