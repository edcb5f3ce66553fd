"""The audit log: every change has a name, a time, its fields' old and new values and a
place it came from; the organisation's members and admins read it; nobody rewrites it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from core.db import unit_of_work
from tests.api.test_accounts import person_with_session
from tests.api.test_portal_accounts import sign_in_with_key
from tests.factories import World, auth, create_and_publish, create_profile, with_version


async def _history(
    client: httpx.AsyncClient, key: str, slug: str, **params: Any
) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/organisations/{slug}/audit", params=params, headers=auth(key))
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def test_a_listing_edit_names_the_key_the_fields_and_the_request(
    client: httpx.AsyncClient, world: World
) -> None:
    slug = await create_and_publish(client, world.nakhon_sawan_key)
    headers = await with_version(client, f"/v1/listings/{slug}", auth(world.nakhon_sawan_key))
    edited = await client.patch(
        f"/v1/listings/{slug}",
        json={"capital_max_thb": 90_000_000, "title_en": "Fish balls, frozen"},
        headers=headers | {"X-Request-ID": "edit-42"},
    )
    assert edited.status_code == 200, edited.text
    listing_id = str(edited.json()["id"])

    entries = await _history(
        client,
        world.nakhon_sawan_key,
        "ns-dev",
        resource_type="listing",
        resource_id=listing_id,
    )
    latest, published, created = entries[0], entries[1], entries[-1]
    assert latest["action"] == "changed"
    assert latest["changes"]["capital_max_thb"]["new"] == 90_000_000
    assert latest["changes"]["title_en"] == {
        "old": "Fish-ball factory",
        "new": "Fish balls, frozen",
    }
    assert set(latest["changes"]) == {"capital_max_thb", "title_en"}
    assert latest["version"] == edited.json()["version"]
    assert latest["actor"]["kind"] == "api_key"
    assert latest["actor"]["api_key_prefix"]
    assert latest["source"] == "api"
    assert latest["request_id"] == "edit-42"
    assert latest["address"]
    assert published["changes"]["status"] == {"old": "draft", "new": "published"}
    assert created["action"] == "created"
    assert created["changes"]["slug"] == {"old": None, "new": slug}


async def test_a_refused_write_leaves_no_entry(client: httpx.AsyncClient, world: World) -> None:
    slug = await create_and_publish(client, world.nakhon_sawan_key)
    before = await _history(client, world.nakhon_sawan_key, "ns-dev")
    stale = await client.patch(
        f"/v1/listings/{slug}",
        json={"title_en": "Never saved"},
        headers=auth(world.nakhon_sawan_key) | {"If-Match": '"v1"'},
    )
    assert stale.status_code == 412
    after = await _history(client, world.nakhon_sawan_key, "ns-dev")
    assert [e["id"] for e in after] == [e["id"] for e in before]


async def test_profiles_events_and_keys_are_logged_for_their_own_organisations(
    client: httpx.AsyncClient, world: World
) -> None:
    profile_id = await create_profile(client, world.investor_key)
    headers = await with_version(client, f"/v1/investors/{profile_id}", auth(world.investor_key))
    changed = await client.patch(
        f"/v1/investors/{profile_id}", json={"thesis": "Cold chains"}, headers=headers
    )
    assert changed.status_code == 200, changed.text
    entries = await _history(
        client, world.investor_key, "siam-infra-fund", resource_type="investor_profile"
    )
    assert entries[0]["changes"]["thesis"]["new"] == "Cold chains"
    assert entries[0]["version"] == 2
    assert entries[-1]["action"] == "created"

    # Another organisation's log does not exist for a stranger; an admin reads any.
    stranger = await client.get(
        "/v1/organisations/siam-infra-fund/audit", headers=auth(world.nakhon_sawan_key)
    )
    assert stranger.status_code == 404
    assert (await client.get("/v1/organisations/siam-infra-fund/audit")).status_code == 401
    admin = await _history(client, world.admin_key, "siam-infra-fund")
    assert admin
    assert all(e["resource_type"] != "listing" for e in admin)


async def test_members_and_keys_name_the_person_who_made_them(
    client: httpx.AsyncClient, world: World
) -> None:
    person = await person_with_session(client, world, "somchai@ns-dev.example")
    issued = await client.post("/v1/keys", json={"label": "CRM sync"}, headers=person)
    assert issued.status_code == 201, issued.text

    keys = await _history(client, world.nakhon_sawan_key, "ns-dev", resource_type="api_key")
    assert keys[0]["changes"]["label"]["new"] == "CRM sync"
    assert keys[0]["changes"]["digest"] == {"old": "[redacted]", "new": "[redacted]"}
    assert keys[0]["actor"]["kind"] == "person"
    assert keys[0]["actor"]["person_email"] == "somchai@ns-dev.example"
    members = await _history(client, world.nakhon_sawan_key, "ns-dev", resource_type="membership")
    joined = next(e for e in members if e["action"] == "created")
    assert joined["changes"]["email"]["new"] == "somchai@ns-dev.example"
    assert joined["actor"]["kind"] == "api_key"  # invited with the admin's key
    password_set = next(e for e in members if "password_hash" in e["changes"])
    assert password_set["changes"]["password_hash"]["new"] == "[redacted]"


async def test_pages_of_the_log_follow_each_other(client: httpx.AsyncClient, world: World) -> None:
    for n in range(3):
        await create_and_publish(client, world.nakhon_sawan_key, slug=f"page-{n}")
    everything = await _history(client, world.nakhon_sawan_key, "ns-dev", limit=200)
    first = await client.get(
        "/v1/organisations/ns-dev/audit", params={"limit": 2}, headers=auth(world.nakhon_sawan_key)
    )
    body = first.json()
    second = await _history(
        client, world.nakhon_sawan_key, "ns-dev", limit=200, before=body["next_before"]
    )
    assert [e["id"] for e in body["data"] + second] == [e["id"] for e in everything]
    bad = await client.get(
        "/v1/organisations/ns-dev/audit", params={"limit": 0}, headers=auth(world.nakhon_sawan_key)
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "limit"


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event"]
)
def test_the_log_is_append_only_in_the_database(scratch_database: str, statement: str) -> None:
    from core.audit import AuditEvent
    from core.db import make_engine

    engine: Engine = make_engine(scratch_database)
    try:
        with unit_of_work(engine) as session:
            session.add(AuditEvent(resource_type="listing", resource_id="1", action="created"))
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM audit_event")).scalar() == 1
    finally:
        engine.dispose()


async def test_members_read_the_history_in_the_portal_in_thai(
    client: httpx.AsyncClient, world: World
) -> None:
    slug = await create_and_publish(client, world.nakhon_sawan_key)
    await sign_in_with_key(client, world.nakhon_sawan_key)
    page = await client.get("/organisation/history", params={"lang": "th"})
    assert page.status_code == 200, page.text
    assert "ประวัติการเปลี่ยนแปลง" in page.text
    assert page.text.count('data-testid="history-entry"') >= 2
    assert "โครงการ" in page.text
    assert "เผยแพร่แล้ว" in page.text  # the status it moved to, in the reader's words
    # The listing's creation lists its stored text in the reader's language only.
    listing = (await client.get(f"/v1/listings/{slug}")).json()
    assert listing["title_th"] in page.text
    assert listing["title_en"] not in page.text
    model_id = f"รูปแบบการลงทุนของรายการ {listing['id']} / ร่วมทุน (ถือหุ้น)"
    assert model_id in page.text  # a listing model's id (listing/code) in words
    assert "<strong>listing_id</strong>" not in page.text  # no field without a Thai name
    english = await client.get("/organisation/history", params={"lang": "en"})
    assert "Change history" in english.text
    assert listing["title_en"] in english.text
    assert listing["title_th"] not in english.text
    listing_only = await client.get(
        "/organisation/history", params={"resource_type": "api_key", "lang": "en"}
    )
    assert listing["title_en"] not in listing_only.text
    odd = await client.get("/organisation/history", params={"resource_type": "<b>"})
    assert odd.status_code == 422
    client.cookies.clear()
    assert (await client.get("/organisation/history")).status_code == 401


async def test_leads_and_checkpoints_are_logged_for_the_city_company(
    client: httpx.AsyncClient, world: World
) -> None:
    slug = await create_and_publish(client, world.nakhon_sawan_key)
    await create_profile(client, world.investor_key)
    interest = await client.post(
        f"/v1/listings/{slug}/interest",
        json={"message": "We fund cold chains", "contact": "deals@siam.example"},
        headers=auth(world.investor_key),
    )
    assert interest.status_code == 201, interest.text
    lead_id = interest.json()["id"]
    moved = await client.patch(
        f"/v1/leads/{lead_id}",
        json={"status": "contacted", "notes": "call on Monday"},
        headers=auth(world.nakhon_sawan_key),
    )
    assert moved.status_code == 200, moved.text
    reported = await client.patch(
        f"/v1/listings/{slug}/checkpoints/6",
        json={"status": "on-track", "note": "land leased"},
        headers=auth(world.nakhon_sawan_key),
    )
    assert reported.status_code == 200, reported.text

    leads = await _history(client, world.nakhon_sawan_key, "ns-dev", resource_type="lead")
    assert leads[0]["changes"]["status"]["new"] == "contacted"
    assert leads[0]["changes"]["notes"] == {"old": "", "new": "call on Monday"}
    assert leads[-1]["action"] == "created"
    assert leads[-1]["changes"]["contact"]["new"] == "deals@siam.example"
    checkpoints = await _history(
        client, world.nakhon_sawan_key, "ns-dev", resource_type="checkpoint"
    )
    assert checkpoints[0]["changes"]["note"]["new"] == "land leased"
    # The city company's notes on a lead are its own: not in the investor's log.
    investor_log = await _history(client, world.investor_key, "siam-infra-fund")
    assert all(e["resource_type"] != "lead" for e in investor_log)
