"""The organiser's workplace in the portal: a pitch day created and edited under the
If-Match rule, a refused form shown again with every error beside its field, and the
investors invited, found by sector, province and ticket."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlmodel import Session, select

from matching.pitchday.models import PitchEvent
from tests.api.test_portal_accounts import csrf, post_form
from tests.api.test_thai_all_the_way import english_values_in, visible
from tests.factories import World, create_profile, snapshot

EVENT = {
    "name_th": "วันนำเสนอโครงการนครสวรรค์",
    "name_en": "Nakhon Sawan pitch day",
    "city": "nakhon-sawan",
    "venue_th": "ศาลาว่าการ",
    "venue_en": "City hall",
    "held_on": "2027-03-15",
    "registration_deadline": "2027-03-01",
    "first_slot": "13:00",
    "slot_count": "6",
    "slot_minutes": "10",
    "round_first": "14:30",
    "round_count": "6",
    "round_minutes": "20",
    "table_count": "12",
}


@pytest.fixture
async def organiser(client: httpx.AsyncClient, world: World) -> httpx.AsyncClient:
    signed_in = await post_form(client, "/signin", "/signin", api_key=world.organiser_key)
    assert signed_in.status_code == 303
    return client


async def create(client: httpx.AsyncClient, **changes: str) -> httpx.Response:
    return await post_form(client, "/events/new", "/events/new", **(EVENT | changes))


async def test_an_organiser_creates_and_edits_a_pitch_day(
    organiser: httpx.AsyncClient, session: Session
) -> None:
    created = await create(organiser)
    assert created.status_code == 303, created.text
    slug = created.headers["location"].split("/")[2].split("?")[0]
    page = await organiser.get(f"/events/{slug}?lang=th")
    assert 'data-testid="organiser-tools"' in page.text
    assert "12 โต๊ะ" in visible(page.text)
    event = session.exec(select(PitchEvent).where(PitchEvent.slug == slug)).one()
    assert event.registration_deadline is not None

    form = await organiser.get(f"/events/{slug}/edit")
    assert 'value="2027-03-01"' in form.text
    fields = {"csrf_token": csrf(form.text), "version": _version(form.text)}
    edited = await organiser.post(
        f"/events/{slug}/edit", data=EVENT | fields | {"table_count": "20", "name_en": "Renamed"}
    )
    assert edited.status_code == 303, edited.text
    api = (await organiser.get(f"/v1/events/{slug}")).json()
    assert api["table_count"] == 20
    assert api["name_en"] == "Renamed"

    stale = await organiser.post(f"/events/{slug}/edit", data=EVENT | fields | {"table_count": "3"})
    assert stale.status_code == 412
    assert 'data-testid="conflict"' in stale.text
    assert 'value="3"' in stale.text  # what was typed is kept
    assert (await organiser.get(f"/v1/events/{slug}")).json()["table_count"] == 20


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"round_first": "13:20"}, ["round_first"]),
        ({"round_first": "23:30", "round_count": "3"}, ["round_count"]),
        ({"table_count": "0", "held_on": "someday"}, ["table_count", "held_on"]),
        ({"registration_deadline": "2027-04-01"}, ["registration_deadline"]),
        ({"city": "atlantis"}, ["city"]),
        ({"name_th": "", "slot_minutes": "999"}, ["name_th", "slot_minutes"]),
    ],
)
async def test_a_bad_pitch_day_is_shown_again_with_its_errors(
    organiser: httpx.AsyncClient, session: Session, changes: dict[str, str], fields: list[str]
) -> None:
    before = snapshot(session)
    refused = await create(organiser, **changes)
    assert 400 <= refused.status_code < 500, refused.text
    for field in fields:
        assert f'id="{field}-error"' in refused.text, field
    for name, value in changes.items():
        if value and name != "city":  # a city not in the list cannot be shown chosen
            assert f'value="{value}"' in refused.text, name
    assert snapshot(session) == before


async def test_a_refused_form_in_thai_says_it_in_thai(organiser: httpx.AsyncClient) -> None:
    page = await organiser.get("/events/new?lang=th")
    refused = await organiser.post(
        "/events/new", data=EVENT | {"csrf_token": csrf(page.text), "round_first": "13:20"}
    )
    text = visible(refused.text)
    assert "ช่วงนัดพบซ้อนทับกับช่วงนำเสนอ" in text
    assert english_values_in(text) == set()


async def test_the_workplace_is_the_organisers(
    client: httpx.AsyncClient, world: World, organiser: httpx.AsyncClient
) -> None:
    slug = (await create(organiser)).headers["location"].split("/")[2].split("?")[0]
    organiser.cookies.clear()
    assert (await client.get("/events/new")).status_code == 401
    await post_form(client, "/signin", "/signin", api_key=world.nakhon_sawan_key)
    assert (await client.get("/events/new")).status_code == 401
    assert (await client.get(f"/events/{slug}/edit")).status_code == 401
    assert (await client.get(f"/events/{slug}/investors")).status_code == 401


async def test_investors_are_found_and_invited(organiser: httpx.AsyncClient, world: World) -> None:
    food = await create_profile(
        organiser,
        world.investor_key,
        name="Lanna Food Ventures",
        sectors=["agri-food"],
        regions=["north"],
        ticket_min_thb=2_000_000,
        ticket_max_thb=20_000_000,
        discoverable=True,
    )
    await create_profile(
        organiser,
        world.investor_key,
        name="Hidden Angel",
        discoverable=False,
        slug="hidden-angel",
    )
    slug = (await create(organiser)).headers["location"].split("/")[2].split("?")[0]
    found = await organiser.get(
        f"/events/{slug}/investors",
        params={"sector": "agri-food", "province": "60", "ticket": "10 ล้าน"},
    )
    assert found.status_code == 200
    assert "Lanna Food Ventures" in found.text
    assert "Hidden Angel" not in found.text  # not discoverable, not the organiser's own
    too_big = await organiser.get(f"/events/{slug}/investors", params={"ticket": "500M"})
    assert "Lanna Food Ventures" not in too_big.text
    bad = await organiser.get(f"/events/{slug}/investors", params={"ticket": "lots"})
    assert bad.status_code == 422
    assert 'id="ticket-error"' in bad.text

    invited = await organiser.post(
        f"/events/{slug}/investors",
        data={"csrf_token": csrf(found.text), "version": _version(found.text), "invite": str(food)},
    )
    assert invited.status_code == 303
    page = await organiser.get(f"/events/{slug}/investors")
    assert re.search(r'data-testid="attending".*Lanna Food Ventures', page.text)
    assert (await organiser.get(f"/v1/events/{slug}")).json()["investor_count"] == 1


def _version(html: str) -> str:
    match = re.search(r'name="version" value="(\d+)"', html)
    assert match
    return match.group(1)
