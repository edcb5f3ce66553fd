"""Meetings people ask for, over HTTP: availability, requests and their answers, the pairs
the scores propose and the schedule planned from them; who may do what, and bad input
refused naming the problem with nothing stored."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Connection, Engine
from sqlmodel import Session, col, select

from catalog.models import Organisation
from catalog.search.tantivy_engine import TantivyIndex
from matching.models import InvestorProfile
from matching.pitchday.models import Meeting
from tests.api.test_shortlist import csrf, person
from tests.conftest import caught_up_index, module_app, rolled_back
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
DAY = "/v1/events/meet-day"


async def make_day(client: httpx.AsyncClient, world: World) -> dict[str, int]:
    """An event with three Nakhon Sawan listings, one Rayong listing that does not take
    part, two investors of siam-infra-fund, a hidden guest of the organiser's and a
    discoverable fund that is not invited; two rounds, one table. Returns the ids of the
    investor profiles, by name."""
    for body in MARKET_LISTINGS:
        await create_and_publish(client, world.nakhon_sawan_key, **body)
    await create_and_publish(
        client, world.rayong_key, slug="rayong-ev", city="rayong", smart_block="rayong-riverfront"
    )
    ids = {
        "food": await create_profile(client, world.investor_key, name="Lanna Food"),
        "wide": await create_profile(client, world.investor_key, name="Open Fund", **WIDE),
        "guest": await create_profile(
            client, world.organiser_key, name="Guest Angel", discoverable=False, **WIDE
        ),
        "absent": await create_profile(client, world.investor_key, name="Absent Fund", **WIDE),
    }
    created = await client.post(
        "/v1/events",
        json={
            "slug": "meet-day",
            "city": "nakhon-sawan",
            "name_th": "วันจับคู่ธุรกิจ",
            "name_en": "Meeting day",
            "held_on": "2027-03-01",
            "first_slot": "09:00",
            "round_first": "13:00",
            "round_count": 2,
            "table_count": 1,
            "listings": [body["slug"] for body in MARKET_LISTINGS],
            "investors": [ids["food"], ids["wide"], ids["guest"]],
        },
        headers=auth(world.organiser_key),
    )
    assert created.status_code == 201, created.text
    return ids


@dataclass
class Built:
    engine: Engine
    world: World
    day: dict[str, int]


@pytest.fixture(scope="module")
async def built(
    module_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Built]:
    """The world and the day (``make_day``), made through the API once per module and
    backend in a database of the module's own: every test of this module starts from
    them, and runs in a transaction on it that is rolled back."""
    directory = tmp_path_factory.mktemp("meetings-search")
    async with module_app(module_database_url, directory) as (client, world, engine):
        yield Built(engine, world, await make_day(client, world))


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
def day(built: Built) -> dict[str, int]:
    return built.day


async def ask(
    client: httpx.AsyncClient, key: str, listing: str, investor: int, note: str = ""
) -> httpx.Response:
    return await client.post(
        f"{DAY}/requests",
        json={"listing": listing, "investor_profile_id": investor, "note": note},
        headers=auth(key),
    )


async def test_investors_and_publishers_ask_and_answer(
    client: httpx.AsyncClient, world: World, day: dict[str, int]
) -> None:
    investor, publisher = world.investor_key, world.nakhon_sawan_key
    sent = await ask(client, investor, "fish-balls", day["food"], "ลูกชิ้นปลาน่าสนใจ")
    assert sent.status_code == 201, sent.text
    request = sent.json()
    assert request["requested_by"] == "investor"
    assert request["status"] == "pending"
    assert request["note"] == "ลูกชิ้นปลาน่าสนใจ"
    assert not request["mutual"]

    # The publisher sees it received, the investor sent.
    mine = (await client.get(f"{DAY}/requests", headers=auth(publisher))).json()
    assert [r["id"] for r in mine["received"]] == [request["id"]]
    assert mine["sent"] == []
    assert mine["received"][0]["investor_name"] == "Lanna Food"
    theirs = (await client.get(f"{DAY}/requests", headers=auth(investor))).json()
    assert [r["id"] for r in theirs["sent"]] == [request["id"]]

    # Only the other side decides: the sender is told why not, anyone else learns nothing.
    own = await client.post(f"{DAY}/requests/{request['id']}/accept", headers=auth(investor))
    assert own.status_code == 403
    assert own.json()["field"] == "request"
    stranger = await client.post(
        f"{DAY}/requests/{request['id']}/accept", headers=auth(world.rayong_key)
    )
    assert stranger.status_code == 404
    accepted = await client.post(f"{DAY}/requests/{request['id']}/accept", headers=auth(publisher))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    assert accepted.json()["decided_at"] is not None

    # The publisher asking the same investor back makes the pair mutual.
    back = await ask(client, publisher, "fish-balls", day["food"])
    assert back.status_code == 201, back.text
    assert back.json()["requested_by"] == "listing"
    assert back.json()["status"] == "accepted"
    assert back.json()["mutual"]

    # A publisher asks an investor; declining ends the pair, both ways.
    offer = await ask(client, publisher, "noodle-shop", day["wide"], "Franchise terms")
    answer = await client.post(
        f"{DAY}/requests/{offer.json()['id']}/decline", headers=auth(investor)
    )
    assert answer.json()["status"] == "declined"

    # A person of the investor organisation does what its key does.
    someone = await person(client, world, "analyst@siam-infra.example")
    by_person = await client.post(
        f"{DAY}/requests",
        json={"listing": "cold-store", "investor_profile_id": day["wide"]},
        headers=someone,
    )
    assert by_person.status_code == 201, by_person.text
    listed = (await client.get(f"{DAY}/requests", headers=someone)).json()
    assert {r["listing_slug"] for r in listed["sent"]} == {"fish-balls", "cold-store"}
    assert {r["listing_slug"] for r in listed["received"]} == {"fish-balls", "noodle-shop"}


async def test_who_may_do_what(
    client: httpx.AsyncClient, world: World, day: dict[str, int], session: Session
) -> None:
    organiser, admin = auth(world.organiser_key), auth(world.admin_key)
    investor, publisher = auth(world.investor_key), auth(world.nakhon_sawan_key)
    rayong = auth(world.rayong_key)
    free = {"rounds": [0]}
    cases: list[tuple[str, str, dict[str, Any] | None, dict[str, str], int]] = [
        # Availability: each side its own.
        ("PUT", "/availability", free | {"investor_profile_id": day["food"]}, investor, 200),
        ("PUT", "/availability", free | {"listing": "fish-balls"}, publisher, 200),
        ("PUT", "/availability", free | {"listing": "fish-balls"}, rayong, 403),
        ("PUT", "/availability", free | {"investor_profile_id": day["food"]}, publisher, 403),
        ("PUT", "/availability", free | {"investor_profile_id": day["guest"]}, organiser, 200),
        ("PUT", "/availability", free | {"investor_profile_id": day["guest"]}, investor, 422),
        ("PUT", "/availability", free | {"listing": "fish-balls"}, admin, 403),
        ("PUT", "/availability", free | {"listing": "fish-balls"}, {}, 401),
        ("GET", "/availability", None, investor, 200),
        ("GET", "/availability", None, rayong, 403),
        # Requests: only the two sides of the pair.
        ("GET", "/requests", None, investor, 200),
        ("GET", "/requests", None, publisher, 200),
        ("GET", "/requests", None, rayong, 403),
        ("GET", "/requests", None, admin, 403),
        ("GET", "/requests", None, {}, 401),
        (
            "POST",
            "/requests",
            {"listing": "cold-store", "investor_profile_id": day["food"]},
            rayong,
            403,
        ),
        (
            "POST",
            "/requests",
            {"listing": "cold-store", "investor_profile_id": day["food"]},
            admin,
            403,
        ),
        (
            "POST",
            "/requests",
            {"listing": "cold-store", "investor_profile_id": day["guest"]},
            organiser,
            201,
        ),
        # A publisher cannot name a hidden guest: it reads as not attending.
        (
            "POST",
            "/requests",
            {"listing": "cold-store", "investor_profile_id": day["guest"]},
            publisher,
            422,
        ),
        # Proposals and the schedule: the organiser (and admins).
        ("POST", "/proposals", {"min_score": 0}, investor, 403),
        ("POST", "/proposals", {"min_score": 0}, publisher, 403),
        ("POST", "/schedule", {}, publisher, 403),
        ("GET", "/schedule", None, publisher, 403),
        ("GET", "/schedule", None, organiser, 200),
        ("POST", "/proposals", {"min_score": 0}, organiser, 200),
        ("POST", "/schedule", {}, admin, 200),
    ]
    for method, path, body, headers, expected in cases:
        if method == "POST" and path in ("/proposals", "/schedule"):
            headers = await with_version(client, DAY, headers)
        response = await client.request(method, DAY + path, json=body, headers=headers)
        assert response.status_code == expected, (method, path, body, headers, response.text)


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        ("PUT", "/availability", {"listing": "fish-balls", "rounds": [0, 2]}, 422, "rounds"),
        ("PUT", "/availability", {"listing": "fish-balls", "rounds": []}, 422, "rounds"),
        ("PUT", "/availability", {"listing": "fish-balls", "rounds": [1, 1]}, 422, "rounds"),
        ("PUT", "/availability", {"listing": "fish-balls", "rounds": [-1]}, 422, "rounds.0"),
        ("PUT", "/availability", {"listing": "rayong-ev", "rounds": [0]}, 422, "listing"),
        ("PUT", "/availability", {"rounds": [0]}, 422, "listing"),
        (
            "POST",
            "/requests",
            {"listing": "rayong-ev", "investor_profile_id": "food"},
            422,
            "listing",
        ),
        (
            "POST",
            "/requests",
            {"listing": "fish-balls", "investor_profile_id": "absent"},
            422,
            "investor_profile_id",
        ),
        (
            "POST",
            "/requests",
            {"listing": "fish-balls", "investor_profile_id": "food", "note": "x" * 501},
            422,
            "note",
        ),
        (
            "POST",
            "/requests",
            {"listing": "fish-balls", "investor_profile_id": "food"},
            409,
            "investor_profile_id",
        ),
        ("POST", "/requests/999999/accept", None, 404, "request"),
        ("POST", "/requests/1/maybe", None, 422, "decision"),
    ],
)
async def test_bad_input_is_refused_naming_the_problem_and_nothing_changes(
    client: httpx.AsyncClient,
    world: World,
    day: dict[str, int],
    session: Session,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    status: int,
    field: str,
) -> None:
    publisher = auth(world.nakhon_sawan_key)
    first = await ask(client, world.nakhon_sawan_key, "fish-balls", day["food"])  # for "twice"
    assert first.status_code == 201
    if body is not None and isinstance(body.get("investor_profile_id"), str):
        body = body | {"investor_profile_id": day[body["investor_profile_id"]]}
    before = snapshot(session)
    response = await client.request(method, DAY + path, json=body, headers=publisher)
    assert response.status_code == status, response.text
    assert response.json()["field"] == field, response.text
    assert snapshot(session) == before


async def test_asking_oneself_and_deciding_ones_own_are_refused(
    client: httpx.AsyncClient, world: World, day: dict[str, int], session: Session
) -> None:
    """A city company that also keeps an attending investor profile cannot ask itself."""
    ns_dev = session.exec(select(Organisation).where(Organisation.slug == "ns-dev")).one()
    own = InvestorProfile(
        slug="ns-dev-fund",
        organisation_id=ns_dev.id or 0,
        name="Nakhon Sawan City Fund",
        investor_type="fund",
        home_country="TH",
        ticket_min_thb=1,
        ticket_max_thb=10**9,
        horizon_years=5,
        discoverable=True,
    )
    session.add(own)
    session.commit()
    organiser = auth(world.organiser_key)
    invited = await client.patch(
        DAY,
        json={"investors": [day["food"], own.id]},
        headers=await with_version(client, DAY, organiser),
    )
    assert invited.status_code == 200, invited.text
    before = snapshot(session)
    itself = await ask(client, world.nakhon_sawan_key, "fish-balls", own.id or 0)
    assert itself.status_code == 422
    assert itself.json()["field"] == "investor_profile_id"
    assert "yourself" in itself.json()["detail"]
    assert snapshot(session) == before

    sent = await ask(client, world.investor_key, "noodle-shop", day["food"])
    before = snapshot(session)
    for decision in ("accept", "decline"):
        refused = await client.post(
            f"{DAY}/requests/{sent.json()['id']}/{decision}", headers=auth(world.investor_key)
        )
        assert refused.status_code == 403
        assert "other side" in refused.json()["detail"]
    assert snapshot(session) == before


async def test_the_schedule_places_requests_by_priority_within_availability_and_tables(
    client: httpx.AsyncClient, world: World, day: dict[str, int], session: Session
) -> None:
    investor, publisher = world.investor_key, world.nakhon_sawan_key
    organiser = auth(world.organiser_key)
    # Mutual: food and the fish-ball factory. One-way, accepted: wide and the noodle shop.
    await ask(client, investor, "fish-balls", day["food"])
    await ask(client, publisher, "fish-balls", day["food"])
    one_way = await ask(client, investor, "noodle-shop", day["wide"])
    await client.post(f"{DAY}/requests/{one_way.json()['id']}/accept", headers=auth(publisher))
    # Pending (not planned) and declined (never planned).
    await ask(client, investor, "cold-store", day["wide"])
    no = await ask(client, publisher, "noodle-shop", day["food"])
    await client.post(f"{DAY}/requests/{no.json()['id']}/decline", headers=auth(investor))
    # Food is free only in the second round.
    marked = await client.put(
        f"{DAY}/availability",
        json={"investor_profile_id": day["food"], "rounds": [1]},
        headers=auth(investor),
    )
    assert marked.status_code == 200, marked.text
    assert marked.json()["rounds"] == [1]

    proposed = await client.post(
        f"{DAY}/proposals",
        json={"min_score": 0, "per_participant": 1},
        headers=await with_version(client, DAY, organiser),
    )
    assert proposed.status_code == 200, proposed.text
    pairs = [(p["listing_slug"], p["investor_profile_id"]) for p in proposed.json()["data"]]
    assert pairs, proposed.text
    # Pairs already asked for, either way, are not proposed; one each at most.
    assert ("fish-balls", day["food"]) not in pairs
    assert ("noodle-shop", day["food"]) not in pairs
    assert max(Counter(p[0] for p in pairs).values()) == 1
    assert max(Counter(p[1] for p in pairs).values()) == 1
    scores = [p["score"] for p in proposed.json()["data"]]
    assert scores == sorted(scores, reverse=True)
    # Proposals show among the investor's received requests, to decline if unwanted.
    received = (await client.get(f"{DAY}/requests", headers=auth(investor))).json()["received"]
    assert {r["requested_by"] for r in received} >= {"proposal"}

    planned = await client.post(
        f"{DAY}/schedule", headers=await with_version(client, DAY, organiser)
    )
    assert planned.status_code == 200, planned.text
    plan = planned.json()
    meetings = {(m["listing_slug"], m["investor_profile_id"]): m for m in plan["meetings"]}
    # One table, two rounds: the mutual pair (in the round food attends), then the request.
    assert set(meetings) == {("fish-balls", day["food"]), ("noodle-shop", day["wide"])}
    assert meetings["fish-balls", day["food"]]["slot"] == 1
    assert meetings["fish-balls", day["food"]]["source"] == "mutual"
    assert meetings["noodle-shop", day["wide"]]["slot"] == 0
    assert meetings["noodle-shop", day["wide"]]["source"] == "request"
    assert {m["table_no"] for m in plan["meetings"]} == {1}
    quality = plan["quality"]
    assert quality["placed"] == {"mutual": 1, "request": 1, "proposal": 0}
    assert quality["wanted"]["mutual"] == 1
    assert quality["wanted"]["request"] == 1
    assert quality["wanted"]["proposal"] == len(pairs)
    assert quality["bound"] >= quality["placed_value"] > 0
    assert quality["ratio"] == 1.0
    assert quality["optimal"]
    assert "HiGHS" in quality["solver"]
    reasons = {(u["listing_slug"], u["investor_profile_id"]): u["reason"] for u in plan["unplaced"]}
    assert len(reasons) == len(pairs)
    assert set(reasons.values()) <= {"tables_full", "fully_booked"}
    # The report keeps what the plan said; the meetings are rows the agenda reads.
    report = (await client.get(f"{DAY}/schedule", headers=organiser)).json()
    assert report["quality"] == quality
    assert report["unplaced"] == plan["unplaced"]
    rows = session.exec(select(Meeting).order_by(col(Meeting.slot))).all()
    assert [(m.slot, m.table_no, m.source) for m in rows] == [
        (0, 1, "request"),
        (1, 1, "mutual"),
    ]

    # Someone who can no longer come is left out, saying so.
    gone = await client.patch(
        DAY,
        json={"investors": [day["wide"], day["guest"]]},
        headers=await with_version(client, DAY, organiser),
    )
    assert gone.status_code == 200
    again = await client.post(f"{DAY}/schedule", headers=await with_version(client, DAY, organiser))
    left_out = {
        (u["listing_slug"], u["investor_profile_id"]): u["reason"] for u in again.json()["unplaced"]
    }
    assert left_out["fish-balls", day["food"]] == "not_attending"

    # Once an outcome is recorded, planning again is refused: it would lose it.
    meeting = session.exec(select(Meeting)).first()
    assert meeting is not None
    meeting.outcome = "met"
    session.add(meeting)
    session.commit()
    before = snapshot(session)
    refused = await client.post(
        f"{DAY}/schedule", headers=await with_version(client, DAY, organiser)
    )
    assert refused.status_code == 409
    assert refused.json()["field"] == "schedule"
    assert snapshot(session) == before


async def test_no_common_round_is_the_reason_given(
    client: httpx.AsyncClient, world: World, day: dict[str, int]
) -> None:
    await ask(client, world.investor_key, "cold-store", day["wide"])
    await ask(client, world.nakhon_sawan_key, "cold-store", day["wide"])
    for body, key in (
        ({"listing": "cold-store", "rounds": [0]}, world.nakhon_sawan_key),
        ({"investor_profile_id": day["wide"], "rounds": [1]}, world.investor_key),
    ):
        response = await client.put(f"{DAY}/availability", json=body, headers=auth(key))
        assert response.status_code == 200, response.text
    mine = (await client.get(f"{DAY}/availability", headers=auth(world.nakhon_sawan_key))).json()
    by_listing = {a["listing_slug"]: a for a in mine["data"]}
    assert by_listing["cold-store"]["rounds"] == [0]
    assert by_listing["fish-balls"]["every_round"]
    assert by_listing["fish-balls"]["rounds"] == [0, 1]
    organiser = auth(world.organiser_key)
    plan = await client.post(f"{DAY}/schedule", headers=await with_version(client, DAY, organiser))
    assert plan.json()["meetings"] == []
    assert [u["reason"] for u in plan.json()["unplaced"]] == ["no_common_round"]
    # Free in every round again (null), the pair is placed.
    await client.put(
        f"{DAY}/availability",
        json={"investor_profile_id": day["wide"], "rounds": None},
        headers=auth(world.investor_key),
    )
    plan = await client.post(f"{DAY}/schedule", headers=await with_version(client, DAY, organiser))
    assert [m["slot"] for m in plan.json()["meetings"]] == [0]


async def test_proposals_and_the_schedule_need_the_current_version(
    client: httpx.AsyncClient, world: World, day: dict[str, int], session: Session
) -> None:
    organiser = auth(world.organiser_key)
    before = snapshot(session)
    for path, body in (("/proposals", {"min_score": 0}), ("/schedule", {})):
        missing = await client.post(DAY + path, json=body, headers=organiser)
        assert missing.status_code == 428
        stale = await client.post(DAY + path, json=body, headers=organiser | {"If-Match": '"v99"'})
        assert stale.status_code == 412
    assert snapshot(session) == before
    # A declined proposal is not proposed again.
    first = await client.post(
        f"{DAY}/proposals",
        json={"min_score": 0, "per_participant": 5},
        headers=await with_version(client, DAY, organiser),
    )
    chosen = first.json()["data"][0]
    received = (await client.get(f"{DAY}/requests", headers=auth(world.investor_key))).json()[
        "received"
    ]
    proposal = next(
        r
        for r in received
        if r["listing_slug"] == chosen["listing_slug"]
        and r["investor_profile_id"] == chosen["investor_profile_id"]
    )
    declined = await client.post(
        f"{DAY}/requests/{proposal['id']}/decline", headers=auth(world.investor_key)
    )
    assert declined.status_code == 200
    again = await client.post(
        f"{DAY}/proposals",
        json={"min_score": 0, "per_participant": 5},
        headers=await with_version(client, DAY, organiser),
    )
    assert again.json()["declined"] == 1
    assert (chosen["listing_slug"], chosen["investor_profile_id"]) not in {
        (p["listing_slug"], p["investor_profile_id"]) for p in again.json()["data"]
    }
    assert len(again.json()["data"]) == len(first.json()["data"]) - 1


# --- the portal page ------------------------------------------------------------------------

PAGE = "/events/meet-day/meetings"


@pytest.fixture
async def browsers(app: FastAPI, world: World) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """A signed-in portal client for the investor, the publisher, the organiser, the
    other city's publisher, and one signed out: each with its own cookies."""
    clients: dict[str, httpx.AsyncClient] = {}
    keys = {
        "investor": world.investor_key,
        "publisher": world.nakhon_sawan_key,
        "organiser": world.organiser_key,
        "rayong": world.rayong_key,
        "anonymous": None,
    }
    transport = httpx.ASGITransport(app=app)
    for name, key in keys.items():
        client = httpx.AsyncClient(transport=transport, base_url="http://test")
        if key is not None:
            form = await client.get("/signin")
            signed = await client.post(
                "/signin", data={"api_key": key, "csrf_token": csrf(form.text)}
            )
            assert signed.status_code == 303, signed.text
        clients[name] = client
    yield clients
    for client in clients.values():
        await client.aclose()


