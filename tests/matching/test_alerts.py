"""Saved searches' rules, feed and digests: who may keep and change one, the Atom feed as
XML whatever a title holds, and the e-mail digest for real: two processes check at once
against one database, a real SMTP server receives exactly one message, and none when
nothing is new, for an unconfirmed address, or without mail configured."""

from __future__ import annotations

import asyncio
import threading
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, select

from api.deps import Services
from api.main import build_services, create_app
from catalog.accounts.models import Person
from catalog.models import Listing, Organisation
from catalog.organisations import issue_key
from catalog.schemas import ListingSummary, SearchParams
from catalog.search.tantivy_engine import TantivyIndex
from core.db import Database, make_engine, utcnow
from core.errors import Forbidden, InvalidInput, NotFound, PreconditionFailed
from core.jobs import Job, TableJobQueue
from core.mail import Mailer
from core.principal import Principal, Role
from core.settings import Settings
from matching import alerts
from matching.models import InvestorProfile, SavedSearch
from matching.schemas import DigestFrequency, SavedSearchCreate, SavedSearchUpdate
from tests.factories import World, auth, build_world, create_and_publish
from tests.mail import Inbox, smtp_server

PASSWORD = "correct horse battery"
ATOM = "{http://www.w3.org/2005/Atom}"
BASE = "https://citydeal.example"


# --- rules ------------------------------------------------------------------------------


def _person(session: Session, email: str, organisation_slug: str = "siam-infra-fund") -> Principal:
    organisation = session.exec(
        select(Organisation).where(Organisation.slug == organisation_slug)
    ).one()
    person = Person(email=email, organisation_id=organisation.id or 0, role=Role.investor.value)
    session.add(person)
    session.flush()
    return Principal(organisation.id or 0, organisation.slug, Role.investor, person_id=person.id)


def test_only_the_person_who_saved_it_reads_or_changes_it(session: Session, world: World) -> None:
    alice = _person(session, "alice@fund.example")
    bob = _person(session, "bob@fund.example")
    saved = alerts.create_saved_search(
        session,
        principal=alice,
        data=SavedSearchCreate(name="Fish", params=SearchParams(q="fish", limit=5)),
        threshold=55,
    )
    assert saved.params == {"q": "fish"}
    assert saved.id is not None
    with pytest.raises(NotFound):
        alerts.get_saved_search(session, saved_id=saved.id, principal=bob)
    key = Principal(alice.organisation_id, alice.organisation_slug, Role.investor, api_key_id=1)
    with pytest.raises(Forbidden, match="session token"):
        alerts.list_saved_searches(session, principal=key)
    assert alerts.list_saved_searches(session, principal=bob) == []
    assert alerts.get_saved_search(session, saved_id=saved.id, principal=alice) is saved


def test_a_stale_version_changes_nothing(session: Session, world: World) -> None:
    alice = _person(session, "alice@fund.example")
    saved = alerts.create_saved_search(
        session, principal=alice, data=SavedSearchCreate(name="Fish"), threshold=55
    )
    token = saved.feed_token
    alerts.update_saved_search(
        session,
        saved=saved,
        data=SavedSearchUpdate.model_validate({"name": "Renamed"}),
        expected_version=1,
        threshold=55,
    )
    assert (saved.name, saved.version) == ("Renamed", 2)
    for change in (
        lambda: alerts.update_saved_search(
            session,
            saved=saved,
            data=SavedSearchUpdate.model_validate({"name": "Lost"}),
            expected_version=1,
            threshold=55,
        ),
        lambda: alerts.rotate_feed_token(session, saved=saved, expected_version=1),
        lambda: alerts.delete_saved_search(session, saved=saved, expected_version=1),
    ):
        with pytest.raises(PreconditionFailed):
            change()
    session.expire_all()
    assert (saved.name, saved.version, saved.feed_token) == ("Renamed", 2, token)
    alerts.rotate_feed_token(session, saved=saved, expected_version=2)
    assert saved.feed_token != token
    with pytest.raises(NotFound):
        alerts.find_by_feed_token(session, token=token)


def test_a_profile_of_another_organisation_cannot_be_followed(
    session: Session, world: World
) -> None:
    profile = InvestorProfile(
        slug="theirs",
        organisation_id=_person(session, "x@fund.example").organisation_id,
        name="Theirs",
        investor_type="fund",
        home_country="TH",
        ticket_min_thb=0,
        ticket_max_thb=10,
        horizon_years=5,
    )
    session.add(profile)
    session.flush()
    rayong = _person(session, "staff@rayong.example", "rayong-dev")
    with pytest.raises(InvalidInput) as refused:
        alerts.create_saved_search(
            session,
            principal=rayong,
            data=SavedSearchCreate(name="M", kind="matches", profile_id=profile.id),
            threshold=55,
        )
    assert refused.value.field == "profile_id"


