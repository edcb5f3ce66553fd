"""Saved searches over HTTP and in the portal: a person's own (another person finds
nothing, an API key is told why not), edits under If-Match, the listings with what is
new, the secret Atom feed (parsed back as XML), and the portal's forms without
JavaScript, with a stale form refused and explained."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import Session, select

from api.deps import Services
from catalog.models import Listing
from core.db import utcnow
from matching.models import SavedSearch
from tests.api.test_thai_all_the_way import english_values_in, visible
from tests.factories import (
    MARKET_LISTINGS,
    World,
    auth,
    create_and_publish,
    create_profile,
    listing_payload,
    with_version,
)

PASSWORD = "correct horse battery"
ATOM = "{http://www.w3.org/2005/Atom}"
UNSAFE_TITLE = "Port <b>A</b> & co ]]> <![CDATA[x]]>"


async def person(
    client: httpx.AsyncClient, world: World, email: str, org: str = "siam-infra-fund"
) -> dict[str, str]:
    """A person of ``org`` with a session token: invited by the admin, password set."""
    invited = await client.post(
        f"/v1/organisations/{org}/invitations", json={"email": email}, headers=auth(world.admin_key)
    )
    assert invited.status_code == 201, invited.text
    token = invited.json()["url"].rsplit("/", 1)[1]
    accepted = await client.post(f"/v1/invitations/{token}", json={"password": PASSWORD})
    assert accepted.status_code == 200, accepted.text
    signed_in = await client.post("/v1/sessions", json={"email": email, "password": PASSWORD})
    assert signed_in.status_code == 201, signed_in.text
    return auth(signed_in.json()["token"])


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


async def portal_sign_in(client: httpx.AsyncClient, email: str) -> None:
    form = await client.get("/signin")
    done = await client.post(
        "/signin", data={"csrf_token": csrf(form.text), "email": email, "password": PASSWORD}
    )
    assert done.status_code == 303, done.text


async def save(
    client: httpx.AsyncClient, headers: dict[str, str], **body: object
) -> dict[str, object]:
    created = await client.post(
        "/v1/saved-searches", json={"name": "Fish", **body}, headers=headers
    )
    assert created.status_code == 201, created.text
    assert created.headers["ETag"] == '"v1"'
    assert created.headers["Location"] == f"/v1/saved-searches/{created.json()['id']}"
    saved: dict[str, object] = created.json()
    return saved


def backdate(session: Session, saved_id: object, seen: datetime) -> None:
    """As if the person had last looked at ``seen``."""
    row = session.get(SavedSearch, saved_id)
    assert row is not None
    row.last_seen_at = seen
    session.add(row)
    session.commit()


def parse_feed(body: bytes) -> ET.Element:
    root = ET.fromstring(body)  # well-formed XML, or this raises
    assert root.tag == f"{ATOM}feed"
    return root


# --- the API -------------------------------------------------------------------------------


async def test_a_person_saves_a_catalogue_query_and_only_they_see_it(
    client: httpx.AsyncClient, world: World
) -> None:
    alice = await person(client, world, "alice@fund.example")
    bob = await person(client, world, "bob@fund.example")  # same organisation, another person
    saved = await save(
        client, alice, params={"q": "fish", "sector": "agri-food", "limit": 5, "offset": 20}
    )
    assert saved["kind"] == "search"
    assert saved["params"] == {"q": "fish", "sector": "agri-food"}  # no paging kept
    assert saved["frequency"] == "none"
    assert str(saved["feed_url"]).startswith("http://test/feeds/")
    url = f"/v1/saved-searches/{saved['id']}"

    mine = await client.get(url, headers=alice)
    assert mine.status_code == 200
    assert mine.headers["ETag"] == '"v1"'
    listed = (await client.get("/v1/saved-searches", headers=alice)).json()
    assert [s["id"] for s in listed["data"]] == [saved["id"]]

    # Another person finds nothing: not by id, nor to change, delete or read.
    assert (await client.get("/v1/saved-searches", headers=bob)).json() == {"data": [], "count": 0}
    for method, path, extra in (
        ("GET", url, {}),
        ("GET", f"{url}/listings", {}),
        ("PATCH", url, {"json": {"name": "Mine now"}}),
        ("DELETE", url, {}),
        ("POST", f"{url}/feed-token", {}),
        ("POST", f"{url}/seen", {}),
    ):
        answer = await client.request(
            method,
            path,
            headers=bob | {"If-Match": '"v1"'},
            **extra,  # type: ignore[arg-type]
        )
        assert answer.status_code == 404, (method, path, answer.text)
    assert (await client.get(url, headers=alice)).json()["name"] == "Fish"

    # A key is no person: told so; without credentials, 401.
    refused = await client.get("/v1/saved-searches", headers=auth(world.investor_key))
    assert refused.status_code == 403
    assert "session token" in refused.json()["detail"]
    keyed = await client.post(
        "/v1/saved-searches", json={"name": "x"}, headers=auth(world.investor_key)
    )
    assert keyed.status_code == 403
    assert (await client.get("/v1/saved-searches")).status_code == 401


async def test_bad_input_names_the_field(client: httpx.AsyncClient, world: World) -> None:
    alice = await person(client, world, "alice@fund.example")
    cases = [
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "ok", "params": {"sector": "no-such-sector"}}, "params.sector"),
        ({"name": "ok", "params": {"capital_min": 10, "capital_max": 5}}, "params.capital_max"),
        ({"name": "ok", "params": {"colour": "red"}}, "params.colour"),
        ({"name": "ok", "params": {"city": "atlantis"}}, "params.city"),
        ({"name": "ok", "params": {"province": "99"}}, "params.province"),
        ({"name": "ok", "params": {"smart_block": "nowhere"}}, "params.smart_block"),
        ({"name": "ok", "frequency": "hourly"}, "frequency"),
        ({"name": "ok", "min_score": 60}, "min_score"),  # kind search has no score
        ({"name": "ok", "kind": "matches"}, "profile_id"),
        ({"name": "ok", "kind": "matches", "profile_id": 999_999}, "profile_id"),
        ({"name": "ok", "kind": "matches", "profile_id": 1, "min_score": 101}, "min_score"),
    ]
    for body, field in cases:
        answer = await client.post("/v1/saved-searches", json=body, headers=alice)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["field"] == field, (body, answer.json())
    assert (await client.get("/v1/saved-searches", headers=alice)).json()["count"] == 0


async def test_edits_need_the_current_version(
    client: httpx.AsyncClient, world: World, session: Session
) -> None:
    alice = await person(client, world, "alice@fund.example")
    saved = await save(client, alice)
    url = f"/v1/saved-searches/{saved['id']}"

    missing = await client.patch(url, json={"name": "Renamed"}, headers=alice)
    assert missing.status_code == 428
    renamed = await client.patch(
        url, json={"name": "Renamed", "frequency": "daily"}, headers=alice | {"If-Match": '"v1"'}
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.headers["ETag"] == '"v2"'
    assert renamed.json()["frequency"] == "daily"
    assert renamed.json()["last_digest_at"] is not None  # the first digest a day from now

    stale = await client.patch(url, json={"name": "Lost"}, headers=alice | {"If-Match": '"v1"'})
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    assert (await client.get(url, headers=alice)).json()["name"] == "Renamed"
    null_name = await client.patch(url, json={"name": None}, headers=alice | {"If-Match": '"v2"'})
    assert null_name.status_code == 422

    assert (await client.delete(url, headers=alice)).status_code == 428
    assert (await client.delete(url, headers=alice | {"If-Match": '"v1"'})).status_code == 412
    gone = await client.delete(url, headers=alice | {"If-Match": '"v2"'})
    assert gone.status_code == 204
    assert (await client.get(url, headers=alice)).status_code == 404
    assert session.exec(select(SavedSearch)).all() == []


async def test_new_listings_are_flagged_until_marked_seen(
    client: httpx.AsyncClient, world: World, session: Session
) -> None:
    alice = await person(client, world, "alice@fund.example")
    await create_and_publish(client, world.nakhon_sawan_key, slug="fish-balls")
    saved = await save(client, alice, params={"city": "nakhon-sawan"})
    url = f"/v1/saved-searches/{saved['id']}"
    await create_and_publish(
        client, world.nakhon_sawan_key, slug="dried-fish", title_en="Dried fish", title_th="ปลาแห้ง"
    )
    await create_and_publish(
        client, world.rayong_key, slug="rayong-port", city="rayong", smart_block=None
    )

    listed = (await client.get(f"{url}/listings", headers=alice)).json()
    assert [(item["listing"]["slug"], item["new"]) for item in listed["data"]] == [
        ("dried-fish", True),  # newest first; published after the search was saved
        ("fish-balls", False),
    ]
    assert (listed["count"], listed["new_count"]) == (2, 1)

    # Marked seen up to what was shown: a listing published meanwhile stays new.
    shown_at = listed["as_of"]
    await create_and_publish(client, world.nakhon_sawan_key, slug="fish-sauce")
    marked = await client.post(f"{url}/seen", json={"at": shown_at}, headers=alice)
    assert marked.status_code == 204
    again = (await client.get(f"{url}/listings", headers=alice)).json()
    assert [i["listing"]["slug"] for i in again["data"] if i["new"]] == ["fish-sauce"]
    # An older mark never moves it back; a bare one marks everything seen.
    old = (utcnow() - timedelta(days=30)).isoformat()
    assert (await client.post(f"{url}/seen", json={"at": old}, headers=alice)).status_code == 204
    assert (await client.get(f"{url}/listings", headers=alice)).json()["new_count"] == 1
    assert (await client.post(f"{url}/seen", headers=alice)).status_code == 204
    assert (await client.get(f"{url}/listings", headers=alice)).json()["new_count"] == 0
    # Marking seen is no edit: the version stays.
    assert (await client.get(url, headers=alice)).headers["ETag"] == '"v1"'
    naive = await client.post(f"{url}/seen", json={"at": "2026-01-01T00:00:00"}, headers=alice)
    assert naive.status_code == 422


async def test_matches_above_a_score(client: httpx.AsyncClient, world: World) -> None:
    alice = await person(client, world, "alice@fund.example")
    profile_id = await create_profile(client, world.investor_key)
    for body in MARKET_LISTINGS:  # a fish-ball factory, a cold store, a noodle franchise
        await create_and_publish(client, world.nakhon_sawan_key, **body)
    saved = await save(client, alice, kind="matches", profile_id=profile_id, min_score=0)
    url = f"/v1/saved-searches/{saved['id']}"
    found = (await client.get(f"{url}/listings", headers=alice)).json()["data"]
    scores = {item["listing"]["slug"]: item["score"] for item in found}
    assert set(scores) == {"fish-balls", "noodle-shop"}  # the cold store fails the ticket
    assert 0 < scores["noodle-shop"] < scores["fish-balls"] <= 100

    between = (scores["noodle-shop"] + scores["fish-balls"]) / 2
    raised = await client.patch(
        url, json={"min_score": between}, headers=alice | {"If-Match": '"v1"'}
    )
    assert raised.status_code == 200, raised.text
    found = (await client.get(f"{url}/listings", headers=alice)).json()["data"]
    assert [item["listing"]["slug"] for item in found] == ["fish-balls"]
    default = await client.patch(
        url, json={"min_score": None}, headers=alice | {"If-Match": '"v2"'}
    )
    assert default.json()["min_score"] == 55.0  # the matching threshold

    # Another organisation's profile cannot be followed.
    rayong = await person(client, world, "staff@rayong.example", org="rayong-dev")
    refused = await client.post(
        "/v1/saved-searches",
        json={"name": "Theirs", "kind": "matches", "profile_id": profile_id},
        headers=rayong,
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "profile_id"


# --- the feed ------------------------------------------------------------------------------


async def test_the_feed_is_atom_with_escaped_titles_and_absolute_links(
    client: httpx.AsyncClient, world: World, session: Session
) -> None:
    alice = await person(client, world, "alice@fund.example")
    saved = await save(client, alice, params={"city": "nakhon-sawan"})
    await create_and_publish(client, world.nakhon_sawan_key, slug="fish-balls")
    await create_and_publish(
        client, world.nakhon_sawan_key, slug="port", title_en=UNSAFE_TITLE, title_th="ท่าเรือ & <ท่า>"
    )
    feed_url = str(saved["feed_url"])
    answer = await client.get(feed_url)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/atom+xml")
    assert "private" in answer.headers["cache-control"]
    assert b"<b>" not in answer.content  # markup in a title is text, never markup

    root = parse_feed(answer.content)
    assert root.findtext(f"{ATOM}title") == "citydeal: Fish"
    assert root.findtext(f"{ATOM}id") == f"tag:test,2026:saved-search/{saved['id']}"
    assert root.find(f"{ATOM}link[@rel='self']").get("href") == feed_url  # type: ignore[union-attr]
    entries = root.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == [
        f"ท่าเรือ & <ท่า> / {UNSAFE_TITLE}",  # newest first, Thai / English, as typed
        "โรงงานผลิตลูกชิ้นปลา / Fish-ball factory",
    ]
    ids = {listing.slug: listing.id for listing in session.exec(select(Listing)).all()}
    first = entries[0]
    assert first.find(f"{ATOM}link").get("href") == "http://test/listings/port"  # type: ignore[union-attr]
    assert first.findtext(f"{ATOM}id") == f"tag:test,2026:listing/{ids['port']}"
    updated = datetime.fromisoformat(first.findtext(f"{ATOM}updated") or "")
    assert updated.tzinfo is not None
    assert entries[1].findtext(f"{ATOM}updated") <= first.findtext(f"{ATOM}updated")  # type: ignore[operator]
    assert root.find(f"{ATOM}author/{ATOM}name") is not None  # Atom requires an author

    # The same entry keeps its id: a reader does not see it twice.
    again = parse_feed((await client.get(feed_url)).content)
    assert [e.findtext(f"{ATOM}id") for e in again.findall(f"{ATOM}entry")] == [
        e.findtext(f"{ATOM}id") for e in entries
    ]


async def test_the_feed_uses_the_public_url_and_a_replaced_token_stops_working(
    client: httpx.AsyncClient, world: World, app: FastAPI
) -> None:
    alice = await person(client, world, "alice@fund.example")
    saved = await save(client, alice)
    await create_and_publish(client, world.nakhon_sawan_key, slug="fish-balls")
    services: Services = app.state.services
    services.settings = services.settings.model_copy(
        update={"public_url": "https://citydeal.example/"}
    )
    url = f"/v1/saved-searches/{saved['id']}"
    current = (await client.get(url, headers=alice)).json()
    assert current["feed_url"].startswith("https://citydeal.example/feeds/")
    old_path = "/" + current["feed_url"].split("/", 3)[3]
    feed = parse_feed((await client.get(old_path)).content)
    links = [link.get("href") for link in feed.iter(f"{ATOM}link")]
    assert "https://citydeal.example/listings/fish-balls" in links

    assert (await client.post(f"{url}/feed-token", headers=alice)).status_code == 428
    rotated = await client.post(f"{url}/feed-token", headers=alice | {"If-Match": '"v1"'})
    assert rotated.status_code == 200, rotated.text
    assert rotated.headers["ETag"] == '"v2"'
    new_path = "/" + rotated.json()["feed_url"].split("/", 3)[3]
    assert new_path != old_path
    assert (await client.get(old_path)).status_code == 404
    assert (await client.get(new_path)).status_code == 200
    assert (await client.get("/feeds/" + "x" * 43 + ".atom")).status_code == 404


# --- the portal ------------------------------------------------------------------------------


async def test_saving_from_the_catalogue_then_renaming_without_javascript(
    client: httpx.AsyncClient, world: World, session: Session
) -> None:
    await person(client, world, "alice@fund.example")
    await create_and_publish(client, world.nakhon_sawan_key, slug="fish-balls")
    anonymous = await client.get("/?q=fish&lang=en")
    assert 'data-testid="save-search"' not in anonymous.text  # for a signed-in person only
    await portal_sign_in(client, "alice@fund.example")
    catalogue = await client.get("/?q=fish&city=nakhon-sawan&lang=en")
    assert 'data-testid="save-search"' in catalogue.text
    form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', catalogue.text))
    assert form["city"] == "nakhon-sawan"

    # A blank name comes back beside its field, the query kept.
    blank = await client.post(
        "/saved-searches",
        data={"csrf_token": csrf(catalogue.text), "q": "fish", "city": "nakhon-sawan", "name": " "},
    )
    assert blank.status_code == 422
    assert 'id="draft-name-error"' in blank.text
    assert 'name="city" value="nakhon-sawan"' in blank.text
    assert session.exec(select(SavedSearch)).all() == []

    saved = await client.post(
        "/saved-searches",
        data={
            "csrf_token": csrf(catalogue.text),
            "q": "fish",
            "city": "nakhon-sawan",
            "name": "Fish in Nakhon Sawan",
        },
    )
    assert saved.status_code == 303, saved.text
    row = session.exec(select(SavedSearch)).one()
    assert row.params == {"q": "fish", "city": "nakhon-sawan"}

    listing_page = await client.get("/saved-searches?lang=en")
    assert listing_page.status_code == 200
    assert "Fish in Nakhon Sawan" in listing_page.text
    assert f"/feeds/{row.feed_token}.atom" in listing_page.text
    token = csrf(listing_page.text)

    # Two tabs: the first renames, the second's older form is refused and explained.
    first = await client.post(
        f"/saved-searches/{row.id}",
        data={"csrf_token": token, "version": "1", "name": "Fish", "frequency": "weekly"},
    )
    assert first.status_code == 303
    second = await client.post(
        f"/saved-searches/{row.id}",
        data={"csrf_token": token, "version": "1", "name": "Fish balls", "frequency": "none"},
    )
    assert second.status_code == 409
    assert 'data-testid="conflict"' in second.text
    assert 'value="Fish balls"' in second.text  # what was typed is kept
    assert 'name="version" value="2"' in second.text  # ...to send again, deliberately
    session.expire_all()
    assert (row.name, row.frequency) == ("Fish", "weekly")

    too_long = await client.post(
        f"/saved-searches/{row.id}",
        data={"csrf_token": token, "version": "2", "name": "x" * 201, "frequency": "weekly"},
    )
    assert too_long.status_code == 422
    assert f'id="name-{row.id}-error"' in too_long.text

    gone = await client.post(
        f"/saved-searches/{row.id}/delete", data={"csrf_token": token, "version": "2"}
    )
    assert gone.status_code == 303
    assert session.exec(select(SavedSearch)).all() == []


async def test_the_saved_search_page_flags_new_listings_once(
    client: httpx.AsyncClient, world: World, session: Session
) -> None:
    alice = await person(client, world, "alice@fund.example")
    await create_and_publish(client, world.nakhon_sawan_key, slug="fish-balls")
    saved = await save(client, alice, params={"city": "nakhon-sawan"})
    await create_and_publish(
        client, world.nakhon_sawan_key, slug="dried-fish", title_th="ปลาแห้ง", title_en="Dried fish"
    )
    await portal_sign_in(client, "alice@fund.example")
    overview = await client.get("/saved-searches?lang=th")
    assert 'data-testid="new-count"' in overview.text

    first = await client.get(f"/saved-searches/{saved['id']}?lang=th")
    assert first.status_code == 200
    flagged = re.findall(r'data-slug="([\w-]+)" data-new="true"', first.text)
    assert flagged == ["dried-fish"]
    shown = visible(first.text)
    assert "ปลาแห้ง" in shown
    assert not english_values_in(shown)

    second = await client.get(f"/saved-searches/{saved['id']}?lang=th")
    assert 'data-new="true"' not in second.text  # seeing them marked them seen
    other = await person(client, world, "bob@fund.example")
    assert other  # signed in through the API only; the portal session is alice's
    assert (await client.get("/saved-searches/999999")).status_code == 404


async def test_saving_matches_from_a_form(
    client: httpx.AsyncClient, world: World, session: Session
) -> None:
    await person(client, world, "alice@fund.example")
    profile_id = await create_profile(client, world.investor_key)
    await portal_sign_in(client, "alice@fund.example")
    page = await client.get("/saved-searches?lang=en")
    token = csrf(page.text)
    bad = await client.post(
        "/saved-searches/matches",
        data={"csrf_token": token, "profile_id": str(profile_id), "name": "M", "min_score": "abc"},
    )
    assert bad.status_code == 422
    assert 'id="draft-score-error"' in bad.text
    made = await client.post(
        "/saved-searches/matches",
        data={"csrf_token": token, "profile_id": str(profile_id), "name": "M", "min_score": "70"},
    )
    assert made.status_code == 303, made.text
    row = session.exec(select(SavedSearch)).one()
    assert (row.kind, row.profile_id, row.min_score) == ("matches", profile_id, 70.0)
    listed = await client.get("/saved-searches?lang=en")
    assert f'id="score-{row.id}"' in listed.text


@pytest.mark.parametrize("path", ["/saved-searches", "/saved-searches/1"])
async def test_the_pages_need_a_person(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path)).status_code == 401


async def test_a_listing_title_with_markup_shows_as_text_on_the_page(
    client: httpx.AsyncClient, world: World
) -> None:
    alice = await person(client, world, "alice@fund.example")
    saved = await save(client, alice)
    body = listing_payload(slug="port", title_en=UNSAFE_TITLE)
    created = await client.post("/v1/listings", json=body, headers=auth(world.nakhon_sawan_key))
    assert created.status_code == 201
    await client.post(
        "/v1/listings/port/publish",
        headers=await with_version(client, "/v1/listings/port", auth(world.nakhon_sawan_key)),
    )
    await portal_sign_in(client, "alice@fund.example")
    page = await client.get(f"/saved-searches/{saved['id']}?lang=en")
    assert "<b>A</b>" not in page.text
    assert "&lt;b&gt;A&lt;/b&gt;" in page.text