def section(html: str, key: str) -> str:
    """The part of the page for one side (``investor-12``, ``listing-fish-balls``)."""
    start = html.index(f'id="{key}"')
    end = html.find("<section", start)
    return html[start : end if end > 0 else len(html)]


async def test_an_investor_marks_rounds_and_asks_and_the_publisher_answers_in_the_portal(
    browsers: dict[str, httpx.AsyncClient], day: dict[str, int], session: Session
) -> None:
    investor, publisher = browsers["investor"], browsers["publisher"]
    food = f"investor-{day['food']}"
    page = await investor.get(PAGE)
    assert page.status_code == 200, page.text
    assert "การนัดพบ" in page.text or "นัดพบ" in page.text  # Thai first
    mine = section(page.text, food)
    assert 'data-key="listing-fish-balls"' in mine
    assert re.search(r"\d+/100", mine)  # each listing with its fit score
    token = csrf(page.text)

    # No round ticked: the form again, the error beside it, nothing stored.
    before = snapshot(session)
    none = await investor.post(f"{PAGE}/availability", data={"csrf_token": token, "side": food})
    assert none.status_code == 422
    assert "เลือกอย่างน้อยหนึ่งรอบ" in section(none.text, food)
    assert snapshot(session) == before
    saved = await investor.post(
        f"{PAGE}/availability", data={"csrf_token": token, "side": food, "round": ["1"]}
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"{PAGE}?notice=meeting_availability_saved#{food}"
    again = section((await investor.get(PAGE)).text, food)
    assert re.search(rf'id="{food}-round-1"[^>]*checked', again)
    assert not re.search(rf'id="{food}-round-0"[^>]*checked', again)

    # A note too long: the page again with what was typed, the error beside it.
    long_note = "ก" * 501
    refused = await investor.post(
        f"{PAGE}/requests",
        data={"csrf_token": token, "side": food, "to": "listing-fish-balls", "note": long_note},
    )
    assert refused.status_code == 422
    assert long_note in refused.text
    assert "500" in refused.text
    assert snapshot(session)["meeting_request"] == before["meeting_request"]
    asked = await investor.post(
        f"{PAGE}/requests",
        data={"csrf_token": token, "side": food, "to": "listing-fish-balls", "note": "ขอพบ"},
    )
    assert asked.status_code == 303
    assert "meeting_request_sent" in asked.headers["location"]
    twice = await investor.post(
        f"{PAGE}/requests",
        data={"csrf_token": token, "side": food, "to": "listing-fish-balls", "note": ""},
    )
    assert twice.status_code == 409
    assert "คุณขอนัดพบครั้งนี้ไปแล้ว" in twice.text

    # The publisher sees it with the note, and accepts.
    theirs = await publisher.get(PAGE)
    received = section(theirs.text, "listing-fish-balls")
    assert "ขอพบ" in received
    assert "Lanna Food" in received
    accept = re.search(rf'action="({PAGE}/requests/\d+/accept)"', received)
    assert accept
    done = await publisher.post(
        accept.group(1), data={"csrf_token": csrf(theirs.text), "side": "listing-fish-balls"}
    )
    assert done.status_code == 303
    assert "meeting_request_accepted" in done.headers["location"]
    after = section((await investor.get(PAGE + "?lang=en")).text, food)
    assert "You asked, and they accepted" in after


async def test_the_organiser_proposes_and_plans_in_the_portal(
    browsers: dict[str, httpx.AsyncClient],
    world: World,
    day: dict[str, int],
    client: httpx.AsyncClient,
) -> None:
    organiser = browsers["organiser"]
    await ask(client, world.investor_key, "fish-balls", day["food"])
    await ask(client, world.nakhon_sawan_key, "fish-balls", day["food"])
    page = await organiser.get(PAGE + "?lang=en")
    assert page.status_code == 200, page.text
    assert 'data-testid="organiser-plan"' in page.text
    assert "1 mutual request" in page.text
    version = re.search(r'name="version" value="(\d+)"', page.text)
    assert version
    token = csrf(page.text)

    bad = await organiser.post(
        f"{PAGE}/proposals",
        data={"csrf_token": token, "version": version.group(1), "min_score": "lots"},
    )
    assert bad.status_code == 422
    assert 'id="min_score-error"' in bad.text
    assert 'value="lots"' in bad.text
    proposed = await organiser.post(
        f"{PAGE}/proposals",
        data={
            "csrf_token": token,
            "version": version.group(1),
            "min_score": "0",
            "per_participant": "2",
        },
    )
    assert proposed.status_code == 303, proposed.text
    assert "meeting_pairs_proposed" in proposed.headers["location"]
    stale = await organiser.post(
        f"{PAGE}/schedule", data={"csrf_token": token, "version": version.group(1)}
    )
    assert stale.status_code == 409
    assert "changed meanwhile" in stale.text
    fresh = re.search(r'name="version" value="(\d+)"', stale.text)
    assert fresh
    planned = await organiser.post(
        f"{PAGE}/schedule", data={"csrf_token": token, "version": fresh.group(1)}
    )
    assert planned.status_code == 303, planned.text
    shown = await organiser.get(planned.headers["location"] + "&lang=en")
    assert "The meetings are planned" in shown.text
    quality = shown.text.split('data-testid="quality"', 1)[1].split("</p>", 1)[0]
    assert "100.0%" in quality
    unplaced = shown.text.split('data-testid="unplaced"', 1)[1].split("</ul>", 1)[0]
    assert "The tables are full" in unplaced or "is booked in every round" in unplaced
    thai = await organiser.get(PAGE + "?lang=th")
    assert "100.0%" in thai.text
    assert "จัดการนัดพบ" in thai.text


async def test_the_page_is_for_those_taking_part(
    browsers: dict[str, httpx.AsyncClient], day: dict[str, int]
) -> None:
    assert (await browsers["anonymous"].get(PAGE)).status_code == 401
    assert (await browsers["rayong"].get(PAGE)).status_code == 403
    assert (await browsers["publisher"].get(PAGE)).status_code == 200
    # A publisher has no organiser's forms, nor another publisher's.
    text = (await browsers["publisher"].get(PAGE)).text
    assert 'data-testid="organiser-plan"' not in text
    assert 'id="listing-fish-balls"' in text
    assert "Guest Angel" not in text  # a hidden investor is not shown to publishers
    odd = await browsers["publisher"].get(PAGE + "?notice=no_such_notice&num=<b>")
    assert odd.status_code == 200  # a notice is one of the page's own, or none
    assert 'data-testid="notice"' not in odd.text
    event_page = await browsers["publisher"].get("/events/meet-day")
    assert 'href="/events/meet-day/meetings"' in event_page.text