# --- the feed and the mail, from what a search found ------------------------------------


def _found(slug: str, title_en: str, published_at: datetime, title_th: str = "ท่าเรือ") -> Any:
    listing = ListingSummary.model_validate(
        {
            "id": abs(hash(slug)) % 10_000,
            "slug": slug,
            "status": "published",
            "kind": "infrastructure",
            "sector": "logistics",
            "stage": "idea",
            "city": {
                "slug": "rayong",
                "name_th": "ระยอง",
                "name_en": "Rayong",
                "province": {
                    "code": "21",
                    "name_th": "ระยอง",
                    "name_en": "Rayong",
                    "region": "east",
                },
            },
            "title_th": title_th,
            "title_en": title_en,
            "summary_th": "สรุป <i>ตัวเอียง</i> & อื่น ๆ",
            "summary_en": "A summary with <script>alert(1)</script>",
            "capital_min_thb": 1,
            "capital_max_thb": 2,
            "investment_models": ["ppp"],
            "published_at": published_at,
        }
    )
    return alerts.Found(listing, None)


def _saved(name: str) -> SavedSearch:
    return SavedSearch(
        id=7,
        person_id=1,
        name=name,
        kind="search",
        feed_token="t" * 43,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_the_feed_carries_any_title_as_text() -> None:
    unsafe = "A <b>port</b> & co ]]> <![CDATA[ x ]]> \ufffe"
    found = [
        _found("new-port", unsafe, datetime(2026, 12, 1, 9, tzinfo=UTC), title_th="ท่า & <เรือ>"),
        _found("old-port", "Old port", datetime(2026, 11, 1, 9, tzinfo=UTC)),
    ]
    body = alerts.atom_feed(_saved("Ports ]]> & <more>"), found, base_url=f"{BASE}/")
    root = ET.fromstring(body)
    assert root.tag == f"{ATOM}feed"
    assert root.findtext(f"{ATOM}title") == "citydeal: Ports ]]> & <more>"
    assert root.findtext(f"{ATOM}id") == "tag:citydeal.example,2026:saved-search/7"
    entries = root.findall(f"{ATOM}entry")
    first = entries[0]
    # Only the code point XML cannot carry is gone; the rest reads as typed.
    assert first.findtext(f"{ATOM}title") == "ท่า & <เรือ> / " + unsafe.replace("\ufffe", "")
    assert first.find(f"{ATOM}link").get("href") == f"{BASE}/listings/new-port"  # type: ignore[union-attr]
    assert first.find(f"{ATOM}link").get("rel") == "alternate"  # type: ignore[union-attr]
    assert first.findtext(f"{ATOM}updated") == "2026-12-01T09:00:00+00:00"
    # The summary is HTML (type="html") of the plain text: a reader shows the tags as text.
    summary = first.find(f"{ATOM}summary")
    assert summary is not None
    assert summary.get("type") == "html"
    assert "&lt;script&gt;" in (summary.text or "")
    assert root.findtext(f"{ATOM}updated") == "2026-12-01T09:00:00+00:00"  # the newest entry


def test_the_digest_subject_is_one_line_whatever_the_name() -> None:
    found = [_found("new-port", "New port", datetime(2026, 12, 1, tzinfo=UTC))]
    mail = alerts.digest_mail(
        _saved("Ports\r\nBcc: everyone@example.com\n" + "x" * 100),
        found,
        to="alice@fund.example",
        base_url=BASE,
    )
    assert "\n" not in mail.subject
    assert "\r" not in mail.subject
    assert "1 new listing in “Ports Bcc: everyone@example.com" in mail.subject
    message = Mailer("smtp://127.0.0.1:25", "citydeal <no-reply@citydeal.example>").message(mail)
    assert message["Bcc"] is None
    text = mail.text
    assert text.index("มี 1 รายการใหม่") < text.index("1 new listing in your saved search")
    assert f"{BASE}/listings/new-port" in text
    assert f"{BASE}/saved-searches/7" in text


# --- digests for real: two processes, one database, a real SMTP server ----------------------


@pytest.fixture
def inbox() -> Iterator[tuple[str, Inbox]]:
    with smtp_server() as server:
        yield server


def _dispose(services: Services) -> None:
    bind = services.database.bind
    assert isinstance(bind, Engine)
    bind.dispose()


@pytest.fixture
def processes(
    scratch_database: str, tmp_path: Path, inbox: tuple[str, Inbox]
) -> Iterator[list[Services]]:
    """Two app processes (each its own engine and job runner) on one database, mailing
    to the test's SMTP server. They share one search index: it is not what is tested."""
    engine = make_engine(scratch_database)
    with Session(engine) as session:
        build_world(session)
        session.commit()
    engine.dispose()
    settings = Settings(
        database_url=scratch_database,
        var_dir=tmp_path / "var",
        smtp_url=inbox[0],
        semantic_search=False,
    )
    index = TantivyIndex(tmp_path / "search")
    both = [build_services(settings, search=index) for _ in range(2)]
    yield both
    index.close()
    for services in both:
        _dispose(services)


@pytest.fixture
async def client(processes: list[Services]) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(services=processes[0]))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def _daily_search(
    client: httpx.AsyncClient, services: Services, *, name: str, verified: bool = True
) -> int:
    """A signed-in person of the investor organisation with a daily saved search of
    Nakhon Sawan's listings; returns its id."""
    with services.database.writing() as session:
        alice = _person(session, "alice@fund.example")
        person = session.get(Person, alice.person_id)
        assert person is not None
        person.password_hash = services.passwords.hash(PASSWORD)
        person.email_verified_at = utcnow() if verified else None
    signed_in = await client.post(
        "/v1/sessions", json={"email": "alice@fund.example", "password": PASSWORD}
    )
    assert signed_in.status_code == 201, signed_in.text
    saved = await client.post(
        "/v1/saved-searches",
        json={"name": name, "params": {"city": "nakhon-sawan"}, "frequency": "daily"},
        headers=auth(signed_in.json()["token"]),
    )
    assert saved.status_code == 201, saved.text
    saved_id: int = saved.json()["id"]
    return saved_id


