"""Choosing who pitches over HTTP: the candidate pool (named listings and catalogue
filters), the selection plan with its reasons, re-runs and what they change, access,
If-Match, and bad input that leaves the stored event as it was."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, Engine
from sqlmodel import Session

from catalog.search.tantivy_engine import TantivyIndex
from tests.api.test_portal_accounts import csrf, sign_in_with_key
from tests.api.test_thai_all_the_way import english_values_in, visible
from tests.conftest import caught_up_index, module_app, rolled_back
from tests.factories import (
    World,
    auth,
    create_and_publish,
    create_profile,
    listing_payload,
    snapshot,
    with_version,
)

WIDE: dict[str, Any] = {
    "sectors": [],
    "regions": [],
    "ticket_min_thb": 1_000_000,
    "ticket_max_thb": 2_000_000_000,
    "models": ["equity", "joint-venture", "debt", "franchise", "ppp"],
    "stages": [],
    "horizon_years": None,
    "min_irr_pct": None,
    "thesis": "",
}
RAYONG = {"city": "rayong", "smart_block": "rayong-riverfront"}
# (slug, publisher, overrides): two publishers, two cities, both kinds, related sectors.
LISTINGS: list[tuple[str, str, dict[str, Any]]] = [
    ("fish-balls", "ns", {"title_en": "Fish-ball factory"}),
    ("cold-store", "ns", {"sector": "cold-chain", "title_en": "Cold store"}),
    (
        "solar-roofs",
        "ns",
        {"kind": "infrastructure", "sector": "renewable-energy", "title_en": "Solar roofs"},
    ),
    (
        "ev-buses",
        "ns",
        {"kind": "infrastructure", "sector": "electric-mobility", "title_en": "Electric buses"},
    ),
    (
        "rayong-port",
        "rayong",
        {"kind": "infrastructure", "sector": "logistics", "title_en": "Port", **RAYONG},
    ),
    ("rayong-rice", "rayong", {"sector": "agriculture", "title_en": "Rice mill", **RAYONG}),
]
SLUGS = [slug for slug, _, _ in LISTINGS]
EVENT = "/v1/events/selection-day"


async def _build_event(client: httpx.AsyncClient, world: World) -> dict[str, int]:
    keys = {"ns": world.nakhon_sawan_key, "rayong": world.rayong_key}
    for slug, publisher, overrides in LISTINGS:
        await create_and_publish(client, keys[publisher], slug=slug, **overrides)
    draft = await client.post(
        "/v1/listings",
        json=listing_payload(slug="draft-plan", title_en="A draft"),
        headers=auth(world.nakhon_sawan_key),
    )
    assert draft.status_code == 201, draft.text
    investors = {
        "food": await create_profile(
            client, world.investor_key, name="Lanna Food", **WIDE | {"sectors": ["agri-food"]}
        ),
        "wide": await create_profile(client, world.investor_key, name="Open Fund", **WIDE),
        "energy": await create_profile(
            client, world.investor_key, name="Green Power", **WIDE | {"sectors": ["energy"]}
        ),
    }
    created = await client.post(
        "/v1/events",
        json={
            "slug": "selection-day",
            "city": "nakhon-sawan",
            "name_th": "วันคัดเลือกโครงการ",
            "name_en": "Selection day",
            "held_on": "2027-02-15",
            "slot_count": 3,
            "investors": list(investors.values()),
        },
        headers=auth(world.organiser_key),
    )
    assert created.status_code == 201, created.text
    return investors


@dataclass
class Built:
    engine: Engine
    world: World
    investors: dict[str, int]


@pytest.fixture(scope="module")
async def built(
    module_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Built]:
    """The world, its listings, three investor profiles and the event, made through the
    API once per module and backend in a database of the module's own: every test of
    this module starts from them, and runs in a transaction on it that is rolled back."""
    directory = tmp_path_factory.mktemp("selection-search")
    async with module_app(module_database_url, directory) as (client, world, engine):
        yield Built(engine, world, await _build_event(client, world))


@pytest.fixture
def connection(built: Built) -> Iterator[Connection]:
    with rolled_back(built.engine) as connection:
        yield connection


@pytest.fixture
def tantivy_index(tmp_path: Path, session: Session) -> TantivyIndex:
    return caught_up_index(tmp_path / "search", session)


@pytest.fixture
def world(built: Built) -> World:
    return built.world


@pytest.fixture
def event(built: Built) -> dict[str, int]:
    """The ids of the investor profiles invited to the event, by name."""
    return built.investors


async def put_pool(client: httpx.AsyncClient, key: str, body: dict[str, Any]) -> httpx.Response:
    headers = await with_version(client, EVENT, auth(key))
    return await client.put(f"{EVENT}/candidates", json=body, headers=headers)


async def choose(
    client: httpx.AsyncClient, key: str, body: dict[str, Any] | None = None
) -> httpx.Response:
    headers = await with_version(client, EVENT, auth(key))
    return await client.post(f"{EVENT}/selection", json=body or {}, headers=headers)


async def test_the_pool_takes_named_listings_and_catalogue_filters(
    client: httpx.AsyncClient, world: World, event: dict[str, int]
) -> None:
    before = (await client.get(EVENT)).headers["ETag"]
    put = await put_pool(
        client,
        world.organiser_key,
        {
            "listings": [
                {"slug": "ev-buses", "pinned": True},
                {"slug": "fish-balls", "excluded": True},
            ],
            "filters": {"city": "rayong"},
        },
    )
    assert put.status_code == 200, put.text
    assert put.headers["ETag"] != before
    got = await client.get(f"{EVENT}/candidates", headers=auth(world.organiser_key))
    assert got.status_code == 200
    assert got.headers["ETag"] == put.headers["ETag"]
    pool = {c["listing"]["slug"]: c for c in got.json()["data"]}
    assert set(pool) == {"ev-buses", "fish-balls", "rayong-port", "rayong-rice"}
    assert pool["ev-buses"]["pinned"]
    assert not pool["ev-buses"]["excluded"]
    assert pool["fish-balls"]["excluded"]
    assert pool["rayong-port"]["publisher"]["slug"] == "rayong-dev"
    # Filters by sector family (a parent takes its children) and by words.
    by_family = await put_pool(client, world.organiser_key, {"filters": {"sector": "energy"}})
    assert [c["listing"]["slug"] for c in by_family.json()["data"]] == ["solar-roofs"]
    by_words = await put_pool(client, world.organiser_key, {"filters": {"q": "Cold store"}})
    assert [c["listing"]["slug"] for c in by_words.json()["data"]] == ["cold-store"]
    # A draft joins neither by name nor by filters, and is never revealed.
    everything = await put_pool(client, world.organiser_key, {"filters": {}})
    assert {c["listing"]["slug"] for c in everything.json()["data"]} == set(SLUGS)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"listings": [{"slug": "draft-plan"}]}, "listings"),
        ({"listings": [{"slug": "no-such-listing"}]}, "listings"),
        ({"listings": [{"slug": "ev-buses"}, {"slug": "ev-buses"}]}, "listings"),
        ({"listings": [{"slug": "ev-buses", "pinned": True, "excluded": True}]}, "listings"),
        ({"filters": {"city": "atlantis"}}, "filters.city"),
        ({"filters": {"province": "99"}}, "filters.province"),
        ({"filters": {"kind": "spaceship"}}, "kind"),
        ({"listings": "ev-buses"}, "listings"),
    ],
)
async def test_a_bad_pool_is_refused_naming_the_field(
    client: httpx.AsyncClient,
    world: World,
    event: dict[str, int],
    session: Session,
    body: dict[str, Any],
    field: str,
) -> None:
    before = snapshot(session)
    refused = await put_pool(client, world.organiser_key, body)
    assert refused.status_code == 422, refused.text
    assert field in refused.text
    assert "A draft" not in refused.text
    assert snapshot(session) == before


async def test_the_organiser_chooses_who_pitches_with_reasons(
    client: httpx.AsyncClient, world: World, event: dict[str, int]
) -> None:
    organiser = world.organiser_key
    await put_pool(
        client,
        organiser,
        {
            "listings": [
                {"slug": "rayong-rice", "pinned": True},
                {"slug": "cold-store", "excluded": True},
            ],
            "filters": {},
        },
    )
    version = (await client.get(EVENT)).json()["version"]
    chosen = await choose(
        client, organiser, {"max_per_publisher": 2, "min_per_kind": 1, "threshold": 40}
    )
    assert chosen.status_code == 200, chosen.text
    plan = chosen.json()
    assert plan["version"] == version + 1
    assert chosen.headers["ETag"] == f'"v{plan["version"]}"'
    slugs = [c["listing_slug"] for c in plan["chosen"]]
    assert len(slugs) == 3
    assert "rayong-rice" in slugs
    assert "cold-store" not in slugs
    assert [c["position"] for c in plan["chosen"]] == [1, 2, 3]
    publishers = [c["publisher"]["slug"] for c in plan["chosen"]]
    assert max(publishers.count(p) for p in set(publishers)) <= 2
    assert {c["kind"] for c in plan["chosen"]} == {"trade", "infrastructure"}
    for c in plan["chosen"]:
        assert c["reasons"], c
        assert all(r["th"] and r["en"] for r in c["reasons"])
    rice = next(c for c in plan["chosen"] if c["listing_slug"] == "rayong-rice")
    assert rice["reasons"][0]["code"] == "pinned"
    served = [c for c in plan["chosen"] if c["investor_count"]]
    assert served
    assert all(c["investors"] and c["total_fit"] > 0 for c in served)
    assert all(
        c["total_fit"] == pytest.approx(sum(i["score"] for i in c["investors"]), abs=0.05)
        for c in served
        if c["investor_count"] <= 10
    )
    left_out = {c["listing_slug"]: c["reason"] for c in plan["left_out"]}
    assert set(left_out) == set(SLUGS) - set(slugs)
    assert left_out["cold-store"]["code"] == "excluded"
    assert all(r["th"] and r["en"] for r in left_out.values())
    assert plan["rules"] == {
        "threshold": 40.0,
        "max_per_city": None,
        "max_per_publisher": 2,
        "min_per_kind": 1,
        "min_per_investor": 1,
    }
    assert plan["objective"] <= plan["bound"]
    assert plan["optimal"] is True
    assert plan["changes"]["first_run"] is True
    assert plan["changes"]["added"] == slugs
    # The programme is the plan, in pitch order; the stored plan reads back the same.
    assert [x["slug"] for x in (await client.get(EVENT)).json()["listings"]] == slugs
    stored = await client.get(f"{EVENT}/selection", headers=auth(organiser))
    assert stored.status_code == 200
    assert stored.json() == plan
    # Same input, same plan; new rules, and the answer says what changed.
    again = (await choose(client, organiser)).json()
    assert [c["listing_slug"] for c in again["chosen"]] == slugs
    assert again["rules"] == plan["rules"]  # omitted rules stay as in the last run
    assert again["changes"] == {"first_run": False, "added": [], "removed": [], "moved": []}
    changed = (await choose(client, organiser, {"max_per_city": 1, "min_per_kind": 0})).json()
    now = [c["listing_slug"] for c in changed["chosen"]]
    assert len({c["city"]["slug"] for c in changed["chosen"]}) == len(now) == 2
    assert set(changed["changes"]["removed"]) == set(slugs) - set(now)
    assert set(changed["changes"]["added"]) == set(now) - set(slugs)
    assert any(c["reason"]["code"] == "city_full" for c in changed["left_out"])


async def test_more_slots_than_candidates_chooses_all_and_says_so(
    client: httpx.AsyncClient, world: World, event: dict[str, int]
) -> None:
    await put_pool(
        client, world.organiser_key, {"listings": [{"slug": "fish-balls"}, {"slug": "ev-buses"}]}
    )
    plan = (await choose(client, world.organiser_key)).json()
    assert {c["listing_slug"] for c in plan["chosen"]} == {"fish-balls", "ev-buses"}
    assert "all_chosen" in {note["code"] for note in plan["notes"]}
    assert plan["left_out"] == []
    # Both are one publisher's: with one per publisher, one waits, and the note goes.
    quota = (await choose(client, world.organiser_key, {"max_per_publisher": 1})).json()
    assert len(quota["chosen"]) == 1
    assert "all_chosen" not in {note["code"] for note in quota["notes"]}
    assert [c["reason"]["code"] for c in quota["left_out"]] == ["publisher_full"]


async def test_pins_and_exclusions_sent_with_the_run_are_kept_on_the_pool(
    client: httpx.AsyncClient, world: World, event: dict[str, int]
) -> None:
    await put_pool(client, world.organiser_key, {"filters": {}})
    plan = (
        await choose(
            client, world.organiser_key, {"pinned": ["rayong-port"], "excluded": ["fish-balls"]}
        )
    ).json()
    slugs = [c["listing_slug"] for c in plan["chosen"]]
    assert "rayong-port" in slugs
    assert "fish-balls" not in slugs
    pool = (await client.get(f"{EVENT}/candidates", headers=auth(world.organiser_key))).json()
    flags = {c["listing"]["slug"]: (c["pinned"], c["excluded"]) for c in pool["data"]}
    assert flags["rayong-port"] == (True, False)
    assert flags["fish-balls"] == (False, True)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"threshold": 101}, "threshold"),
        ({"threshold": None}, "threshold"),
        ({"max_per_city": 0}, "max_per_city"),
        ({"max_per_publisher": 41}, "max_per_publisher"),
        ({"min_per_kind": -1}, "min_per_kind"),
        ({"min_per_kind": 2}, "min_per_kind"),  # two of each kind need 4 slots; there are 3
        ({"min_per_investor": 4}, "min_per_investor"),
        ({"pinned": ["draft-plan"]}, "pinned"),
        ({"pinned": ["not-in-pool"]}, "pinned"),
        ({"pinned": ["ev-buses"], "excluded": ["ev-buses"]}, "pinned"),
        ({"pinned": ["ev-buses", "fish-balls", "solar-roofs", "rayong-port"]}, "pinned"),
        ({"slots": 5}, "slots"),
    ],
)
async def test_bad_selection_input_is_refused_and_changes_nothing(
    client: httpx.AsyncClient,
    world: World,
    event: dict[str, int],
    session: Session,
    body: dict[str, Any],
    field: str,
) -> None:
    await put_pool(client, world.organiser_key, {"filters": {}})
    before = snapshot(session)
    refused = await choose(client, world.organiser_key, body)
    assert refused.status_code == 422, refused.text
    assert field in refused.text
    assert snapshot(session) == before


async def test_selection_needs_the_organiser_and_the_current_version(
    client: httpx.AsyncClient, world: World, event: dict[str, int], session: Session
) -> None:
    await put_pool(client, world.organiser_key, {"filters": {}})
    before = snapshot(session)
    versioned = {"If-Match": (await client.get(EVENT)).headers["ETag"]}
    for key, status in ((world.nakhon_sawan_key, 403), (world.investor_key, 403)):
        headers = auth(key) | versioned
        assert (
            await client.post(f"{EVENT}/selection", json={}, headers=headers)
        ).status_code == status
        assert (
            await client.put(f"{EVENT}/candidates", json={}, headers=headers)
        ).status_code == status
        assert (await client.get(f"{EVENT}/candidates", headers=auth(key))).status_code == status
        assert (await client.get(f"{EVENT}/selection", headers=auth(key))).status_code == status
    assert (await client.post(f"{EVENT}/selection", json={}, headers=versioned)).status_code == 401
    assert (await client.get(f"{EVENT}/candidates")).status_code == 401
    organiser = auth(world.organiser_key)
    missing = await client.post(f"{EVENT}/selection", json={}, headers=organiser)
    assert missing.status_code == 428
    stale = await client.post(
        f"{EVENT}/selection", json={}, headers=organiser | {"If-Match": '"1"'}
    )
    assert stale.status_code == 412
    stale_pool = await client.put(
        f"{EVENT}/candidates", json={}, headers=organiser | {"If-Match": '"1"'}
    )
    assert stale_pool.status_code == 412
    assert snapshot(session) == before
    # Nothing chosen yet: the plan is not found; an unknown event neither.
    assert (await client.get(f"{EVENT}/selection", headers=organiser)).status_code == 404
    assert (await client.get("/v1/events/nowhere/candidates", headers=organiser)).status_code == 404
    # An admin may run any event.
    assert (await choose(client, world.admin_key)).status_code == 200


# --- the portal page ------------------------------------------------------------------------

PAGE = "/events/selection-day/selection"


def _fields(html: str) -> dict[str, str]:
    return {
        "csrf_token": csrf(html),
        "version": re.findall(r'name="version" value="(\d+)"', html)[0],
    }


@pytest.fixture
async def organiser(
    client: httpx.AsyncClient, world: World, event: dict[str, int]
) -> httpx.AsyncClient:
    await sign_in_with_key(client, world.organiser_key)
    return client


async def test_the_organiser_builds_the_pool_and_chooses_in_the_portal(
    organiser: httpx.AsyncClient, world: World
) -> None:
    event_page = await organiser.get("/events/selection-day")
    assert f'href="{PAGE}"' in event_page.text
    empty = await organiser.get(PAGE)
    assert empty.status_code == 200
    assert 'data-testid="candidate"' not in empty.text
    added = await organiser.post(
        f"{PAGE}/add",
        data=_fields(empty.text) | {"city": "rayong", "slugs": "/listings/fish-balls\nsolar-roofs"},
    )
    assert added.status_code == 303, added.text
    page = await organiser.get(PAGE)
    assert page.text.count('data-testid="candidate"') == 4
    # Pin the rice mill, exclude the fish balls, drop the solar roofs.
    saved = await organiser.post(
        f"{PAGE}/pool",
        data=_fields(page.text)
        | {
            "listed": ["fish-balls", "solar-roofs", "rayong-port", "rayong-rice"],
            "pin": ["rayong-rice"],
            "exclude": ["fish-balls"],
            "remove": ["solar-roofs"],
        },
    )
    assert saved.status_code == 303, saved.text
    pool = (await organiser.get(f"{EVENT}/candidates", headers=auth(world.organiser_key))).json()
    flags = {c["listing"]["slug"]: (c["pinned"], c["excluded"]) for c in pool["data"]}
    assert flags == {
        "fish-balls": (False, True),
        "rayong-port": (False, False),
        "rayong-rice": (True, False),
    }
    page = await organiser.get(PAGE)
    chosen = await organiser.post(
        PAGE,
        data=_fields(page.text)
        | {
            "threshold": "40",
            "max_per_city": "",
            "max_per_publisher": "",
            "min_per_kind": "1",
            "min_per_investor": "1",
        },
    )
    assert chosen.status_code == 303, chosen.text
    english = await organiser.get(f"{PAGE}?lang=en")
    assert 'data-testid="plan"' in english.text
    assert english.text.count('data-testid="chosen"') == 2
    assert "pinned by the organiser" in english.text
    assert "excluded by the organiser" in english.text
    assert "This is the first plan for this pitch day" in english.text
    assert 'data-testid="objective"' in english.text
    assert 'data-testid="bound"' in english.text
    thai = await organiser.get(f"{PAGE}?lang=th")
    text = visible(thai.text)
    assert "ผู้จัดงานปักหมุดให้นำเสนอ" in text
    assert "ขอบเขตบนจากตัวแก้ปัญหา" in text
    assert english_values_in(text) == set()
    # Run again with a quota: the page says what changed.
    again = await organiser.post(
        PAGE, data=_fields(thai.text) | {"max_per_city": "1", "min_per_kind": "0"}
    )
    assert again.status_code == 303, again.text
    changed = await organiser.get(f"{PAGE}?lang=en")
    assert 'data-testid="no-changes"' in changed.text or 'data-testid="changes"' in changed.text


@pytest.mark.parametrize(
    ("action", "fields", "field"),
    [
        ("add", {"slugs": "draft-plan"}, "slugs"),
        ("add", {"slugs": ""}, "slugs"),
        ("add", {"city": "atlantis"}, "city"),
        ("add", {"kind": "spaceship"}, "kind"),
        ("", {"threshold": "150"}, "threshold"),
        ("", {"threshold": "lots"}, "threshold"),
        ("", {"max_per_city": "2.5"}, "max_per_city"),
        ("", {"min_per_kind": "2"}, "min_per_kind"),
        ("", {"min_per_investor": "9"}, "min_per_investor"),
    ],
)
async def test_a_refused_portal_form_shows_each_error_beside_its_field(
    organiser: httpx.AsyncClient,
    world: World,
    session: Session,
    action: str,
    fields: dict[str, str],
    field: str,
) -> None:
    await put_pool(organiser, world.organiser_key, {"filters": {}})
    page = await organiser.get(PAGE)
    before = snapshot(session)
    refused = await organiser.post(f"{PAGE}/{action}".rstrip("/"), data=_fields(page.text) | fields)
    assert refused.status_code == 422, refused.text
    assert f'id="{field}-error"' in refused.text
    for name, value in fields.items():
        if value and name not in ("city", "kind"):  # a value not in a list cannot be shown chosen
            assert value in refused.text, name
    assert snapshot(session) == before


async def test_a_stale_portal_form_changes_nothing_and_says_so(
    organiser: httpx.AsyncClient, world: World, session: Session
) -> None:
    await put_pool(organiser, world.organiser_key, {"filters": {}})
    page = await organiser.get(PAGE)
    await choose(organiser, world.organiser_key)  # someone else runs it meanwhile
    before = snapshot(session)
    for action, fields in (
        ("", {"threshold": "60"}),
        ("/pool", {"listed": "fish-balls"}),
        ("/add", {"slugs": "fish-balls"}),
    ):
        stale = await organiser.post(f"{PAGE}{action}", data=_fields(page.text) | fields)
        assert stale.status_code == 412, (action, stale.text)
        assert 'data-testid="conflict"' in stale.text
        assert list(fields.values())[0] in stale.text  # what was typed is kept
    assert snapshot(session) == before


async def test_the_page_is_the_organisers(
    client: httpx.AsyncClient, world: World, event: dict[str, int]
) -> None:
    assert (await client.get(PAGE)).status_code == 401
    await sign_in_with_key(client, world.nakhon_sawan_key)
    assert (await client.get(PAGE)).status_code == 401
    page = await client.get("/events/selection-day")
    assert f'href="{PAGE}"' not in page.text
