"""``Idempotency-Key``: a retried create returns the first answer, never a second row."""

from __future__ import annotations

import httpx
from sqlmodel import Session, func, select

from catalog.models import Listing
from tests.factories import World, auth, listing_payload


def _listings(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Listing)) or 0


async def test_a_retried_create_returns_the_first_listing(
    client: httpx.AsyncClient, world: World, session: Session
) -> None:
    headers = auth(world.nakhon_sawan_key) | {"Idempotency-Key": "create-fish-balls-1"}
    first = await client.post("/v1/listings", json=listing_payload(), headers=headers)
    again = await client.post("/v1/listings", json=listing_payload(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert _listings(session) == 1
    slugs = session.scalars(select(Listing.slug)).all()
    assert slugs == ["fish-ball-factory"]  # not fish-ball-factory-2

    # Without a key, a second POST is a second listing, as before.
    plain = await client.post(
        "/v1/listings", json=listing_payload(), headers=auth(world.nakhon_sawan_key)
    )
    assert plain.json()["slug"] == "fish-ball-factory-2"


async def test_a_key_reused_for_another_request_is_refused(
    client: httpx.AsyncClient, world: World, session: Session
) -> None:
    headers = auth(world.nakhon_sawan_key) | {"Idempotency-Key": "k-2"}
    assert (
        await client.post("/v1/listings", json=listing_payload(), headers=headers)
    ).status_code == 201
    other = await client.post(
        "/v1/listings", json=listing_payload(slug="another-one"), headers=headers
    )
    assert other.status_code == 409
    assert other.json()["error"] == "idempotency_key_reused"
    assert other.json()["field"] == "Idempotency-Key"
    assert _listings(session) == 1


async def test_keys_belong_to_their_caller(
    client: httpx.AsyncClient, world: World, session: Session
) -> None:
    for key in (world.nakhon_sawan_key, world.rayong_key):
        payload = (
            listing_payload(city="rayong", smart_block=None)
            if key == world.rayong_key
            else listing_payload()
        )
        response = await client.post(
            "/v1/listings", json=payload, headers=auth(key) | {"Idempotency-Key": "same"}
        )
        assert response.status_code == 201, response.text
        assert "idempotent-replayed" not in response.headers
    owners = session.scalars(select(Listing.organisation_id)).all()
    assert len(set(owners)) == 2


async def test_a_refusal_is_replayed_too_and_a_bad_key_is_named(
    client: httpx.AsyncClient, world: World, session: Session
) -> None:
    headers = auth(world.nakhon_sawan_key) | {"Idempotency-Key": "invalid-body"}
    first = await client.post("/v1/listings", json={"title_th": ""}, headers=headers)
    again = await client.post("/v1/listings", json={"title_th": ""}, headers=headers)
    assert first.status_code == again.status_code == 422
    assert again.json() == first.json()

    bad = await client.post(
        "/v1/listings",
        json=listing_payload(),
        headers=auth(world.nakhon_sawan_key) | {"Idempotency-Key": "has spaces in it"},
    )
    assert bad.status_code == 400
    assert bad.json()["field"] == "Idempotency-Key"
    assert _listings(session) == 0
