"""Failures that are clear and short: a database that is down or silent answers 503 with
``Retry-After`` in about two seconds (an HTML page in the reader's language on the
portal), while what needs no database keeps answering; a search index deleted or
corrupted under a running server answers 503 for search and rebuilds itself; the
count a search returns always agrees with its hits."""

from __future__ import annotations

import concurrent.futures
import http.client
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col

from api.main import build_services, create_app
from catalog.models import Listing
from catalog.search.base import SearchUnavailable
from catalog.search.sync import catch_up
from catalog.search.tantivy_engine import TantivyIndex
from catalog.taxonomy import ListingStatus
from core.db import database_unavailable, for_writing, make_engine
from core.settings import DatabaseSettings, Settings
from matching.matrix import MatrixStore
from tests.conftest import POSTGRES_URL
from tests.factories import World, create_and_publish
from tests.live import environment, seeded, serve

THAI_DB_MESSAGE = "ขณะนี้ระบบติดต่อฐานข้อมูลไม่ได้"
THAI_SEARCH_MESSAGE = "ระบบค้นหากำลังสร้างดัชนีใหม่"


# --- a database that does not answer -------------------------------------------------


@pytest.fixture
def silent_database() -> Iterator[str]:
    """The URL of a "PostgreSQL server" that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(200)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"postgresql+psycopg://citydeal@127.0.0.1:{server.getsockname()[1]}/citydeal"
    stop.set()
    thread.join(timeout=2)
    for connection in accepted:
        connection.close()
    server.close()


@pytest.fixture
def closed_database() -> str:
    """The URL of a port where nothing listens (the server is down)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"postgresql+psycopg://citydeal@127.0.0.1:{port}/citydeal"


def _app_on(url: str, tmp_path: Path) -> FastAPI:
    settings = Settings(database_url=url, var_dir=tmp_path / "var", semantic_search=False)
    services = build_services(settings, matrices=MatrixStore())
    return create_app(services=services)


