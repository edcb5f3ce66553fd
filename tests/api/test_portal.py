"""The portal over HTTP: pages, languages, escaping, and the publisher's signed-in flow."""

from __future__ import annotations

import re
from urllib.parse import quote_plus

import httpx
import pytest

from tests.factories import World, auth, listing_payload, profile_payload, with_version

EVIL = "<script>alert('x')</script>"


@pytest.fixture
async def published(client: httpx.AsyncClient, world: World) -> httpx.AsyncClient:
    key = auth(world.nakhon_sawan_key)
    body = listing_payload(summary_en=f"Safe {EVIL} summary", description_th=f"รายละเอียด {EVIL}")
    assert (await client.post("/v1/listings", json=body, headers=key)).status_code == 201
    assert (
        await client.post(
            "/v1/listings/fish-ball-factory/publish",
            headers=await with_version(client, "/v1/listings/fish-ball-factory", key),
        )
    ).status_code == 200
    draft = listing_payload(slug="secret-plan", title_en="Secret plan")
    assert (await client.post("/v1/listings", json=draft, headers=key)).status_code == 201
    return client


async def test_catalogue_speaks_thai_first_and_english_on_request(
    published: httpx.AsyncClient,
) -> None:
    thai = await published.get("/")
    assert thai.status_code == 200
    assert '<html lang="th">' in thai.text
    assert "โรงงานผลิตลูกชิ้นปลา" in thai.text
    english = await published.get("/?lang=en")
    assert '<html lang="en">' in english.text
    assert english.cookies.get("lang") == "en"
    remembered = await published.get("/")  # the cookie now carries the choice
    assert '<html lang="en">' in remembered.text
    assert "Fish-ball factory" in remembered.text


async def test_search_page_highlights_and_counts(published: httpx.AsyncClient) -> None:
    page = await published.get("/", params={"q": "ลูกชิ้น", "lang": "th"})
    assert "โรงงานผลิต<mark>ลูกชิ้น</mark>ปลา" in page.text
    assert re.search(r'data-testid="result-count">1<', page.text)
    assert 'data-facet="kind" data-value="trade"' in page.text
    narrowed = await published.get("/", params={"q": "ลูกชิ้น", "kind": "infrastructure"})
    assert re.search(r'data-testid="result-count">0<', narrowed.text)
    assert "Secret plan" not in page.text


async def test_facet_links_keep_the_query_and_start_again_at_page_one(
    published: httpx.AsyncClient,
) -> None:
    page = await published.get("/", params={"q": "ลูกชิ้น", "offset": "20", "lang": "en"})
    choose = re.search(r'<a href="([^"]+)" aria-current="false" data-facet="kind"', page.text)
    assert choose is not None
    query = quote_plus("ลูกชิ้น")
    assert choose.group(1) == f"/?q={query}&amp;lang=en&amp;kind=trade"  # no offset
    chosen = await published.get("/", params={"q": "ลูกชิ้น", "kind": "trade", "lang": "en"})
    unchoose = re.search(r'<a href="([^"]+)" aria-current="true" data-facet="kind"', chosen.text)
    assert unchoose is not None
    assert "kind=" not in unchoose.group(1)
    assert "q=" in unchoose.group(1)
    assert re.search(r'data-testid="result-count">1<', chosen.text)


async def test_pages_report_their_server_time(published: httpx.AsyncClient) -> None:
    for url in ("/", "/listings/fish-ball-factory", "/v1/listings"):
        timing = (await published.get(url)).headers["server-timing"]
        assert re.fullmatch(r"app;dur=\d+\.\d\d", timing), timing


async def test_listing_text_cannot_inject_markup(published: httpx.AsyncClient) -> None:
    for url in (
        "/listings/fish-ball-factory",
        "/listings/fish-ball-factory?lang=en",
        "/?q=safe&lang=en",
    ):
        page = await published.get(url)
        assert page.status_code == 200
        assert EVIL not in page.text
    pitch = await published.get("/listings/fish-ball-factory?lang=en")
    assert "&lt;script&gt;" in pitch.text


async def test_pitch_page_has_figures_steps_and_preview_tags(published: httpx.AsyncClient) -> None:
    thai = (await published.get("/listings/fish-ball-factory?lang=th")).text
    assert '<meta property="og:title" content="โรงงานผลิตลูกชิ้นปลา">' in thai
    assert "5–12 ล้านบาท" in thai
    assert "ขอใบอนุญาตประกอบกิจการโรงงาน" in thai
    assert "1 กันยายน พ.ศ. 2569" in thai  # last verified, in the Buddhist era
    english = (await published.get("/listings/fish-ball-factory?lang=en")).text
    assert "THB 5M–12M" in english
    assert "1 September 2026" in english
    assert "6-month checkpoint" in english
    assert "openstreetmap.org/?mlat=15.7&amp;mlon=100.1" in english  # the city's coordinates
    assert (await published.get("/listings/secret-plan")).status_code == 404
    missing = await published.get("/listings/nothing-here")
    assert missing.status_code == 404
    assert "text/html" in missing.headers["content-type"]


