"""Background jobs and e-mail, for real: a job deferred in a request's transaction, run
by the job runner of the database (procrastinate on PostgreSQL, the embedded runner on
SQLite), delivering to a real SMTP server that the test reads."""

from __future__ import annotations

import re
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from api.deps import Services
from api.main import build_services, create_app
from catalog.accounts.models import Person
from core.db import Database, make_engine
from core.jobs import Job, JobContext, TableJobQueue
from core.settings import Settings
from tests.factories import World, auth, build_world
from tests.mail import Inbox, smtp_server

PASSWORD = "a password long enough"


@pytest.fixture
def inbox() -> Iterator[tuple[str, Inbox]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def world_of(scratch_database: str) -> World:
    engine = make_engine(scratch_database)
    with Session(engine) as session:
        world = build_world(session)
        session.commit()
    engine.dispose()
    return world


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
    dispose(services.database)


def dispose(database: Database) -> None:
    bind = database.bind
    assert isinstance(bind, Engine)
    bind.dispose()


@pytest.fixture
async def client(mailing: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(services=mailing))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def link_in(text: str) -> str:
    found = re.search(r"http://test(/\S+)", text)
    assert found, text
    return found.group(1)


async def test_an_invitation_goes_by_email_and_its_link_works_once(
    client: httpx.AsyncClient, mailing: Services, world_of: World, inbox: tuple[str, Inbox]
) -> None:
    _, mail = inbox
    invited = await client.post(
        "/v1/organisations/ns-dev/invitations",
        json={"email": "somchai@ns.example", "name": "Somchai"},
        headers=auth(world_of.admin_key),
    )
    assert invited.status_code == 201, invited.text
    assert invited.json()["emailed"] is True
    assert invited.json()["url"] is None  # the link went by e-mail, not to the inviter
    assert mail.messages == []  # sent by the job runner, not by the request

    assert mailing.jobs is not None
    assert await mailing.jobs.run_until_idle() == 1
    assert len(mail.messages) == 1
    message = mail.messages[0]
    assert message["To"] == "somchai@ns.example"
    assert "Invitation to join" in message["Subject"]
    text = mail.text_of()
    assert "คุณได้รับเชิญให้เข้าร่วม" in text  # Thai first, then English
    path = link_in(text)
    accepted = await client.post(f"/v1{path}", json={"password": PASSWORD})
    assert accepted.status_code == 200, accepted.text
    again = await client.post(f"/v1{path}", json={"password": PASSWORD})
    assert again.status_code == 409
    signed_in = await client.post(
        "/v1/sessions", json={"email": "somchai@ns.example", "password": PASSWORD}
    )
    assert signed_in.status_code == 201
    assert await mailing.jobs.run_until_idle() == 0  # done once


async def test_a_refused_request_leaves_no_job_and_the_queue_keeps_no_secret(
    client: httpx.AsyncClient, mailing: Services, world_of: World, inbox: tuple[str, Inbox]
) -> None:
    _, mail = inbox
    admin = auth(world_of.admin_key)
    body = {"email": "twice@ns.example"}
    assert (
        await client.post("/v1/organisations/ns-dev/invitations", json=body, headers=admin)
    ).status_code == 201
    refused = await client.post("/v1/organisations/ns-dev/invitations", json=body, headers=admin)
    assert refused.status_code == 409
    assert mailing.jobs is not None
    with mailing.database.reading() as session:
        jobs = mailing.jobs.recent(session)
    assert [job.task for job in jobs] == ["accounts.send_link"]  # the refused one left none
    assert await mailing.jobs.run_until_idle() == 1
    assert len(mail.messages) == 1


async def test_a_reset_link_by_email_replaces_the_password(
    client: httpx.AsyncClient, mailing: Services, world_of: World, inbox: tuple[str, Inbox]
) -> None:
    _, mail = inbox
    assert mailing.jobs is not None
    await client.post(
        "/v1/organisations/ns-dev/invitations",
        json={"email": "forgets@ns.example"},
        headers=auth(world_of.admin_key),
    )
    await mailing.jobs.run_until_idle()
    await client.post(f"/v1{link_in(mail.text_of())}", json={"password": PASSWORD})
    asked = await client.post("/v1/password-resets", json={"email": "FORGETS@ns.example"})
    assert asked.status_code == 202
    await mailing.jobs.run_until_idle()
    assert len(mail.messages) == 2
    assert "Set a new password" in mail.messages[1]["Subject"]
    link = link_in(mail.text_of())
    assert link.startswith("/password-reset/")  # the portal's page, where people set it
    reset = await client.post(
        f"/v1/password-resets/{link.rsplit('/', 1)[1]}", json={"password": "another long password"}
    )
    assert reset.status_code == 200, reset.text
    signed_in = await client.post(
        "/v1/sessions", json={"email": "forgets@ns.example", "password": "another long password"}
    )
    assert signed_in.status_code == 201


# --- the embedded runner, on either database -------------------------------------------


@pytest.fixture
def runners(scratch_database: str) -> Iterator[list[TableJobQueue]]:
    """Two embedded runners on one database, as two processes would be."""
    queues = [
        TableJobQueue(
            JobContext(
                Database(make_engine(scratch_database)),
                Settings(database_url=scratch_database),
                None,
            )
        )
        for _ in range(2)
    ]
    yield queues
    for queue in queues:
        dispose(queue.context.database)


def test_a_failing_job_is_retried_later_then_done_once(runners: list[TableJobQueue]) -> None:
    calls: list[int] = []

    def flaky(_context: JobContext, arguments: dict[str, Any]) -> None:
        calls.append(arguments["n"])
        if len(calls) == 1:
            raise RuntimeError("the mail server is down")

    queue = runners[0]
    queue.register("flaky", flaky)
    with queue.context.database.writing() as session:
        queue.defer(session, "flaky", {"n": 7})
    assert queue.run_one()  # fails
    with queue.context.database.reading() as session:
        job = session.exec(select(Job)).one()
        assert (job.status, job.attempts) == ("queued", 1)
        assert "the mail server is down" in job.last_error
    assert not queue.run_one()  # not due yet: it waits before the next attempt
    with queue.context.database.writing() as session:
        job = session.exec(select(Job)).one()
        job.run_after = job.created_at
        session.add(job)
    assert queue.run_one()
    assert calls == [7, 7]
    with queue.context.database.reading() as session:
        assert session.exec(select(Job.status)).one() == "done"
    assert not queue.run_one()


def test_two_runners_do_each_job_once(runners: list[TableJobQueue]) -> None:
    done: list[int] = []
    lock = threading.Lock()

    def record(_context: JobContext, arguments: dict[str, Any]) -> None:
        with lock:
            done.append(arguments["n"])

    queues = runners
    for queue in queues:
        queue.register("record", record)
    with queues[0].context.database.writing() as session:
        for n in range(40):
            queues[0].defer(session, "record", {"n": n})

    def work(queue: TableJobQueue) -> None:
        while queue.run_one():
            pass

    threads = [threading.Thread(target=work, args=(queue,)) for queue in queues]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(done) == list(range(40))  # every job, each once


def test_an_unknown_task_is_refused_when_deferred(runners: list[TableJobQueue]) -> None:
    queue = runners[0]
    with pytest.raises(ValueError, match="no task"), queue.context.database.writing() as session:
        queue.defer(session, "nobody.knows", {})


async def test_an_admin_sees_the_jobs_and_their_state(
    client: httpx.AsyncClient, mailing: Services, world_of: World
) -> None:
    await client.post(
        "/v1/organisations/ns-dev/invitations",
        json={"email": "watched@ns.example"},
        headers=auth(world_of.admin_key),
    )
    assert mailing.jobs is not None
    await mailing.jobs.run_until_idle()
    form = await client.get("/signin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    await client.post("/signin", data={"api_key": world_of.admin_key, "csrf_token": token[1]})
    page = await client.get("/admin/jobs", params={"lang": "th"})
    assert page.status_code == 200
    assert "accounts.send_link" in page.text
    assert "เสร็จแล้ว" in page.text


async def test_a_new_investor_confirms_its_address_by_the_link_mailed(
    client: httpx.AsyncClient, mailing: Services, inbox: tuple[str, Inbox]
) -> None:
    _, mail = inbox
    registered = await client.post(
        "/v1/registrations",
        json={
            "email": "desk@fjord.example",
            "password": PASSWORD,
            "organisation_name": "Fjord Capital",
            "investor_type": "fund",
        },
    )
    assert registered.status_code == 201, registered.text
    assert registered.json()["email_confirmation"] == "sent"
    assert mailing.jobs is not None
    assert await mailing.jobs.run_until_idle() == 1
    message = mail.messages[0]
    assert message["To"] == "desk@fjord.example"
    assert "Confirm your e-mail address" in message["Subject"]
    path = link_in(mail.text_of())
    assert path.startswith("/verify-email/")
    token = path.rsplit("/", 1)[1]
    with mailing.database.reading() as session:
        person = session.exec(select(Person).where(Person.email == "desk@fjord.example")).one()
        assert person.email_verified_at is None
    confirmed = await client.post(f"/v1/email-confirmations/{token}")
    assert confirmed.status_code == 200, confirmed.text
    with mailing.database.reading() as session:
        person = session.exec(select(Person).where(Person.email == "desk@fjord.example")).one()
        assert person.email_verified_at is not None
    assert (await client.post(f"/v1/email-confirmations/{token}")).status_code == 409
