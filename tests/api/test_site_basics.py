"""What every site is asked for, over HTTP: the catalogue's filters folded for a phone and
a mistaken ticket range that keeps the search, the list of cities, each role's home in
the header, a sign-in page without command-line hints, a favicon, HEAD, robots.txt and a
sitemap of the published pitch pages."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime

import httpx
import pytest
import typer
from fastapi import FastAPI
from sqlalchemy import Connection

from api import cli
from api.main import build_services, create_app
from api.portal import public
from catalog.search.tantivy_engine import TantivyIndex
from core.db import Database
from core.settings import get_settings
from matching.matrix import MatrixStore
from tests.api.test_portal_accounts import sign_in_with_key
from tests.factories import World, create_and_publish, listing_payload
from tests.factories import auth as bearer

PUBLIC_URL = "https://citydeal.example"
SITEMAP = {"s": public.SITEMAP_NS, "xhtml": public.XHTML_NS}


@pytest.fixture
def app(connection: Connection, tantivy_index: TantivyIndex) -> FastAPI:
    """The real app, told where readers reach it (the sitemap's and robots.txt's base)."""
    settings = get_settings().model_copy(update={"public_url": PUBLIC_URL + "/"})
    services = build_services(
        settings,
        database=Database(connection, join_transaction_mode="create_savepoint"),
        search=tantivy_index,
        matrices=MatrixStore(),
    )
    return create_app(services=services)


@pytest.fixture
async def published(client: httpx.AsyncClient, world: World) -> httpx.AsyncClient:
    """The fish-ball factory published in Nakhon Sawan (5-12 million baht); a draft."""
    await create_and_publish(client, world.nakhon_sawan_key)
    draft = listing_payload(slug="secret-plan", title_en="Secret plan")
    headers = bearer(world.nakhon_sawan_key)
    assert (await client.post("/v1/listings", json=draft, headers=headers)).status_code == 201
    return client


def result_count(html: str) -> int:
    found = re.search(r'data-testid="result-count">(\d+)<', html)
    assert found, "no result count on the page"
    return int(found.group(1))


def filters_open(html: str) -> bool:
    found = re.search(r'<details class="filters"[^>]*>', html)
    assert found, "no folding filters control"
    return " open" in found.group(0)


# --- the catalogue on a phone: filters folded, a ticket range that keeps the search ---


async def test_the_filters_fold_into_one_control_closed_even_with_a_filter_chosen(
    published: httpx.AsyncClient,
) -> None:
    page = await published.get("/", params={"lang": "en"})
    assert not filters_open(page.text)
    assert "<summary>Filters and sort</summary>" in page.text
    for inside in ('id="sort"', 'data-facet="kind"', 'id="capital_min"'):
        folded = page.text.split('<details class="filters"', 1)[1].split("</details>", 1)[0]
        assert inside in folded, f"{inside} is not inside the folding control"
    chosen = await published.get("/", params={"lang": "en", "kind": "trade", "capital_min": "0"})
    assert not filters_open(chosen.text)  # the results stay at the top on a phone
    assert '<span class="filters-on">(2 chosen)</span>' in chosen.text
    thai = await published.get("/", params={"lang": "th", "kind": "trade"})
    assert "ตัวกรองและการเรียง" in thai.text
    assert "เลือกไว้ 1" in thai.text


async def test_a_ticket_range_in_reverse_keeps_the_search_and_says_why_beside_the_box(
    published: httpx.AsyncClient,
) -> None:
    narrowed = await published.get("/", params={"kind": "trade", "capital_min": "20000000"})
    assert result_count(narrowed.text) == 0  # a range in order does narrow the search
    reverse = {"kind": "trade", "capital_min": "20000000", "capital_max": "5000000", "lang": "en"}
    page = await published.get("/", params=reverse)
    assert page.status_code == 422
    assert result_count(page.text) == 1  # the rest of the query still ran
    assert "Fish-ball factory" in page.text
    assert filters_open(page.text)  # the mistake shows, beside its box
    box = re.search(r'<input type="number" id="capital_max"[^>]*>', page.text)
    assert box is not None
    assert 'value="5000000"' in box.group(0)
    assert 'aria-invalid="true"' in box.group(0)
    assert 'aria-describedby="capital_max-error"' in box.group(0)
    assert re.search(r'id="capital_min"[^>]*value="20000000"', page.text)
    error = re.search(r'<p class="error" id="capital_max-error"[^>]*>([^<]+)</p>', page.text)
    assert error is not None
    assert "“To” is below “From”" in error.group(1)
    # A new search from the box does not carry the mistaken range on.
    searchbar = page.text.split('class="searchbar"', 1)[1].split("</form>", 1)[0]
    assert "capital_" not in searchbar
    assert 'name="kind" value="trade"' in searchbar
    thai = await published.get("/", params=reverse | {"lang": "th"})
    assert "ค่า “ถึง” น้อยกว่าค่า “ตั้งแต่”" in thai.text
    assert result_count(thai.text) == 1


async def test_the_api_still_refuses_a_ticket_range_in_reverse(
    published: httpx.AsyncClient,
) -> None:
    for path in ("/v1/search", "/v1/listings"):
        answer = await published.get(path, params={"capital_min": "9", "capital_max": "5"})
        assert answer.status_code == 422
        assert answer.json()["field"] == "capital_max"


@pytest.mark.parametrize("typed", ["-5", "many", "1.5", "99999999999999999"])
async def test_a_ticket_bound_that_is_not_an_amount_is_named_and_left_out(
    published: httpx.AsyncClient, typed: str
) -> None:
    page = await published.get(
        "/", params={"capital_min": typed, "capital_max": "1000", "lang": "en"}
    )
    assert page.status_code == 422
    assert result_count(page.text) == 1  # "to 1000 baht" alone would have found nothing
    assert re.search(r'<p class="error" id="capital_min-error"[^>]*>Type an amount', page.text)


async def test_an_empty_ticket_box_is_no_bound(published: httpx.AsyncClient) -> None:
    # The ticket form sends both boxes; an empty one used to end on an error page.
    page = await published.get("/", params={"capital_min": "", "capital_max": "6000000"})
    assert page.status_code == 200
    assert result_count(page.text) == 1
    assert "capital_max-error" not in page.text


async def test_any_other_bad_parameter_is_still_refused(published: httpx.AsyncClient) -> None:
    page = await published.get("/", params={"sector": "not-a-sector"})
    assert page.status_code == 422
    assert 'data-testid="result-count"' not in page.text


# --- the cities of the programme ---------------------------------------------------


async def test_the_cities_page_lists_every_city_with_its_facts(
    published: httpx.AsyncClient,
) -> None:
    page = await published.get("/cities", params={"lang": "en"})
    assert page.status_code == 200
    cards = page.text.split('data-testid="city" data-slug="')[1:]
    cities = {card.split('"', 1)[0]: card.split("</dl>", 1)[0] for card in cards}
    assert set(cities) == {"nakhon-sawan", "rayong"}
    nakhon_sawan = cities["nakhon-sawan"]
    assert '<a href="/cities/nakhon-sawan">Nakhon Sawan</a>' in nakhon_sawan
    assert '<p class="meta" lang="th">เทศบาลนครนครสวรรค์</p>' in nakhon_sawan
    assert "<dd>Nakhon Sawan</dd>" in nakhon_sawan  # the province
    assert "Pilot city" in nakhon_sawan
    assert "Charter city" not in nakhon_sawan
    assert "Old Market" in nakhon_sawan
    assert '<a href="/?city=nakhon-sawan">1 listing</a>' in nakhon_sawan  # not the draft
    assert "Rayong Riverfront" in cities["rayong"]
    assert re.search(r'data-testid="published">None yet<', cities["rayong"])
    thai = await published.get("/cities", params={"lang": "th"})
    assert "<h1>เมืองในโครงการ</h1>" in thai.text
    assert '<a href="/cities/rayong">เทศบาลนครระยอง</a>' in thai.text
    assert "1 โครงการ" in thai.text
    assert "<dd>นครสวรรค์</dd>" in thai.text
    assert '<a href="/cities">' in thai.text  # the header's link leads here


# --- the header: each role's own home ----------------------------------------------


def dashboard_link(html: str) -> str | None:
    found = re.search(r'<a href="([^"]*)" data-testid="dashboard-link">', html)
    return found.group(1) if found else None


async def test_the_dashboard_link_leads_to_each_roles_own_home(app: FastAPI, world: World) -> None:
    homes = {
        world.nakhon_sawan_key: "/dashboard",
        world.investor_key: "/investor",
        world.organiser_key: "/events",
        world.admin_key: "/admin/organisations",
    }
    for key, home in homes.items():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as reader:
            assert dashboard_link((await reader.get("/cities")).text) is None  # anonymous
            await sign_in_with_key(reader, key)
            assert dashboard_link((await reader.get("/cities")).text) == home


# --- the sign-in page --------------------------------------------------------------


def command_line_words() -> set[str]:
    """Every command and group of the ``citydeal`` command, as typed after its name."""
    group = typer.main.get_group(cli.app)
    return set(group.commands)


async def test_the_sign_in_page_shows_no_command_line_hints(client: httpx.AsyncClient) -> None:
    words = command_line_words()
    assert {"db", "keys", "people"} <= words
    for lang in ("th", "en"):
        page = (await client.get("/signin", params={"lang": lang})).text
        text = re.sub(r"<[^>]+>", " ", page)
        for word in words:
            assert not re.search(rf"citydeal\s+{word}\b", text), f"'citydeal {word}' shown"
        assert "<code>" not in page
        assert 'name="api_key"' in page  # signing in with a key still works from here


# --- favicon, HEAD, robots.txt, sitemap.xml ----------------------------------------


async def test_the_site_has_a_favicon(client: httpx.AsyncClient) -> None:
    page = await client.get("/signin")
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page.text
    for path in ("/static/favicon.svg", "/favicon.ico"):
        icon = await client.get(path)
        assert icon.status_code == 200
        assert icon.headers["content-type"].startswith("image/svg+xml")
        assert ET.fromstring(icon.content).tag == "{http://www.w3.org/2000/svg}svg"


HEAD_PATHS = [
    "/",
    "/?lang=en&kind=trade",
    "/?capital_min=9&capital_max=5",
    "/listings/fish-ball-factory",
    "/listings/no-such-listing",
    "/listings/secret-plan",  # a draft: not found for a reader
    "/cities",
    "/cities/rayong",
    "/cities/no-such-city",
    "/events",
    "/signin",
    "/dashboard",  # signed out
    "/signout",  # POST only
    "/robots.txt",
    "/sitemap.xml",
    "/favicon.ico",
    "/static/favicon.svg",
    "/openapi.json",
]


async def test_head_answers_as_get_would_without_the_body(
    published: httpx.AsyncClient,
) -> None:
    spec = (await published.get("/openapi.json")).json()
    api_paths = [
        path
        for path, operations in spec["paths"].items()
        if "get" in operations and "{" not in path
    ]
    assert "/v1/listings" in api_paths
    extra = ["/v1/listings/fish-ball-factory", "/v1/listings/no-such-listing", "/v1/nowhere"]
    for path in HEAD_PATHS + api_paths + extra:
        got = await published.get(path)
        head = await published.head(path)
        assert head.status_code == got.status_code, path
        assert head.content == b"", path
        assert head.headers.get("content-type") == got.headers.get("content-type"), path
        if "content-length" in got.headers:
            assert head.headers["content-length"] == got.headers["content-length"], path
    statuses = {path: (await published.head(path)).status_code for path in HEAD_PATHS}
    assert statuses["/"] == 200
    assert statuses["/listings/no-such-listing"] == 404
    assert statuses["/signout"] == 405


async def test_a_head_is_not_counted_as_a_view(app: FastAPI, published: httpx.AsyncClient) -> None:
    tally = app.state.services.tally
    assert tally is not None
    tally.drain()
    await published.head("/listings/fish-ball-factory")
    await published.head("/")
    assert not tally.drain()
    await published.get("/listings/fish-ball-factory")
    assert tally.drain()


async def test_robots_txt_keeps_crawlers_out_of_private_areas(client: httpx.AsyncClient) -> None:
    robots = await client.get("/robots.txt")
    assert robots.status_code == 200
    assert robots.headers["content-type"].startswith("text/plain")
    lines = robots.text.splitlines()
    assert lines[0] == "User-agent: *"
    for private in ("/dashboard", "/organisation", "/admin", "/investor", "/feeds", "/signin"):
        assert f"Disallow: {private}" in lines
    assert "Disallow: /" not in lines  # the catalogue and pitch pages stay open
    assert f"Sitemap: {PUBLIC_URL}/sitemap.xml" in lines


def parse(response: httpx.Response) -> ET.Element:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    return ET.fromstring(response.content)


async def test_the_sitemap_names_published_pitch_pages_in_thai_and_english(
    published: httpx.AsyncClient,
) -> None:
    listing = (await published.get("/v1/listings/fish-ball-factory")).json()
    root = parse(await published.get("/sitemap.xml"))
    assert root.tag == f"{{{public.SITEMAP_NS}}}urlset"
    entries = {
        url.findtext("s:loc", namespaces=SITEMAP): url for url in root.findall("s:url", SITEMAP)
    }
    pitch = f"{PUBLIC_URL}/listings/fish-ball-factory"
    assert {f"{pitch}?lang=th", f"{pitch}?lang=en"} <= set(entries)
    assert not any("secret-plan" in (loc or "") for loc in entries)  # a draft is not named
    assert f"{PUBLIC_URL}/cities/rayong?lang=th" in entries
    entry = entries[f"{pitch}?lang=en"]
    updated = datetime.fromisoformat(listing["updated_at"]).date().isoformat()
    assert entry.findtext("s:lastmod", namespaces=SITEMAP) == updated
    alternates = {
        link.get("hreflang"): link.get("href")
        for link in entry.findall("xhtml:link", SITEMAP)
        if link.get("rel") == "alternate"
    }
    assert alternates == {"th": f"{pitch}?lang=th", "en": f"{pitch}?lang=en"}


async def test_a_large_sitemap_becomes_an_index_of_files(
    published: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await create_and_publish(
        published,
        world.rayong_key,
        slug="rayong-port",
        city="rayong",
        smart_block="rayong-riverfront",
    )
    monkeypatch.setattr(public, "SITEMAP_LISTINGS", 1)
    index = parse(await published.get("/sitemap.xml"))
    assert index.tag == f"{{{public.SITEMAP_NS}}}sitemapindex"
    files = [loc.text for loc in index.iterfind("s:sitemap/s:loc", SITEMAP)]
    assert files == [f"{PUBLIC_URL}/sitemap.xml?page=1", f"{PUBLIC_URL}/sitemap.xml?page=2"]
    named = []
    for number in (1, 2):
        part = parse(await published.get("/sitemap.xml", params={"page": number}))
        named.append({loc.text for loc in part.iterfind("s:url/s:loc", SITEMAP)})
    assert f"{PUBLIC_URL}/listings/fish-ball-factory?lang=th" in named[0]
    assert named[1] == {f"{PUBLIC_URL}/listings/rayong-port?lang={lang}" for lang in ("th", "en")}
    assert (await published.get("/sitemap.xml", params={"page": 3})).status_code == 404