async def test_city_page(published: httpx.AsyncClient) -> None:
    page = await published.get("/cities/nakhon-sawan?lang=en")
    assert page.status_code == 200
    assert "Old Market" in page.text
    assert "/listings/fish-ball-factory" in page.text
    assert (await published.get("/cities/atlantis")).status_code == 404


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the form"
    return match.group(1)


def _version(html: str) -> str:
    match = re.search(r'name="version" value="([0-9]+)"', html)
    assert match, "no version in the form"
    return match.group(1)


async def _sign_in(client: httpx.AsyncClient, key: str) -> httpx.Response:
    form = await client.get("/signin")
    return await client.post("/signin", data={"api_key": key, "csrf_token": _csrf(form.text)})


async def test_publisher_signs_in_edits_and_publishes(
    published: httpx.AsyncClient, world: World
) -> None:
    assert (await published.get("/dashboard")).status_code == 401
    signed_in = await _sign_in(published, world.nakhon_sawan_key)
    assert signed_in.status_code == 303
    dashboard = await published.get("/dashboard?lang=en")
    assert 'data-slug="secret-plan"' in dashboard.text
    token = _csrf(dashboard.text)

    edit = await published.get("/dashboard/listings/secret-plan/edit")
    assert edit.status_code == 200
    form = {
        "csrf_token": token,
        "version": "1",
        "title_th": "แผนลับ",
        "title_en": "Open plan",
        "summary_th": "สรุป",
        "summary_en": "",
        "description_th": "รายละเอียด",
        "description_en": "",
        "stage": "tendering",
        "capital_min_thb": "1000000",
        "capital_max_thb": "2000000",
    }
    saved = await published.post("/dashboard/listings/secret-plan/edit", data=form)
    assert saved.status_code == 303, saved.text
    stale = await published.post(
        "/dashboard/listings/secret-plan/edit", data=form | {"title_en": "Overwrite"}
    )
    assert stale.status_code == 409  # saved from version 1, stored at 2: nothing is saved
    assert 'data-field="title_en"' in stale.text
    stored = await published.get("/v1/listings/secret-plan", headers=auth(world.nakhon_sawan_key))
    assert stored.json()["title_en"] == "Open plan"
    bad = await published.post(
        "/dashboard/listings/secret-plan/edit",
        data=form | {"version": "2", "capital_min_thb": "9000000"},
    )
    assert bad.status_code == 422
    assert 'aria-invalid="true"' in bad.text
    forged = await published.post(
        "/dashboard/listings/secret-plan/publish", data={"csrf_token": "forged", "version": "2"}
    )
    assert forged.status_code == 400
    done = await published.post(
        "/dashboard/listings/secret-plan/publish", data={"csrf_token": token, "version": "2"}
    )
    assert done.status_code == 303
    listing = (await published.get("/v1/listings/secret-plan")).json()
    assert (listing["status"], listing["title_en"], listing["stage"]) == (
        "published",
        "Open plan",
        "tendering",
    )


async def test_wrong_key_and_other_organisations(
    published: httpx.AsyncClient, world: World
) -> None:
    wrong = await _sign_in(published, "cdk_00000000_nope")
    assert wrong.status_code == 401
    assert 'role="alert"' in wrong.text
    assert (await _sign_in(published, world.rayong_key)).status_code == 303
    other = await published.get("/dashboard/listings/fish-ball-factory/edit")
    assert other.status_code == 403


async def test_investor_sees_its_fit_on_a_pitch_page(
    published: httpx.AsyncClient, world: World
) -> None:
    await published.post("/v1/investors", json=profile_payload(), headers=auth(world.investor_key))
    signed_in = await _sign_in(published, world.investor_key)
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/investor"  # its own home, not the dashboard
    page = await published.get("/listings/fish-ball-factory?lang=en")
    assert 'data-testid="fit"' in page.text
    assert "Lanna Food Ventures" in page.text
    assert "is inside your THB 2M–20M ticket" in page.text


async def _pitch_day(client: httpx.AsyncClient, world: World) -> None:
    created = await client.post(
        "/v1/investors",
        json=profile_payload(name=f"Fund {EVIL}", discoverable=True),
        headers=auth(world.investor_key),
    )
    hidden = await client.post(
        "/v1/investors",
        json=profile_payload(name="Hidden Angel", discoverable=False),
        headers=auth(world.organiser_key),
    )
    event = {
        "slug": "ns-pitch-day",
        "city": "nakhon-sawan",
        "name_th": "วันนำเสนอโครงการนครสวรรค์",
        "name_en": f"Pitch day {EVIL}",
        "held_on": "2027-02-15",
        "first_slot": "08:30",
        "slot_minutes": 15,
        "slot_count": 2,
        "round_first": "09:30",
        "round_minutes": 15,
        "listings": ["fish-ball-factory"],
        "investors": [created.json()["id"], hidden.json()["id"]],
    }
    organiser = auth(world.organiser_key)
    assert (await client.post("/v1/events", json=event, headers=organiser)).status_code == 201
    scheduled = await client.post(
        "/v1/events/ns-pitch-day/schedule",
        json={"min_score": 0},
        headers=await with_version(client, "/v1/events/ns-pitch-day", organiser),
    )
    assert len(scheduled.json()["meetings"]) == 2, scheduled.text


