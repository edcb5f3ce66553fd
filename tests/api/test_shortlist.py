"""A person's shortlist and side-by-side comparisons, over the API and in the portal:
persons only (a key is told why not), adding is idempotent, only published listings go
on, an archived one stays (marked), and 2 to 4 listings compare; anything else is
explained, in Thai too."""

from __future__ import annotations

import re
from datetime import date

import httpx
import pytest
from sqlmodel import Session, select

from catalog import service
from catalog.models import Checkpoint, Listing
from catalog.schemas import ListingCreate
from matching.models import ShortlistItem
from tests.api.test_thai_all_the_way import english_values_in, visible
from tests.factories import (
    World,
    auth,
    create_and_publish,
    listing_payload,
    publisher_of,
    with_version,
)

PASSWORD = "correct horse battery"
# Latin words a Thai page may show: acronyms Thai readers use as they are.
LATIN_ALLOWED = {"IRR", "API", "PPP", "BOT", "BOI"}


async def person(client: httpx.AsyncClient, world: World, email: str) -> dict[str, str]:
    """An investor's person with a session token: invited by the admin, password set."""
    invited = await client.post(
        "/v1/organisations/siam-infra-fund/invitations",
        json={"email": email},
        headers=auth(world.admin_key),
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


def latin_words(html: str) -> set[str]:
    """Latin-script words a reader sees (not in data-verbatim, code or lang="en" parts)."""
    return set(re.findall(r"[A-Za-z]{2,}", visible(html))) - LATIN_ALLOWED


async def three_listings(client: httpx.AsyncClient, world: World) -> list[str]:
    return [
        await create_and_publish(client, world.nakhon_sawan_key, slug="fish-balls"),
        await create_and_publish(
            client,
            world.nakhon_sawan_key,
            slug="cold-store",
            kind="infrastructure",
            title_th="ห้องเย็นตลาดเก่า",
            title_en="Old market cold store",
            sector="cold-chain",
            capital_min_thb=30_000_000,
            capital_max_thb=60_000_000,
            investment_models=["debt"],
            expected_irr_pct=None,
            how_to_invest=[],
        ),
        await create_and_publish(
            client,
            world.rayong_key,
            slug="rayong-ev-chargers",
            city="rayong",
            smart_block=None,
            sector="electric-mobility",
            title_th="สถานีชาร์จรถยนต์ไฟฟ้าริมน้ำ",
            title_en="Riverfront EV chargers",
            stage="feasibility-done",
            investment_models=["ppp", "concession"],
        ),
    ]


async def archive(client: httpx.AsyncClient, key: str, slug: str) -> None:
    archived = await client.post(
        f"/v1/listings/{slug}/archive",
        headers=await with_version(client, f"/v1/listings/{slug}", auth(key)),
    )
    assert archived.status_code == 200, archived.text


# --- the API ---------------------------------------------------------------------------


async def test_a_person_keeps_a_shortlist_and_adding_twice_changes_nothing(
    client: httpx.AsyncClient, world: World, session: Session
) -> None:
    slugs = await three_listings(client, world)
    me = await person(client, world, "fund@siam.example")
    first = await client.put(f"/v1/shortlist/{slugs[0]}", headers=me)
    assert first.status_code == 201, first.text
    assert first.json()["listing"]["slug"] == slugs[0]
    again = await client.put(f"/v1/shortlist/{slugs[0]}", headers=me)
    assert again.status_code == 200
    assert again.json()["added_at"] == first.json()["added_at"]
    assert (await client.put(f"/v1/shortlist/{slugs[2]}", headers=me)).status_code == 201
    assert len(session.exec(select(ShortlistItem)).all()) == 2

    listed = (await client.get("/v1/shortlist", headers=me)).json()
    assert listed["count"] == 2
    assert [e["listing"]["slug"] for e in listed["data"]] == [slugs[2], slugs[0]]  # newest first

    assert (await client.delete(f"/v1/shortlist/{slugs[0]}", headers=me)).status_code == 204
    assert (await client.delete(f"/v1/shortlist/{slugs[0]}", headers=me)).status_code == 204
    listed = (await client.get("/v1/shortlist", headers=me)).json()
    assert [e["listing"]["slug"] for e in listed["data"]] == [slugs[2]]

    # Someone else's shortlist is their own.
    other = await person(client, world, "colleague@siam.example")
    assert (await client.get("/v1/shortlist", headers=other)).json()["count"] == 0


async def test_a_key_is_told_the_shortlist_needs_a_person(
    client: httpx.AsyncClient, world: World
) -> None:
    slug = await create_and_publish(client, world.nakhon_sawan_key)
    for call in (
        client.get("/v1/shortlist", headers=auth(world.investor_key)),
        client.put(f"/v1/shortlist/{slug}", headers=auth(world.investor_key)),
        client.delete(f"/v1/shortlist/{slug}", headers=auth(world.investor_key)),
    ):
        refused = await call
        assert refused.status_code == 403
        assert refused.json()["field"] == "authorization"
        assert "session token" in refused.json()["detail"]
    anonymous = await client.get("/v1/shortlist")
    assert anonymous.status_code == 401


async def test_only_published_listings_go_on_and_archived_ones_stay_marked(
    client: httpx.AsyncClient, world: World, session: Session
) -> None:
    slugs = await three_listings(client, world)
    me = await person(client, world, "fund@siam.example")
    draft = service.create_listing(
        session,
        data=ListingCreate.model_validate(listing_payload(slug="a-draft")),
        principal=publisher_of(session),
    )
    session.commit()
    assert (await client.put(f"/v1/shortlist/{draft.slug}", headers=me)).status_code == 404
    assert (await client.put("/v1/shortlist/no-such-listing", headers=me)).status_code == 404

    assert (await client.put(f"/v1/shortlist/{slugs[0]}", headers=me)).status_code == 201
    await archive(client, world.nakhon_sawan_key, slugs[0])
    await archive(client, world.nakhon_sawan_key, slugs[1])
    refused = await client.put(f"/v1/shortlist/{slugs[1]}", headers=me)
    assert refused.status_code == 409
    assert refused.json()["field"] == "listing"
    # Already on the list: still there, marked archived; putting it again is harmless.
    assert (await client.put(f"/v1/shortlist/{slugs[0]}", headers=me)).status_code == 200
    entry = (await client.get("/v1/shortlist", headers=me)).json()["data"][0]
    assert entry["listing"]["slug"] == slugs[0]
    assert entry["listing"]["status"] == "archived"


async def test_two_to_four_listings_compare_side_by_side(
    client: httpx.AsyncClient, world: World
) -> None:
    slugs = await three_listings(client, world)
    compared = await client.get("/v1/compare", params={"listing": slugs})
    assert compared.status_code == 200, compared.text
    body = compared.json()
    assert body["count"] == 3
    assert [c["slug"] for c in body["data"]] == slugs  # in the order asked for
    fish, cold, chargers = body["data"]
    assert fish["steps_count"] == 2
    assert [s["title_en"] for s in fish["how_to_invest"]][0] == "Register the company"
    assert cold["steps_count"] == 0
    assert cold["expected_irr_pct"] is None
    assert chargers["investment_models"] == ["concession", "ppp"]
    assert chargers["city"]["province"]["code"] == "21"
    assert [c["months"] for c in fish["checkpoints"]] == [6, 12]
    assert {c["state"] for c in fish["checkpoints"]} == {"pending"}


@pytest.mark.parametrize(
    ("asked", "status", "field"),
    [
        ([], 422, "listing"),
        (["fish-balls"], 422, "listing"),
        (["fish-balls", "fish-balls"], 422, "listing"),  # the same listing twice is one
        (["fish-balls", "cold-store", "rayong-ev-chargers", "a", "b"], 422, "listing"),
        (["fish-balls", "no-such-listing"], 404, "listing"),
        (["fish-balls", "Not A Slug!"], 422, "listing.1"),
    ],
)
async def test_a_bad_comparison_names_the_problem(
    client: httpx.AsyncClient, world: World, asked: list[str], status: int, field: str
) -> None:
    await three_listings(client, world)
    refused = await client.get("/v1/compare", params={"listing": asked})
    assert refused.status_code == status, refused.text
    assert refused.json()["field"] == field


async def test_an_archived_listing_compares_only_for_whoever_kept_it(
    client: httpx.AsyncClient, world: World
) -> None:
    slugs = await three_listings(client, world)
    me = await person(client, world, "fund@siam.example")
    await client.put(f"/v1/shortlist/{slugs[0]}", headers=me)
    await archive(client, world.nakhon_sawan_key, slugs[0])
    pair = {"listing": slugs[:2]}
    assert (await client.get("/v1/compare", params=pair)).status_code == 404  # the public
    kept = await client.get("/v1/compare", params=pair, headers=me)
    assert kept.status_code == 200
    assert kept.json()["data"][0]["status"] == "archived"


# --- the portal ------------------------------------------------------------------------


async def test_a_person_shortlists_from_the_pitch_page_and_results_then_compares(
    client: httpx.AsyncClient, world: World
) -> None:
    slugs = await three_listings(client, world)
    await person(client, world, "fund@siam.example")
    await portal_sign_in(client, "fund@siam.example")

    pitch = await client.get(f"/listings/{slugs[0]}", params={"lang": "en"})
    assert 'data-testid="add-to-shortlist"' in pitch.text
    added = await client.post(
        f"/shortlist/{slugs[0]}",
        data={"csrf_token": csrf(pitch.text), "next": f"/listings/{slugs[0]}"},
    )
    assert added.status_code == 303
    assert added.headers["location"] == f"/listings/{slugs[0]}"
    pitch = await client.get(f"/listings/{slugs[0]}")
    assert 'data-testid="on-shortlist"' in pitch.text
    assert 'data-testid="add-to-shortlist"' not in pitch.text

    results = await client.get("/")
    assert results.text.count('data-testid="add-to-shortlist"') == 2  # the other two
    assert results.text.count('data-testid="on-shortlist"') == 1
    added = await client.post(
        f"/shortlist/{slugs[2]}", data={"csrf_token": csrf(results.text), "next": "/?q=ev"}
    )
    assert added.headers["location"] == "/?q=ev"
    # A "next" that leads off the site is not followed.
    offsite = await client.post(
        f"/shortlist/{slugs[1]}",
        data={"csrf_token": csrf(results.text), "next": "//evil.example/"},
    )
    assert offsite.headers["location"] == f"/listings/{slugs[1]}"

    page = await client.get("/shortlist", params={"lang": "en"})
    assert page.status_code == 200
    assert page.text.count('data-testid="shortlist-entry"') == 3
    assert "Riverfront EV chargers" in page.text
    assert "Nakhon Sawan" in page.text
    assert 'form="compare" name="listing"' in page.text

    compared = await client.get("/compare", params={"listing": [slugs[0], slugs[2]]})
    assert compared.status_code == 200
    assert compared.text.count('data-testid="compared-listing"') == 2
    assert "Register the company" in compared.text
    assert "2 steps" in compared.text

    removed = await client.post(
        f"/shortlist/{slugs[1]}/remove", data={"csrf_token": csrf(page.text), "next": ""}
    )
    assert removed.headers["location"] == "/shortlist?notice=shortlist_removed"
    page = await client.get(removed.headers["location"])
    assert "Taken off your shortlist" in page.text
    assert page.text.count('data-testid="shortlist-entry"') == 2


async def test_without_a_person_the_shortlist_page_asks_to_sign_in(
    client: httpx.AsyncClient, world: World
) -> None:
    slug = await create_and_publish(client, world.nakhon_sawan_key)
    page = await client.get("/shortlist", params={"lang": "en"})
    assert page.status_code == 401
    assert "Please sign in" in page.text
    pitch = await client.get(f"/listings/{slug}", params={"lang": "en"})
    assert "Sign in to keep a shortlist" in pitch.text
    refused = await client.post(f"/shortlist/{slug}", data={"csrf_token": "x"})
    assert refused.status_code == 401


async def test_a_forged_add_is_refused(client: httpx.AsyncClient, world: World) -> None:
    slug = await create_and_publish(client, world.nakhon_sawan_key)
    await person(client, world, "fund@siam.example")
    await portal_sign_in(client, "fund@siam.example")
    forged = await client.post(f"/shortlist/{slug}", data={"csrf_token": "forged"})
    assert forged.status_code == 400
    assert (await client.get("/shortlist")).text.count('data-testid="shortlist-entry"') == 0


@pytest.mark.parametrize("lang", ["th", "en"])
@pytest.mark.parametrize(
    ("asked", "status"),
    [
        ([], 422),
        (["fish-balls"], 422),
        (["fish-balls", "x", "y", "z", "w"], 422),
        (["fish-balls", "gone"], 404),
        (["fish-balls", "<script>"], 404),
    ],
)
async def test_a_bad_comparison_is_explained_on_the_page(
    client: httpx.AsyncClient, world: World, asked: list[str], status: int, lang: str
) -> None:
    await create_and_publish(client, world.nakhon_sawan_key, slug="fish-balls")
    page = await client.get("/compare", params={"listing": asked, "lang": lang})
    assert page.status_code == status
    assert 'data-testid="compare-problem"' in page.text
    assert "<script>" not in page.text.split("<main", 1)[1]
    if lang == "th":
        assert "เลือกโครงการ" in page.text or "ไม่ได้เผยแพร่" in page.text
        assert latin_words(page.text) == set(), (page.url, latin_words(page.text))


async def test_thai_pages_of_the_shortlist_have_no_english_words(
    client: httpx.AsyncClient, world: World, session: Session
) -> None:
    slugs = await three_listings(client, world)
    # The cold store's 6-month checkpoint went unreported: it reads overdue.
    listing = session.exec(select(Listing).where(Listing.slug == slugs[1])).one()
    checkpoint = session.exec(
        select(Checkpoint).where(Checkpoint.listing_id == listing.id, Checkpoint.months == 6)
    ).one()
    checkpoint.due_on = date(2025, 1, 1)
    session.add(checkpoint)
    session.commit()
    me = await person(client, world, "fund@siam.example")
    for slug in slugs:
        await client.put(f"/v1/shortlist/{slug}", headers=me)
    await archive(client, world.nakhon_sawan_key, slugs[0])
    await portal_sign_in(client, "fund@siam.example")

    shortlist = await client.get("/shortlist", params={"lang": "th"})
    assert 'data-testid="archived"' in shortlist.text
    assert "เก็บถาวร" in shortlist.text
    compared = await client.get("/compare", params={"listing": slugs, "lang": "th"})
    assert compared.status_code == 200
    assert "2 ขั้นตอน" in compared.text
    assert "เลยกำหนดรายงาน" in compared.text  # overdue, as the pitch page says it
    for page in (shortlist, compared):
        assert english_values_in(visible(page.text)) == set()
        assert latin_words(page.text) == set(), (page.url, latin_words(page.text))
    # On the pitch page (whose contacts and publisher are test data in Latin script),
    # the button and the currency selector.
    pitch = (await client.get(f"/listings/{slugs[2]}", params={"lang": "th"})).text
    button = pitch.split('class="shortlist-button', 1)[1].split("</form>", 1)[0]
    selector = pitch.split('data-testid="currency-selector"', 1)[1].split("</form>", 1)[0]
    assert "อยู่ในโครงการที่คัดไว้" in button
    assert latin_words(f"<p {button}</form>") == set()
    assert latin_words(f"<form {selector}</form>") == set()
