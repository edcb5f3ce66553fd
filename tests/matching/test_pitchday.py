"""Pitch days over HTTP: an organiser's event, its shortlist and its meeting schedule."""

from __future__ import annotations

from collections import Counter
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
    snapshot,
    with_version,
)

WIDE: dict[str, Any] = {
    "sectors": [],
    "regions": [],
    "ticket_min_thb": 1_000_000,
    "ticket_max_thb": 2_000_000_000,
    "models": ["equity", "joint-venture", "debt", "franchise", "ppp"],
    "min_irr_pct": None,
    "thesis": "",
}


@pytest.fixture
async def attendees(client: httpx.AsyncClient, world: World) -> dict[str, int]:
    for body in MARKET_LISTINGS:
        await create_and_publish(client, world.nakhon_sawan_key, **body)
    return {
        "food": await create_profile(client, world.investor_key, name="Lanna Food"),
        "wide": await create_profile(client, world.investor_key, name="Open Fund", **WIDE),
        "guest": await create_profile(
            client, world.organiser_key, name="Guest Angel", discoverable=False, **WIDE
        ),
    }


def _event(attendees: dict[str, int], **overrides: Any) -> dict[str, Any]:
    return {
        "slug": "ns-pitch-day",
        "city": "nakhon-sawan",
        "name_th": "วันนำเสนอโครงการนครสวรรค์",
        "name_en": "Nakhon Sawan pitch day",
        "venue_en": "City hall",
        "held_on": "2027-02-15",
        "first_slot": "13:00",
        "slot_minutes": 20,
        "slot_count": 2,
        "round_first": "14:00",
        "round_count": 2,
        "listings": [body["slug"] for body in reversed(MARKET_LISTINGS)],
        "investors": list(attendees.values()),
    } | overrides


async def test_organiser_plans_meetings_from_the_shortlist(
    client: httpx.AsyncClient, world: World, attendees: dict[str, int]
) -> None:
    organiser = auth(world.organiser_key)
    created = await client.post("/v1/events", json=_event(attendees), headers=organiser)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/v1/events/ns-pitch-day"
    programme = [x["slug"] for x in created.json()["listings"]]
    assert programme == ["noodle-shop", "cold-store", "fish-balls"]  # the order given

    shortlist = (
        await client.get("/v1/events/ns-pitch-day/shortlist?min_score=0", headers=organiser)
    ).json()["data"]
    scores = {
        (item["listing_slug"], entry["investor_profile_id"]): entry["score"]
        for item in shortlist
        for entry in item["investors"]
    }
    for item in shortlist:
        assert [e["score"] for e in item["investors"]] == sorted(
            (e["score"] for e in item["investors"]), reverse=True
        )
        assert all(e["reasons"] for e in item["investors"])
    # The food investor's ticket (2-20M) and models rule out the cold store.
    assert ("cold-store", attendees["food"]) not in scores
    # Each pair is scored as the catalogue-wide ranking scores it.
    for name in ("food", "wide"):
        ranked = await client.get(f"/v1/investors/{attendees[name]}/matches?k=20&min_score=0")
        overall = {m["listing"]["slug"]: m["score"] for m in ranked.json()["data"]}
        mine = {slug: score for (slug, who), score in scores.items() if who == attendees[name]}
        assert mine == overall

    planned = await client.post(
        "/v1/events/ns-pitch-day/schedule",
        json={"min_score": 0},
        headers=await with_version(client, "/v1/events/ns-pitch-day", organiser),
    )
    assert planned.status_code == 200, planned.text
    meetings = planned.json()["meetings"]
    assert meetings
    assert planned.json()["scheduled_at"] is not None
    # Nobody is in two meetings at once, and nobody exceeds the number of slots.
    assert max(Counter((m["slot"], m["listing_slug"]) for m in meetings).values()) == 1
    assert max(Counter((m["slot"], m["investor_profile_id"]) for m in meetings).values()) == 1
    assert {m["starts_at"] for m in meetings} <= {"14:00", "14:20"}
    # Every meeting is a shortlisted pair, at its shortlisted score.
    for m in meetings:
        assert scores[(m["listing_slug"], m["investor_profile_id"])] == m["score"]
    # The scores proposed every shortlisted pair; each is met, or left out because one of
    # the two is booked in both rounds. The solver proved the plan best, at tables 1 on.
    planned_pairs = {(m["listing_slug"], m["investor_profile_id"]) for m in meetings}
    left_out = {
        (u["listing_slug"], u["investor_profile_id"]): u["reason"]
        for u in planned.json()["unplaced"]
    }
    assert planned_pairs | set(left_out) == set(scores)
    assert set(left_out.values()) <= {"fully_booked"}
    assert {m["source"] for m in meetings} == {"proposal"}
    assert all(1 <= m["table_no"] <= 10 for m in meetings)
    quality = planned.json()["quality"]
    assert quality["optimal"]
    assert quality["ratio"] == 1.0
    assert quality["placed"]["proposal"] == len(meetings)