async def test_event_page_shows_programme_and_schedule(
    published: httpx.AsyncClient, world: World
) -> None:
    await _pitch_day(published, world)
    signed_in = await _sign_in(published, world.organiser_key)
    assert signed_in.headers["location"] == "/events"
    assert "Hidden Angel" in (await published.get("/events/ns-pitch-day")).text  # its own guest
    await published.post("/signout", data={"csrf_token": _csrf((await published.get("/")).text)})
    thai = await published.get("/events/ns-pitch-day?lang=th")
    assert thai.status_code == 200
    assert "วันนำเสนอโครงการนครสวรรค์" in thai.text
    assert "15 กุมภาพันธ์ พ.ศ. 2570" in thai.text
    assert 'href="/listings/fish-ball-factory"' in thai.text
    schedule = thai.text.split('data-testid="schedule"', 1)[1]
    assert "09:30" in schedule
    assert "09:45" in schedule
    assert "นักลงทุน (ไม่เปิดเผยชื่อ)" in schedule  # the hidden investor is not named
    assert "Hidden Angel" not in thai.text
    english = await published.get("/events/ns-pitch-day?lang=en")
    assert "15 February 2027" in english.text
    assert EVIL not in english.text  # the event name and the investor's are escaped
    assert "&lt;script&gt;" in english.text
    listing = await published.get("/events?lang=en")
    assert 'href="/events/ns-pitch-day"' in listing.text
    assert (await published.get("/events/nowhere")).status_code == 404


async def test_booklet_prints_each_listing_with_its_meetings(
    published: httpx.AsyncClient, world: World
) -> None:
    await _pitch_day(published, world)
    booklet = await published.get("/events/ns-pitch-day/booklet?lang=th")
    assert booklet.status_code == 200
    pages = booklet.text.split('data-testid="booklet-listing"')[1:]
    assert len(pages) == 1
    page = pages[0]
    assert "โรงงานผลิตลูกชิ้นปลา" in page
    assert "ขอใบอนุญาตประกอบกิจการโรงงาน" in page  # the how-to-invest steps
    assert "5–12 ล้านบาท" in page
    assert "09:30" in page
    assert "09:45" in page
    assert 'href="/static/booklet.css"' in booklet.text  # the print rules: test_booklet.py
    assert EVIL not in booklet.text


async def test_organiser_reads_the_shortlist_and_plans_meetings_in_the_portal(
    published: httpx.AsyncClient, world: World
) -> None:
    await _pitch_day(published, world)
    public = await published.get("/events/ns-pitch-day?lang=en")
    assert 'data-testid="shortlist"' not in public.text  # for the organiser only
    await _sign_in(published, world.organiser_key)
    page = await published.get("/events/ns-pitch-day?lang=en")
    assert page.text.count('data-testid="shortlist"') == 1
    assert re.search(r"<title>Pitch day &lt;script&gt;.*?</title>", page.text)
    shortlist = page.text.split('data-testid="shortlist"', 1)[1]
    assert "Hidden Angel" in shortlist
    assert "/100" in shortlist
    forged = await published.post(
        "/events/ns-pitch-day/schedule",
        data={"csrf_token": "forged", "min_score": "0", "version": "1"},
    )
    assert forged.status_code == 400
    cleared = await published.patch(
        "/v1/events/ns-pitch-day",
        json={"round_count": 3},
        headers=await with_version(published, "/v1/events/ns-pitch-day", auth(world.organiser_key)),
    )
    assert cleared.json()["meetings"] == []  # new rounds: the old plan is gone
    stale_form = {"csrf_token": _csrf(page.text), "min_score": "0", "version": _version(page.text)}
    stale = await published.post("/events/ns-pitch-day/schedule", data=stale_form)
    assert stale.status_code == 412  # planned from a page older than the slot change
    assert (await published.get("/v1/events/ns-pitch-day")).json()["meetings"] == []
    fresh = await published.get("/events/ns-pitch-day?lang=en")
    form = stale_form | {"version": _version(fresh.text)}
    planned = await published.post("/events/ns-pitch-day/schedule", data=form)
    assert planned.status_code == 303
    assert planned.headers["location"] == "/events/ns-pitch-day?notice=scheduled"
    after = await published.get(planned.headers["location"])
    assert "The meetings are planned" in after.text
    assert len((await published.get("/v1/events/ns-pitch-day")).json()["meetings"]) == 2


async def test_the_catalogue_says_which_words_it_searched_for(
    published: httpx.AsyncClient,
) -> None:
    page = await published.get(
        "/", params={"q": "the fish ball factory in nakhon sawan", "lang": "en"}
    )
    assert page.status_code == 200
    said = page.text.split('data-testid="query-words"', 1)[1].split("</p>", 1)[0]
    assert "Showing results for" in said
    assert "<s>the in</s>" in said  # stop words, left out
    assert "/listings/fish-ball-factory" in page.text
