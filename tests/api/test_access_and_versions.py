"""Two rules every resource follows: who may read a hidden investor profile, and that
every write to a versioned resource names the version it was made from (428 without
``If-Match``, 412 when stale, and nothing changes either way)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlmodel import Session

from catalog.models import Organisation
from catalog.organisations import issue_key
from core.principal import OrganisationKind, Role
from tests.factories import (
    MARKET_LISTINGS,
    World,
    auth,
    create_and_publish,
    create_profile,
    listing_payload,
    snapshot,
    with_version,
)


def _event(investors: list[int], slug: str = "hidden-guests") -> dict[str, Any]:
    return {
        "slug": slug,
        "city": "nakhon-sawan",
        "name_th": "วันนำเสนอโครงการ",
        "held_on": "2027-03-01",
        "listings": [MARKET_LISTINGS[0]["slug"]],
        "investors": investors,
    }


@pytest.fixture
def other_organiser(session: Session) -> str:
    """An organiser key of an organisation with no part in the hidden profile."""
    session.add(
        Organisation(
            slug="far-away-events",
            name_th="อีเวนต์",
            name_en="Far away events",
            kind=OrganisationKind.organiser,
        )
    )
    session.flush()
    _row, key = issue_key(session, organisation_slug="far-away-events", role=Role.organiser)
    session.commit()
    return key


async def test_an_organiser_reads_a_hidden_profile_only_while_it_attends_its_event(
    client: httpx.AsyncClient, world: World, other_organiser: str
) -> None:
    hidden = await create_profile(
        client, world.organiser_key, name="Event Guest", discoverable=False
    )
    quiet = await create_profile(client, world.investor_key, name="Quiet Fund", discoverable=False)
    for url in (f"/v1/investors/{quiet}", f"/v1/investors/{quiet}/matches"):
        assert (await client.get(url, headers=auth(other_organiser))).status_code == 404
        assert (await client.get(url, headers=auth(world.organiser_key))).status_code == 404
        assert (await client.get(url)).status_code == 404
        assert (await client.get(url, headers=auth(world.investor_key))).status_code == 200
        assert (await client.get(url, headers=auth(world.admin_key))).status_code == 200
    # The organiser's own profile is its own; nobody else's organiser reads it.
    assert (
        await client.get(f"/v1/investors/{hidden}", headers=auth(other_organiser))
    ).status_code == 404

    await create_and_publish(client, world.nakhon_sawan_key, **MARKET_LISTINGS[0])
    admin = auth(world.admin_key)  # an admin may invite a hidden profile to the event
    created = await client.post("/v1/events", json=_event([hidden]), headers=admin)
    assert created.status_code == 201, created.text
    # The admin's event, not the organiser's: still hidden from it.
    assert (
        await client.get(f"/v1/investors/{quiet}", headers=auth(world.organiser_key))
    ).status_code == 404
    own_event = await client.post(
        "/v1/events", json=_event([hidden], slug="own-day"), headers=auth(world.organiser_key)
    )
    assert own_event.status_code == 201, own_event.text
    invite = await client.patch(
        "/v1/events/hidden-guests",
        json={"investors": [hidden, quiet]},
        headers=await with_version(client, "/v1/events/hidden-guests", admin),
    )
    assert invite.status_code == 200, invite.text
    organiser = auth(world.organiser_key)
    # It attends an event, but not this organiser's: still 404.
    assert (await client.get(f"/v1/investors/{quiet}", headers=organiser)).status_code == 404
    # An admin adds it to the organiser's own event: now, and only now, the organiser reads it.
    joined = await client.patch(
        "/v1/events/own-day",
        json={"investors": [hidden, quiet]},
        headers=await with_version(client, "/v1/events/own-day", admin),
    )
    assert joined.status_code == 200, joined.text
    for url in (f"/v1/investors/{quiet}", f"/v1/investors/{quiet}/matches"):
        assert (await client.get(url, headers=organiser)).status_code == 200
        assert (await client.get(url, headers=auth(other_organiser))).status_code == 404
    left = await client.patch(
        "/v1/events/own-day",
        json={"investors": [hidden]},
        headers=await with_version(client, "/v1/events/own-day", admin),
    )
    assert left.status_code == 200
    assert (await client.get(f"/v1/investors/{quiet}", headers=organiser)).status_code == 404


async def test_every_versioned_write_needs_the_version_it_was_made_from(
    client: httpx.AsyncClient, world: World, session: Session
) -> None:
    publisher = auth(world.nakhon_sawan_key)
    created = await client.post("/v1/listings", json=listing_payload(), headers=publisher)
    assert created.status_code == 201
    profile = await create_profile(client, world.investor_key)
    organiser = auth(world.organiser_key)
    await create_and_publish(client, world.nakhon_sawan_key, **MARKET_LISTINGS[1])
    event = _event([], slug="versioned-day") | {"listings": [MARKET_LISTINGS[1]["slug"]]}
    assert (await client.post("/v1/events", json=event, headers=organiser)).status_code == 201

    writes: list[tuple[str, str, dict[str, Any] | None, dict[str, str]]] = [
        ("POST", "/v1/listings/fish-ball-factory/publish", None, publisher),
        ("POST", "/v1/listings/fish-ball-factory/archive", None, publisher),
        ("PATCH", "/v1/listings/fish-ball-factory", {"title_en": "x"}, publisher),
        ("PATCH", f"/v1/investors/{profile}", {"horizon_years": 9}, auth(world.investor_key)),
        ("PATCH", "/v1/events/versioned-day", {"name_en": "x"}, organiser),
        ("POST", "/v1/events/versioned-day/schedule", {"min_score": 0}, organiser),
    ]
    before = snapshot(session)
    for method, url, body, headers in writes:
        missing = await client.request(method, url, json=body, headers=headers)
        assert missing.status_code == 428, (method, url, missing.text)
        assert missing.json()["field"] == "If-Match"
        stale = await client.request(
            method, url, json=body, headers=headers | {"If-Match": '"v99"'}
        )
        assert stale.status_code == 412, (method, url, stale.text)
    assert snapshot(session) == before