async def test_private_investors_are_named_only_to_the_organiser(
    client: httpx.AsyncClient, world: World, attendees: dict[str, int]
) -> None:
    organiser = auth(world.organiser_key)
    await client.post("/v1/events", json=_event(attendees, round_count=3), headers=organiser)
    await client.post(
        "/v1/events/ns-pitch-day/schedule",
        json={"min_score": 0},
        headers=await with_version(client, "/v1/events/ns-pitch-day", organiser),
    )
    public = (await client.get("/v1/events/ns-pitch-day")).json()
    named = {m["investor_name"] for m in public["meetings"]}
    assert "Guest Angel" not in named
    assert None in named  # the guest's meetings are listed without a name
    own = (await client.get("/v1/events/ns-pitch-day", headers=organiser)).json()
    assert "Guest Angel" in {m["investor_name"] for m in own["meetings"]}
    # An investor who is not discoverable still sees its own name, and no one else's.
    quiet = await create_profile(
        client, world.investor_key, name="Quiet Fund", discoverable=False, **WIDE
    )
    invited = {"investors": [attendees["guest"], quiet]}
    assert (
        await client.patch(
            "/v1/events/ns-pitch-day",
            json=invited,
            headers=await with_version(client, "/v1/events/ns-pitch-day", organiser),
        )
    ).status_code == 422  # an organiser cannot invite another's hidden profile
    admin = auth(world.admin_key)  # an admin can
    assert (
        await client.patch(
            "/v1/events/ns-pitch-day",
            json=invited,
            headers=await with_version(client, "/v1/events/ns-pitch-day", admin),
        )
    ).status_code == 200
    await client.post(
        "/v1/events/ns-pitch-day/schedule",
        json={"min_score": 0},
        headers=await with_version(client, "/v1/events/ns-pitch-day", admin),
    )
    mine = await client.get("/v1/events/ns-pitch-day", headers=auth(world.investor_key))
    assert {m["investor_name"] for m in mine.json()["meetings"]} == {"Quiet Fund", None}
    listed = (await client.get("/v1/events")).json()["data"]
    assert [e["slug"] for e in listed] == ["ns-pitch-day"]


async def test_changing_who_takes_part_clears_the_schedule(
    client: httpx.AsyncClient, world: World, attendees: dict[str, int]
) -> None:
    organiser = auth(world.organiser_key)
    await client.post("/v1/events", json=_event(attendees), headers=organiser)
    await client.post(
        "/v1/events/ns-pitch-day/schedule",
        json={"min_score": 0},
        headers=await with_version(client, "/v1/events/ns-pitch-day", organiser),
    )
    renamed = await client.patch(
        "/v1/events/ns-pitch-day",
        json={"name_en": "Pitch day"},
        headers=await with_version(client, "/v1/events/ns-pitch-day", organiser),
    )
    assert renamed.json()["meetings"]  # a new name keeps the plan
    changed = await client.patch(
        "/v1/events/ns-pitch-day",
        json={"listings": ["fish-balls"]},
        headers=await with_version(client, "/v1/events/ns-pitch-day", organiser),
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["meetings"] == []
    assert changed.json()["scheduled_at"] is None
    assert [x["slug"] for x in changed.json()["listings"]] == ["fish-balls"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"listings": ["no-such-listing"]}, "listings"),
        ({"listings": ["fish-balls", "fish-balls"]}, "listings"),
        ({"investors": [999_999]}, "investors"),
        ({"city": "atlantis"}, "city"),
        ({"first_slot": "23:00", "slot_minutes": 30, "slot_count": 4}, "slot_count"),
        ({"round_first": "13:20"}, "round_first"),
        ({"round_first": "23:30", "round_count": 3}, "round_count"),
        ({"table_count": 0}, "table_count"),
        ({"registration_deadline": "2027-03-01"}, "registration_deadline"),
        ({"first_slot": "25:00"}, "first_slot"),
        ({"slot_count": 0}, "slot_count"),
    ],
)
async def test_bad_events_are_refused_naming_the_field(
    client: httpx.AsyncClient,
    world: World,
    attendees: dict[str, int],
    session: Session,
    overrides: dict[str, Any],
    field: str,
) -> None:
    before = snapshot(session)
    response = await client.post(
        "/v1/events", json=_event(attendees, **overrides), headers=auth(world.organiser_key)
    )
    assert response.status_code == 422, response.text
    assert field in response.text
    assert snapshot(session) == before


async def test_only_organisers_run_events(
    client: httpx.AsyncClient, world: World, attendees: dict[str, int]
) -> None:
    publisher = auth(world.nakhon_sawan_key)
    refused = await client.post("/v1/events", json=_event(attendees), headers=publisher)
    assert refused.status_code == 403
    # Another organisation's profile that is not discoverable cannot be invited.
    private = await create_profile(client, world.investor_key, name="Quiet", discoverable=False)
    hidden = await client.post(
        "/v1/events",
        json=_event(attendees, investors=[private]),
        headers=auth(world.organiser_key),
    )
    assert hidden.status_code == 422
    assert hidden.json()["field"] == "investors"
    await client.post("/v1/events", json=_event(attendees), headers=auth(world.organiser_key))
    for method, url in (
        ("PATCH", "/v1/events/ns-pitch-day"),
        ("POST", "/v1/events/ns-pitch-day/schedule"),
    ):
        versioned = publisher | {"If-Match": '"v1"'}
        response = await client.request(method, url, json={}, headers=versioned)
        assert response.status_code == 403, (method, url)
    shortlist = await client.get("/v1/events/ns-pitch-day/shortlist", headers=publisher)
    assert shortlist.status_code == 403
    assert (await client.get("/v1/events/nowhere")).status_code == 404
