"""The pitch day itself over HTTP and in the portal: agendas (JSON, CSV, iCalendar, a
secret feed), publishing the schedule with agendas by e-mail (a real SMTP server),
check-in, outcomes feeding leads and checkpoints, and the organiser's figures."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy import Engine
from sqlmodel import Session, select

from api.deps import Services
from api.main import build_services, create_app
from catalog.models import Checkpoint, Listing
from core.db import make_engine
from core.settings import Settings
from matching.pitchday.models import Meeting, PitchEvent
from tests.api.test_portal_workplace import csrf, sign_in
from tests.event_day import Day, add_person, later, make_day, plan, publish
from tests.factories import World, auth, build_world, with_version
from tests.mail import Inbox, smtp_server


@pytest.fixture
async def day(client: httpx.AsyncClient, world: World, session: Session) -> Day:
    found = await make_day(client, world)
    plan(session, found)
    return found


def agenda_url(day: Day, party: str, ref: object, suffix: str = "") -> str:
    return f"/v1/events/{day.slug}/agendas/{party}/{ref}{suffix}"


def parse(body: bytes) -> Calendar:
    calendar = Calendar.from_ical(body)
    assert isinstance(calendar, Calendar)
    return calendar


# --- agendas over the API -------------------------------------------------------------------


async def test_agendas_are_for_their_participants_and_the_organiser(
    client: httpx.AsyncClient, world: World, day: Day
) -> None:
    investor, organiser = auth(world.investor_key), auth(world.organiser_key)
    own = await client.get(f"/v1/events/{day.slug}/agendas", headers=investor)
    assert own.status_code == 200, own.text
    assert [a["participant"]["ref"] for a in own.json()["data"]] == [str(day.food), str(day.wide)]
    assert all(a["meetings"] == [] for a in own.json()["data"])  # not published yet
    everyone = await client.get(f"/v1/events/{day.slug}/agendas", headers=organiser)
    assert len(everyone.json()["data"]) == 6
    drafted = await client.get(agenda_url(day, "investor", day.food), headers=organiser)
    assert [m["starts_at"][11:16] for m in drafted.json()["meetings"]] == ["14:00", "14:20"]

    assert (await publish(client, world)).status_code == 200
    food = (await client.get(agenda_url(day, "investor", day.food), headers=investor)).json()
    assert food["published"] is True
    assert [(m["table_no"], m["with_name_en"]) for m in food["meetings"]] == [
        (3, "Port logistics hub"),
        (2, "Fish-ball factory"),
    ]
    assert food["meetings"][0]["starts_at"].endswith("+07:00")
    assert food["feed_url"] is None  # made on first use
    # The Rayong publisher reads its own listing's agenda, nobody else's; to it another
    # participant's agenda and one not at the event are the same 404.
    rayong = auth(world.rayong_key)
    port = await client.get(agenda_url(day, "listing", day.port), headers=rayong)
    assert [m["with_name_en"] for m in port.json()["meetings"]] == ["Lanna Food", None]
    for ref in (day.fish, "no-such-listing"):
        refused = await client.get(agenda_url(day, "listing", ref), headers=rayong)
        assert refused.status_code == 404
        assert refused.json()["field"] == "participant"
    assert (await client.get(agenda_url(day, "investor", day.food))).status_code == 401
    bad = await client.get(agenda_url(day, "investors", day.food), headers=investor)
    assert bad.status_code == 422


async def test_an_agenda_as_a_calendar_file_and_a_spreadsheet(
    client: httpx.AsyncClient, world: World, day: Day, session: Session
) -> None:
    await publish(client, world)
    rayong = auth(world.rayong_key)
    meeting = session.exec(select(Meeting).where(Meeting.table_no == 3)).one()
    noted = await client.put(
        f"/v1/events/{day.slug}/meetings/{meeting.id}/outcome",
        json={"outcome": "follow-up", "note": '=HYPERLINK("http://evil.example")'},
        headers=rayong,
    )
    assert noted.status_code == 200, noted.text
    ics = await client.get(agenda_url(day, "listing", day.port, ".ics"), headers=rayong)
    assert ics.status_code == 200, ics.text
    assert ics.headers["content-type"].startswith("text/calendar")
    calendar = parse(ics.content)
    summaries = sorted(str(e["SUMMARY"]) for e in calendar.walk("VEVENT"))
    assert summaries == [
        "นัดพบ / Meeting: Lanna Food",
        "นัดพบ / Meeting: นักลงทุน / Investor",  # the guest's name is not shown
        "นำเสนอโครงการ / Your pitch: ศูนย์โลจิสติกส์ท่าเรือ / Port logistics hub",
    ]
    sheet = await client.get(agenda_url(day, "listing", day.port, ".csv"), headers=rayong)
    rows = list(csv.reader(io.StringIO(sheet.content.decode("utf-8-sig"))))
    assert rows[0] == ["รอบ", "เริ่ม", "สิ้นสุด", "โต๊ะ", "นัดพบกับ", "ผลการนัดพบ", "บันทึก"]
    assert rows[1][:6] == ["1", "14:00", "14:20", "3", "Lanna Food", "ตกลงติดตามผล"]
    assert rows[1][6] == '\'=HYPERLINK("http://evil.example")'  # never a formula
    english = await client.get(
        agenda_url(day, "listing", day.port, ".csv") + "?lang=en", headers=rayong
    )
    assert english.content.decode("utf-8-sig").startswith("Round,Starts,Ends,Table")


async def test_the_secret_feed_is_made_once_rotated_and_read_without_signing_in(
    client: httpx.AsyncClient, world: World, day: Day
) -> None:
    await publish(client, world)
    investor = auth(world.investor_key)
    made = await client.post(agenda_url(day, "investor", day.food, "/feed-token"), headers=investor)
    assert made.status_code == 200, made.text
    feed = made.json()["feed_url"]
    assert re.fullmatch(r"http://test/agendas/[A-Za-z0-9_-]{43}\.ics", feed)
    listed = await client.get(agenda_url(day, "investor", day.food), headers=investor)
    assert listed.json()["feed_url"] == feed
    read = await client.get(feed.removeprefix("http://test"))
    assert read.status_code == 200
    assert read.headers["cache-control"] == "private, max-age=300"
    assert len(list(parse(read.content).walk("VEVENT"))) == 3  # 2 meetings, the pitches
    # The organiser reads the agenda but holds no participant's calendar link.
    organiser = auth(world.organiser_key)
    seen = await client.get(agenda_url(day, "investor", day.food), headers=organiser)
    assert seen.json()["feed_url"] is None
    refused = await client.post(
        agenda_url(day, "investor", day.food, "/feed-token"), headers=organiser
    )
    assert refused.status_code == 403
    rotated = await client.post(
        agenda_url(day, "investor", day.food, "/feed-token"), headers=investor
    )
    assert rotated.json()["feed_url"] != feed
    assert (await client.get(feed.removeprefix("http://test"))).status_code == 404
    assert (await client.get("/agendas/" + "x" * 43 + ".ics")).status_code == 404


# --- publication ------------------------------------------------------------------------------


async def test_publishing_takes_if_match_and_a_plan(
    client: httpx.AsyncClient, world: World, session: Session
) -> None:
    day = await make_day(client, world)
    organiser = auth(world.organiser_key)
    url = f"/v1/events/{day.slug}/schedule/publication"
    assert (await client.post(url, headers=organiser)).status_code == 428
    nothing = await client.post(url, headers=organiser | {"If-Match": '"v1"'})
    assert nothing.status_code == 409
    assert nothing.json()["field"] == "schedule"
    plan(session, day)  # the plan moves the event to version 2
    stale = await client.post(url, headers=organiser | {"If-Match": '"v1"'})
    assert stale.status_code == 412
    refused = await client.post(url, headers=auth(world.investor_key) | {"If-Match": '"v2"'})
    assert refused.status_code == 403
    done = await client.post(url, headers=organiser | {"If-Match": '"v2"'})
    assert done.status_code == 200, done.text
    assert done.headers["ETag"] == '"v3"'
    assert done.json()["mails_queued"] == 0  # no SMTP here
    session.expire_all()
    event = session.exec(select(PitchEvent).where(PitchEvent.slug == day.slug)).one()
    assert event.schedule_published_at is not None


# --- check-in, outcomes and figures ------------------------------------------------------------


async def test_check_in_and_no_shows(client: httpx.AsyncClient, world: World, day: Day) -> None:
    organiser = auth(world.organiser_key)
    url = f"/v1/events/{day.slug}/check-ins"
    checked = await client.put(
        f"{url}/investor/{day.food}", json={"present": True}, headers=organiser
    )
    assert checked.status_code == 200, checked.text
    assert checked.json()["checked_in_at"] is not None
    for who in (f"investor/{day.wide}", f"listing/{day.fish}", f"listing/{day.port}"):
        await client.put(f"{url}/{who}", json={"present": True}, headers=organiser)
    await client.put(f"{url}/listing/{day.port}", json={"present": False}, headers=organiser)
    desk = (await client.get(url, headers=organiser)).json()
    assert (desk["investors_checked_in"], desk["listings_checked_in"]) == (2, 1)
    assert (await client.get(url, headers=auth(world.nakhon_sawan_key))).status_code == 403
    bad = await client.put(
        f"{url}/investor/{day.food}", json={"present": "maybe"}, headers=organiser
    )
    assert bad.status_code == 422
    marked = await client.post(f"/v1/events/{day.slug}/no-shows", headers=organiser)
    assert marked.json() == {"recorded": 3}  # the port listing, the cold store, the guest
    figures = (await client.get(f"/v1/events/{day.slug}/figures", headers=organiser)).json()
    assert (figures["total"]["no_shows"], figures["total"]["unrecorded"]) == (3, 2)


async def test_an_outcome_makes_a_lead_the_city_sees(
    client: httpx.AsyncClient, world: World, day: Day, session: Session
) -> None:
    city = auth(world.nakhon_sawan_key)
    meeting = session.exec(select(Meeting).where(Meeting.table_no == 2)).one()  # fish × food
    url = f"/v1/events/{day.slug}/meetings/{meeting.id}/outcome"
    bad = await client.put(url, json={"outcome": "lunch"}, headers=city)
    assert bad.status_code == 422
    assert bad.json()["field"] == "outcome"
    too_long = await client.put(url, json={"outcome": "met", "note": "x" * 2001}, headers=city)
    assert too_long.json()["field"] == "note"
    assert (
        await client.put(url, json={"outcome": "met"}, headers=auth(world.rayong_key))
    ).status_code == 403
    assert (
        await client.put(url, json={"outcome": "met"}, headers=auth(world.investor_key))
    ).status_code == 403
    other = f"/v1/events/{day.slug}/meetings/999999/outcome"
    assert (await client.put(other, json={"outcome": "met"}, headers=city)).status_code == 404
    done = await client.put(url, json={"outcome": "letter-of-intent", "note": "MOU"}, headers=city)
    assert done.status_code == 200, done.text
    assert done.json()["lead"]["created"] is True
    leads = (await client.get("/v1/leads", headers=city)).json()["data"]
    assert [(lead["listing_slug"], lead["status"]) for lead in leads] == [
        (day.fish, "letter-of-intent")
    ]
    figures = await client.get(
        f"/v1/events/{day.slug}/figures.csv?lang=en", headers=auth(world.organiser_key)
    )
    rows = list(csv.reader(io.StringIO(figures.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["Group", "Name", "Meetings planned", "Meetings held"]
    assert rows[1][:2] == ["All", "All"]
    assert rows[1][6] == "1"  # one letter of intent
    assert {row[0] for row in rows[2:]} == {"City", "Sector"}


async def test_outcomes_wait_for_the_day(
    client: httpx.AsyncClient, world: World, session: Session
) -> None:
    day = await make_day(client, world, held_on=later(10))
    plan(session, day)
    meeting = session.exec(select(Meeting)).first()
    assert meeting is not None
    early = await client.put(
        f"/v1/events/{day.slug}/meetings/{meeting.id}/outcome",
        json={"outcome": "met"},
        headers=auth(world.organiser_key),
    )
    assert early.status_code == 409
    assert early.json()["field"] == "outcome"


# --- the portal -----------------------------------------------------------------------------


async def test_the_agenda_page_on_a_phone_with_its_calendar_link(
    client: httpx.AsyncClient, world: World, day: Day
) -> None:
    await publish(client, world)
    await sign_in(client, world.investor_key)
    page = await client.get(f"/events/{day.slug}/agenda")
    assert page.status_code == 200, page.text
    html = page.text
    assert html.index("14:00") < html.index("14:20")
    assert "โต๊ะ 3" in html
    assert "ศูนย์โลจิสติกส์ท่าเรือ" in html
    assert "รอบที่ 1" in html
    feed = re.search(
        r'readonly value="http://test(/agendas/[^"]+\.ics)" data-testid="feed-url"', html
    )
    assert feed, "the calendar link is made on first use"
    again = await client.get(f"/events/{day.slug}/agenda")
    assert feed.group(1) in again.text  # the same link on every visit
    assert (await client.get(feed.group(1))).status_code == 200
    # Two profiles at the event: a choice between them.
    assert f'value="investor:{day.wide}"' in html
    wide = await client.get(f"/events/{day.slug}/agenda?who=investor:{day.wide}&lang=en")
    assert "Fish-ball factory" in wide.text
    assert "Table 1" in wide.text
    ics = await client.get(f"/events/{day.slug}/agenda.ics?who=investor:{day.wide}")
    assert len(list(parse(ics.content).walk("VEVENT"))) == 2
    # Not the investor's: as missing.
    assert (
        await client.get(f"/events/{day.slug}/agenda?who=listing:{day.port}")
    ).status_code == 404
    rotate = await client.post(
        f"/events/{day.slug}/agenda/feed-token",
        data={"csrf_token": csrf(html), "who": f"investor:{day.food}"},
    )
    assert rotate.status_code == 303
    assert (await client.get(feed.group(1))).status_code == 404


async def test_the_organiser_publishes_and_records_outcomes_in_the_portal(
    client: httpx.AsyncClient, world: World, day: Day, session: Session
) -> None:
    await sign_in(client, world.organiser_key)
    page = await client.get(f"/events/{day.slug}/agenda?who=listing:{day.cold}&lang=en")
    assert page.status_code == 200, page.text
    assert "Guest Angel" in page.text  # the organiser sees every name
    assert 'name="who"' in page.text
    assert "<optgroup" in page.text
    assert 'data-testid="feed-url"' not in page.text  # not the organiser's calendar
    token = csrf(page.text)
    stale = await client.post(
        f"/events/{day.slug}/schedule/publication",
        data={"csrf_token": token, "version": "1", "who": f"listing:{day.cold}"},
    )
    assert stale.status_code == 412
    assert 'id="publish-error"' in stale.text
    published = await client.post(
        f"/events/{day.slug}/schedule/publication",
        data={"csrf_token": token, "version": "2", "who": f"listing:{day.cold}"},
    )
    assert published.status_code == 303
    assert "notice=schedule_published" in published.headers["location"]
    meeting = session.exec(select(Meeting).where(Meeting.table_no == 1, Meeting.slot == 1)).one()
    url = f"/events/{day.slug}/meetings/{meeting.id}/outcome"
    wrong = await client.post(
        url,
        data={
            "csrf_token": token,
            "who": f"listing:{day.cold}",
            "outcome": "lunch",
            "note": "ดีมาก",
        },
    )
    assert wrong.status_code == 422
    assert f'id="outcome-{meeting.id}-error"' in wrong.text
    assert ">ดีมาก</textarea>" in wrong.text  # what was typed stays
    saved = await client.post(
        url, data={"csrf_token": token, "who": f"listing:{day.cold}", "outcome": "follow-up"}
    )
    assert saved.status_code == 303
    assert "notice=outcome_lead_made" in saved.headers["location"]
    shown = await client.get(saved.headers["location"])  # in English: the page was switched
    assert "Outcome: Follow-up agreed" in shown.text
    figures = await client.get(f"/events/{day.slug}/figures?lang=th")
    assert figures.status_code == 200
    assert re.search(r'data-testid="follow-ups">1<', figures.text)
    assert "เทศบาลนครนครสวรรค์" in figures.text  # by city, in Thai


async def test_the_check_in_desk(client: httpx.AsyncClient, world: World, day: Day) -> None:
    await sign_in(client, world.organiser_key)
    desk = await client.get(f"/events/{day.slug}/check-in")
    assert desk.status_code == 200
    assert "0 จาก 3" in desk.text
    found = await client.get(f"/events/{day.slug}/check-in?q=lanna")
    assert found.text.count('data-testid="desk-row"') == 1
    done = await client.post(
        f"/events/{day.slug}/check-in",
        data={
            "csrf_token": csrf(desk.text),
            "who": f"investor:{day.food}",
            "present": "true",
            "q": "lanna",
        },
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/events/{day.slug}/check-in?q=lanna#p-investor-{day.food}"
    after = await client.get(done.headers["location"])
    assert 'aria-pressed="true"' in after.text
    assert "1 จาก 3" in after.text
    await sign_in(client, world.nakhon_sawan_key)
    assert (await client.get(f"/events/{day.slug}/check-in")).status_code == 403


async def test_pitch_day_outcomes_are_offered_as_checkpoint_evidence(
    client: httpx.AsyncClient, world: World, day: Day, session: Session
) -> None:
    city = auth(world.nakhon_sawan_key)
    fish = session.exec(select(Listing).where(Listing.slug == day.fish)).one()
    meetings = session.exec(
        select(Meeting).where(Meeting.listing_id == fish.id).order_by(Meeting.slot)  # type: ignore[arg-type]
    ).all()
    for meeting, outcome in zip(meetings, ("follow-up", "letter-of-intent"), strict=True):
        done = await client.put(
            f"/v1/events/{day.slug}/meetings/{meeting.id}/outcome",
            json={"outcome": outcome},
            headers=city,
        )
        assert done.status_code == 200, done.text
    record = await client.get(f"/listings/{day.fish}/pitch-days?lang=en")
    assert record.status_code == 200
    assert "2 held" in record.text
    assert "1 follow-up agreed" in record.text
    assert "1 letter of intent" in record.text
    pitch = await client.get(f"/listings/{day.fish}?lang=en")
    assert f'href="http://test/listings/{day.fish}/pitch-days"' in pitch.text
    await sign_in(client, world.nakhon_sawan_key)
    checkpoints = await client.get(f"/dashboard/listings/{day.fish}/checkpoints")
    assert 'data-testid="pitch-evidence"' in checkpoints.text
    assert f'<option value="http://test/listings/{day.fish}/pitch-days">' in checkpoints.text
    assert session.exec(select(Checkpoint).where(Checkpoint.listing_id == fish.id)).all()


# --- agendas by e-mail, through the job runner and a real SMTP server --------------------------


@pytest.fixture
def inbox() -> Iterator[tuple[str, Inbox]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def mailing(scratch_database: str, tmp_path: Path, inbox: tuple[str, Inbox]) -> Iterator[Services]:
    settings = Settings(
        database_url=scratch_database,
        var_dir=tmp_path / "var",
        smtp_url=inbox[0],
        semantic_search=False,
    )
    services = build_services(settings)
    yield services
    services.search.close()
    bind = services.database.bind
    assert isinstance(bind, Engine)
    bind.dispose()


@pytest.fixture
def mail_world(scratch_database: str) -> World:
    engine = make_engine(scratch_database)
    with Session(engine) as session:
        world = build_world(session)
        session.commit()
    engine.dispose()
    return world


@pytest.fixture
async def mail_client(mailing: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(services=mailing))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_agendas_go_by_email_when_published_and_again_when_they_change(
    mail_client: httpx.AsyncClient,
    mailing: Services,
    mail_world: World,
    inbox: tuple[str, Inbox],
) -> None:
    _, mail = inbox
    client, world = mail_client, mail_world
    day = await make_day(client, world)
    with mailing.database.writing() as session:
        plan(session, day)
        add_person(session, "siam-infra-fund", "nok@fund.example")
        add_person(session, "siam-infra-fund", "unconfirmed@fund.example", confirmed=False)
        add_person(session, "ns-dev", "somchai@ns.example")
        add_person(session, "rayong-dev", "malee@rayong.example")
    published = await publish(client, world)
    assert published.status_code == 200, published.text
    # Lanna Food and Open Fund (one confirmed person), the two Nakhon Sawan listings and
    # the Rayong one (one person each); the organiser's guest has nobody with mail.
    assert published.json()["mails_queued"] == 5
    assert mail.messages == []  # sent by the job runner, not by the request
    assert mailing.jobs is not None
    assert await mailing.jobs.run_until_idle() == 5
    assert await mailing.jobs.run_until_idle() == 0  # each once
    to = sorted(str(m["To"]) for m in mail.messages)
    assert to == [
        "malee@rayong.example",
        "nok@fund.example",
        "nok@fund.example",
        "somchai@ns.example",
        "somchai@ns.example",
    ]
    food = next(
        i
        for i, m in enumerate(mail.messages)
        if m["To"] == "nok@fund.example" and "Port logistics hub" in mail.text_of(i)
    )
    text = mail.text_of(food)
    assert text.index("ผู้จัดงานประกาศตารางนัดพบแล้ว") < text.index("The organiser has published")
    assert "- 14:00–14:20 · โต๊ะ 3 · ศูนย์โลจิสติกส์ท่าเรือ" in text
    assert "- 14:00–14:20 · table 3 · Port logistics hub" in text
    feed = re.search(r"http://test(/agendas/\S+\.ics)", text)
    assert feed
    assert (await client.get(feed.group(1))).status_code == 200
    [attached] = list(mail.messages[food].iter_attachments())
    assert attached.get_content_type() == "text/calendar"
    calendar = parse(attached.get_content())
    assert len(list(calendar.walk("VEVENT"))) == 3
    assert "Your agenda" in str(mail.messages[food]["Subject"])

    # A change that alters no agenda sends nothing; a new venue is on every agenda.
    organiser = auth(world.organiser_key)
    unchanged = await client.patch(
        f"/v1/events/{day.slug}",
        json={"registration_deadline": None},
        headers=await with_version(client, f"/v1/events/{day.slug}", organiser),
    )
    assert unchanged.status_code == 200, unchanged.text
    assert await mailing.jobs.run_until_idle() == 0
    moved = await client.patch(
        f"/v1/events/{day.slug}",
        json={"venue_en": "Paradise Hall"},
        headers=await with_version(client, f"/v1/events/{day.slug}", organiser),
    )
    assert moved.status_code == 200, moved.text
    assert await mailing.jobs.run_until_idle() == 5  # a new place: everyone's agenda
    changed = mail.messages[-5:]
    assert all("Your agenda has changed" in str(m["Subject"]) for m in changed)
    assert all("Paradise Hall" in m.get_body(("plain",)).get_content() for m in changed)  # type: ignore[union-attr]