@pytest.fixture(params=["silent", "closed"])
async def unreachable(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    url = request.getfixturevalue(f"{request.param}_database")
    transport = httpx.ASGITransport(app=_app_on(url, tmp_path))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_the_api_answers_503_with_retry_after_within_two_seconds(
    unreachable: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    started = time.monotonic()
    response = await unreachable.get("/v1/provinces")
    elapsed = time.monotonic() - started
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "database_unavailable"
    assert int(response.headers["Retry-After"]) > 0
    assert elapsed < 3.0  # psycopg's floor is 2 s; a silent server once held requests 70 s
    lines = [r for r in caplog.records if "database unavailable" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].exc_info is None  # one line, no traceback


async def test_a_portal_page_answers_an_html_page_in_the_readers_language(
    unreachable: httpx.AsyncClient,
) -> None:
    thai = await unreachable.get("/listings/anything")
    assert thai.status_code == 503
    assert thai.headers["content-type"].startswith("text/html")
    assert "Retry-After" in thai.headers
    assert THAI_DB_MESSAGE in thai.text
    english = await unreachable.get("/listings/anything", headers={"Accept-Language": "en"})
    assert english.status_code == 503
    assert "cannot reach its database" in english.text


async def test_requests_queued_behind_a_failed_connection_fail_at_once(
    silent_database: str, tmp_path: Path
) -> None:
    """The first request waits out the connect timeout; those after it, within that
    window, are told at once (their worker threads go back to the pool)."""
    transport = httpx.ASGITransport(app=_app_on(silent_database, tmp_path))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/v1/provinces")).status_code == 503
        started = time.monotonic()
        assert (await client.get("/v1/provinces")).status_code == 503
        assert time.monotonic() - started < 0.5


def test_database_unavailable_tells_a_busy_sqlite_from_a_bug(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    engine = make_engine(url, DatabaseSettings(sqlite_busy_timeout_seconds=0.2))
    holder = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        with for_writing(holder).begin() as holding:  # holds the write lock
            holding.exec_driver_sql("INSERT INTO t VALUES (0)")
            started = time.monotonic()
            with pytest.raises(Exception) as locked:  # noqa: PT011 - the class is checked below
                with engine.begin() as connection:
                    connection.exec_driver_sql("INSERT INTO t VALUES (1)")
            assert time.monotonic() - started < 2  # the busy timeout, not SQLite's default
            assert database_unavailable(locked.value)
        with pytest.raises(Exception) as bug:  # noqa: PT011
            with engine.begin() as connection:
                connection.exec_driver_sql("SELECT * FROM no_such_table")
        assert not database_unavailable(bug.value)
    finally:
        engine.dispose()
        holder.dispose()


@pytest.mark.skipif(not POSTGRES_URL, reason="needs CITYDEAL_TEST_DATABASE_URL (PostgreSQL)")
def test_postgresql_cancels_a_statement_past_its_timeout() -> None:
    assert POSTGRES_URL is not None
    engine = make_engine(POSTGRES_URL, DatabaseSettings(statement_timeout_seconds=0.3))
    try:
        started = time.monotonic()
        with pytest.raises(OperationalError) as cancelled, engine.connect() as connection:
            connection.exec_driver_sql("SELECT pg_sleep(5)")
        assert time.monotonic() - started < 2
        assert "statement timeout" in str(cancelled.value)
        assert database_unavailable(cancelled.value)  # 503, not 500
        unlimited = make_engine(POSTGRES_URL, statement_timeout=False)
        with unlimited.connect() as connection:  # migrations: no limit
            assert connection.exec_driver_sql("SHOW statement_timeout").scalar() == "0"
        unlimited.dispose()
    finally:
        engine.dispose()


def test_db_upgrade_fails_fast_with_one_line(silent_database: str, tmp_path: Path) -> None:
    env = environment(tmp_path, CITYDEAL_DATABASE_URL=silent_database)

    def run(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "api.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return done, time.monotonic() - started

    _, starting = run("--help")  # importing the command takes seconds on a busy machine
    done, elapsed = run("db", "upgrade")
    # The 2 s connect timeout (and a loaded machine's slack), not a hang: psycopg's own
    # default would wait 130 s, and a silent server once held it for good.
    assert elapsed < starting + 10
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    message = done.stderr.strip().splitlines()
    assert len(message) == 1, done.stderr
    assert message[0].startswith("database unavailable:")


@pytest.mark.live_server
@pytest.mark.slow
def test_a_server_whose_database_is_silent_starts_and_stays_responsive(
    silent_database: str, tmp_path: Path
) -> None:
    """uvicorn starts although the database does not answer; while 45 requests that need
    it wait, what needs no database (health, the taxonomy, static files) still answers
    at once; each of the 45 gets 503 in seconds; the log has one line per failure that
    names the database, and no traceback."""
    env = environment(
        tmp_path, CITYDEAL_DATABASE_URL=silent_database, CITYDEAL_SEARCH_SYNC_SECONDS="0.5"
    )

    def healthy(base: str) -> bool:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200

    with serve(env, tmp_path, ready=healthy) as base:
        limits = httpx.Limits(max_connections=60, max_keepalive_connections=60)
        with (
            httpx.Client(base_url=base, timeout=30, limits=limits) as client,
            concurrent.futures.ThreadPoolExecutor(max_workers=45) as pool,
        ):

            def provinces(_: int) -> httpx.Response:
                return client.get("/v1/provinces")

            waiting = [pool.submit(provinces, n) for n in range(45)]
            time.sleep(0.5)  # they are in flight
            # On the event loop: at once. A static file is read in a worker thread, and
            # waits at most for one to come free (the database's timeouts bound that).
            bounds = {"/healthz": 1.5, "/v1/taxonomy": 1.5, "/static/favicon.svg": 4.0}
            for path, bound in bounds.items():
                started = time.monotonic()
                response = httpx.get(f"{base}{path}", timeout=10)
                assert response.status_code == 200, (path, response.text)
                assert time.monotonic() - started < bound, path
            answers = [future.result() for future in waiting]
        assert {answer.status_code for answer in answers} == {503}
        assert {answer.json()["error"] for answer in answers} == {"database_unavailable"}
        # How long the app took over each (Server-Timing), whatever the client's own load.
        took = [float(a.headers["Server-Timing"].split("dur=")[1]) for a in answers]
        # Within the connect and pool timeouts (2 s each, at worst one after the other),
        # with slack for a loaded machine; a silent server once held requests 70 s.
        assert max(took) < 6000
        ready = httpx.get(f"{base}/readyz", timeout=10)
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"]["ok"] is False
    log = (tmp_path / "server.log").read_text()
    assert "Traceback" not in log
    failures = [
        line for line in log.splitlines() if "database unavailable (GET /v1/provinces)" in line
    ]
    assert len(failures) == 45
    assert "database unavailable; search index tantivy not caught up" in log
    assert "search index tantivy could not catch up" not in log  # not blamed on the index


# --- a search index deleted or corrupted ---------------------------------------------


def _get(connection: http.client.HTTPConnection, path: str) -> tuple[int, str, bool]:
    connection.request("GET", path, headers={"Accept-Language": "th"})
    response = connection.getresponse()
    body = response.read().decode()
    return response.status, body, response.will_close


def _pending(base: str) -> int | None:
    """Changes the search replica has still to apply, as /readyz reports them."""
    search = httpx.get(f"{base}/readyz", timeout=10).json()["checks"]["search"]
    pending: int | None = search.get("pending")
    return pending


@pytest.mark.live_server
@pytest.mark.slow
@pytest.mark.parametrize("damage", ["deleted", "corrupted"])
def test_a_broken_index_answers_503_then_rebuilds_itself(damage: str, tmp_path: Path) -> None:
    env = environment(tmp_path, CITYDEAL_SEARCH_SYNC_SECONDS="3")
    seeded(env, publisher_of="nakhon-sawan-development")
    with serve(env, tmp_path) as base:
        before = httpx.get(f"{base}/v1/search", params={"q": "ลูกชิ้นปลา"}, timeout=10)
        deadline = time.monotonic() + 30
        while before.json()["count"] == 0 and time.monotonic() < deadline:
            time.sleep(0.5)  # the follower indexes the seed
            before = httpx.get(f"{base}/v1/search", params={"q": "ลูกชิ้นปลา"}, timeout=10)
        assert before.json()["count"] > 0
        # A search can answer before the replica holds the whole seed: damage it only once
        # it does, so that what answers afterwards can only be the damaged replica.
        while _pending(base) != 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _pending(base) == 0

        directory = tmp_path / "var" / "search"
        index_dir = next(directory.iterdir())
        if damage == "deleted":
            shutil.rmtree(index_dir)
        else:
            (index_dir / "meta.json").write_text("garbage")
            (index_dir / "position.json").write_text("garbage")

        host, port = base.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        status, body, closes = _get(connection, "/v1/search?q=%E0%B8%A5%E0%B8%B9%E0%B8%81")
        assert status == 503, body
        assert '"search_unavailable"' in body
        assert not closes  # an answer, not an exception that drops the connection
        status, body, closes = _get(connection, "/")
        assert status == 503
        assert THAI_SEARCH_MESSAGE in body
        assert not closes
        status, body, closes = _get(connection, "/v1/provinces")  # the same connection
        assert status == 200
        assert not closes
        status, body, _ = _get(connection, "/listings/nakhon-sawan-fish-ball-factory")
        assert status == 200
        connection.close()

        deadline = time.monotonic() + 60
        after = httpx.get(f"{base}/v1/search", params={"q": "ลูกชิ้นปลา"}, timeout=10)
        while after.status_code == 503 and time.monotonic() < deadline:
            time.sleep(0.5)
            after = httpx.get(f"{base}/v1/search", params={"q": "ลูกชิ้นปลา"}, timeout=10)
        assert after.status_code == 200
        assert after.json()["count"] == before.json()["count"]
        assert httpx.get(base, timeout=10).status_code == 200
    log = (tmp_path / "server.log").read_text()
    assert "rebuilt" in log


def test_an_index_broken_before_start_opens_for_repair(tmp_path: Path) -> None:
    """A corrupt directory at start-up does not make every request fail to build the
    index: it opens broken, reports unavailable, and repairs to an empty index."""
    first = TantivyIndex(tmp_path)
    first.close()
    (first.directory / "meta.json").write_text("garbage")
    index = TantivyIndex(tmp_path)
    assert index.needs_repair
    assert index.repair() is True  # empty now: to be rebuilt from the database
    with pytest.raises(SearchUnavailable):  # an empty index would answer "no listings"
        index.count()
    index.rebuild([], 7)
    assert not index.needs_repair
    assert index.count() == 0
    assert index.applied_position() == 7


# --- counts and hits agree -----------------------------------------------------------


async def test_the_count_leaves_out_hits_the_database_dropped(
    client: httpx.AsyncClient,
    world: World,
    session: Session,
    tantivy_index: TantivyIndex,
) -> None:
    """The replica still holds a listing archived a moment ago: the hit is dropped (the
    database supplies listings), and so is it from the count."""
    slug = await create_and_publish(client, world.nakhon_sawan_key, title_en="Riverside cold store")
    catch_up(session, tantivy_index)
    found = (await client.get("/v1/search", params={"q": "cold store"})).json()
    assert found["count"] == 1
    assert len(found["hits"]) == 1
    # Archived behind the replica's back (as between a commit and the follower's turn).
    session.execute(
        update(Listing).where(col(Listing.slug) == slug).values(status=ListingStatus.archived)
    )
    session.commit()
    body = (await client.get("/v1/search", params={"q": "cold store"})).json()
    assert body["hits"] == []
    assert body["count"] == 0