def _publisher_key(database: Database) -> str:
    with database.writing() as session:
        return issue_key(session, organisation_slug="ns-dev", role=Role.publisher)[1]


def _schedule_at_once(processes: list[Services], now: datetime) -> list[int]:
    """Both processes check for due digests at the same moment, on their own threads."""
    barrier = threading.Barrier(len(processes))
    claimed: list[int] = []

    def check(services: Services) -> None:
        assert services.jobs is not None
        barrier.wait()
        claimed.append(
            alerts.schedule_digests(services.database, services.jobs, base_url=BASE, now=now)
        )

    threads = [threading.Thread(target=check, args=(p,)) for p in processes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(claimed)


async def _work_at_once(processes: list[Services]) -> int:
    """Run every process's job runner at once; the jobs that ran, counted in the queue's
    own table (each runner's count may include jobs the other finished meanwhile)."""
    runs = [p.jobs.run_until_idle() for p in processes if p.jobs is not None]
    before = _finished(processes[0])
    await asyncio.gather(*runs)
    return _finished(processes[0]) - before


def _finished(services: Services) -> int:
    assert services.jobs is not None
    with services.database.reading() as session:
        return sum(job.status in ("done", "failed") for job in services.jobs.recent(session, 1000))


async def test_two_processes_send_one_digest_then_none_when_nothing_is_new(
    client: httpx.AsyncClient, processes: list[Services], inbox: tuple[str, Inbox]
) -> None:
    _, mail = inbox
    database = processes[0].database
    saved_id = await _daily_search(client, processes[0], name="Fish\nBcc: everyone@example.com")
    slug = await create_and_publish(client, _publisher_key(database), slug="fish-balls")
    now = utcnow() + timedelta(days=1, minutes=10)

    assert _schedule_at_once(processes, now) == [0, 1]  # one process claimed it
    assert await _work_at_once(processes) == 1  # one job, run once
    assert len(mail.messages) == 1
    message = mail.messages[0]
    assert message["To"] == "alice@fund.example"
    assert message["Bcc"] is None
    assert "\n" not in message["Subject"]
    assert "1 new listing in “Fish Bcc: everyone@example.com”" in message["Subject"]
    text = mail.text_of()
    assert f"{BASE}/listings/{slug}" in text
    assert f"{BASE}/saved-searches/{saved_id}" in text
    assert text.index("รายการใหม่") < text.index("new listing")  # Thai first

    # Checked again the same day: nothing due, nothing sent.
    assert _schedule_at_once(processes, now) == [0, 0]
    assert await _work_at_once(processes) == 0
    # The next day: due again, but nothing was published since: no e-mail.
    assert _schedule_at_once(processes, now + timedelta(days=1)) == [0, 1]
    assert await _work_at_once(processes) == 1
    assert len(mail.messages) == 1
    jobs = processes[0].jobs
    assert jobs is not None
    with database.reading() as session:  # the job runner's own table, either backend
        assert [job.status for job in jobs.recent(session)] == ["done", "done"]


async def test_of_two_processes_that_saw_a_digest_due_one_claims_it(
    client: httpx.AsyncClient, processes: list[Services]
) -> None:
    """The race the conditional UPDATE settles: both read the digest as due, then both
    try to claim it (on SQLite the write lock orders the claims; on PostgreSQL the row
    lock does)."""
    saved_id = await _daily_search(client, processes[0], name="Fish")
    now = utcnow() + timedelta(days=1, minutes=10)
    seen = []
    for services in processes:
        with services.database.reading() as session:
            seen.append(alerts.due_digests(session, now=now))
    assert [[due[0] for due in found] for found in seen] == [[saved_id], [saved_id]]
    won = []
    for services in processes:
        with services.database.writing() as session:
            won.append(
                alerts.claim_digest(
                    session, saved_id=saved_id, frequency=DigestFrequency.daily, now=now
                )
            )
    assert won == [True, False]


@pytest.mark.parametrize("who", ["unconfirmed", "disabled"])
async def test_no_digest_to_an_unconfirmed_or_disabled_person(
    client: httpx.AsyncClient, processes: list[Services], inbox: tuple[str, Inbox], who: str
) -> None:
    _, mail = inbox
    database = processes[0].database
    await _daily_search(client, processes[0], name="Fish", verified=who != "unconfirmed")
    if who == "disabled":
        with database.writing() as session:
            session.execute(update(Person).values(disabled_at=utcnow()))
    await create_and_publish(client, _publisher_key(database), slug="fish-balls")
    assert _schedule_at_once(processes, utcnow() + timedelta(days=1, minutes=10)) == [0, 1]
    assert await _work_at_once(processes) == 1
    assert mail.messages == []


def test_without_mail_no_digest_is_scheduled(scratch_database: str, tmp_path: Path) -> None:
    services = build_services(
        Settings(database_url=scratch_database, var_dir=tmp_path / "var", semantic_search=False),
        search=TantivyIndex(tmp_path / "search"),
    )
    try:
        assert services.jobs is not None
        assert services.jobs.context.mailer is None
        with services.database.writing() as writing:
            build_world(writing)
        with services.database.writing() as writing:
            alice = _person(writing, "alice@fund.example")
            alerts.create_saved_search(
                writing,
                principal=alice,
                data=SavedSearchCreate(name="Fish", frequency="daily"),
                threshold=55,
            )
        later = utcnow() + timedelta(days=8)
        assert (
            alerts.schedule_digests(services.database, services.jobs, base_url=BASE, now=later) == 0
        )
        with services.database.reading() as reading:
            assert reading.exec(select(Job)).all() == []
            assert reading.exec(select(SavedSearch.last_digest_at)).one() is not None
    finally:
        services.search.close()
        _dispose(services)


async def test_the_app_processes_check_for_digests_on_their_own(
    client: httpx.AsyncClient, processes: list[Services], inbox: tuple[str, Inbox]
) -> None:
    """The lifespan's check (every ``digest_check_seconds``) and job runner, end to end."""
    _, mail = inbox
    services = processes[0]
    saved_id = await _daily_search(client, services, name="Fish")
    slug = await create_and_publish(client, _publisher_key(services.database), slug="fish-balls")
    with services.database.writing() as session:  # as if a day had gone by
        session.execute(
            update(SavedSearch).values(last_digest_at=utcnow() - timedelta(days=1, minutes=30))
        )
        session.execute(update(Listing).values(published_at=utcnow() - timedelta(minutes=20)))
    services.settings = services.settings.model_copy(
        update={"digest_check_seconds": 0.05, "public_url": BASE}
    )
    if isinstance(services.jobs, TableJobQueue):  # procrastinate is woken by NOTIFY
        services.jobs.poll_seconds = 0.05
    app = create_app(services=services)
    async with app.router.lifespan_context(app):
        for _ in range(200):
            if mail.messages:
                break
            await asyncio.sleep(0.05)
    assert len(mail.messages) == 1
    assert f"{BASE}/listings/{slug}" in mail.text_of()  # links to the public URL set
    assert f"{BASE}/saved-searches/{saved_id}" in mail.text_of()
