"""Fixtures: every test runs on SQLite, and also on PostgreSQL when
``CITYDEAL_TEST_DATABASE_URL`` is set. Each test gets a fresh database: the schema is
migrated once per run, and each test runs inside a transaction that is rolled back.
A test that asks for ``seeded`` runs the same way on a database that holds the demo
catalogue, loaded once per run. The HTTP client drives the real app in-process over ASGI.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Connection, Engine
from sqlmodel import Session

from api.main import build_services, create_app
from catalog.search.base import SearchIndex
from catalog.search.sync import catch_up
from catalog.search.tantivy_engine import TantivyIndex
from core.db import Database, make_engine
from core.ratelimit import Rule
from core.settings import get_settings
from matching.matrix import MatrixStore
from tests.databases import (
    NAMESPACE,
    drop_postgres_database,
    migrated_database,
    migrated_postgres_database,
)
from tests.factories import ENGINES, World, build_world, new_search_index

POSTGRES_URL = os.environ.get("CITYDEAL_TEST_DATABASE_URL")
# argon2id at a test machine's cost (still argon2id; production keeps the library's
# recommended 64 MiB and 3 passes): a sign-in takes milliseconds, not a quarter second.
os.environ.setdefault("CITYDEAL_ACCOUNTS_ARGON2_MEMORY_KIB", "8192")
os.environ.setdefault("CITYDEAL_ACCOUNTS_ARGON2_TIME_COST", "1")
# Rate limits far above what the suite does in a burst (Schemathesis, the concurrent
# writers, live servers shared by a module); tests/api/test_rate_limits.py sets its own
# and checks the defaults.
for _rule in Rule:
    os.environ.setdefault(f"CITYDEAL_RATE_LIMIT_{_rule.value.upper()}", "1000000/minute")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules with ``slow`` tests (servers, browsers, fuzzers) run first, each module's
    tests in their own order. xdist (``--dist loadscope --no-loadscope-reorder``) hands
    out whole modules in this order; by default it hands out the modules with the most
    tests first, which put every slow module (a few long tests each) last, and the run
    ended on a worker finishing one alone. Started first, they leave the many short
    modules to even the workers out."""

    def module(item: pytest.Item) -> str:
        return item.nodeid.split("::", 1)[0]

    slow = {module(item) for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: module(item) not in slow)


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, worker_id: str
) -> str:
    """A freshly migrated database for the whole run, one per backend and per xdist
    worker (the workers run in parallel; each has a database of its own)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        migrated_database(url)
    else:
        assert POSTGRES_URL is not None
        # Told to use PostgreSQL: an unreachable server is a failure, never a skip.
        url = migrated_postgres_database(POSTGRES_URL, f"{NAMESPACE}_test_{worker_id}")
    return url


@pytest.fixture(scope="module")
def module_database_url(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, worker_id: str
) -> Iterator[str]:
    """A database of the module's own, migrated and committed to for real, on the same
    backend as ``database_url``: for read-only data built once per module and shared by
    its tests (each test's own transaction cannot hold data across tests)."""
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path_factory.mktemp('module-db') / 'module.db'}"
        migrated_database(url)
        yield url
        return
    assert POSTGRES_URL is not None
    url = migrated_postgres_database(POSTGRES_URL, f"{NAMESPACE}_module_{worker_id}")
    yield url
    drop_postgres_database(url)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def seeded_database_url(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, worker_id: str
) -> Iterator[str]:
    """A migrated database with the demo catalogue (``seed/``) loaded and committed, once
    per backend and per xdist worker: loading it takes seconds, too long to repeat for
    each test that reads it."""
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path_factory.mktemp('seeded-db') / 'seeded.db'}"
        migrated_database(url, seeded=True)
    else:
        assert POSTGRES_URL is not None
        url = migrated_postgres_database(
            POSTGRES_URL, f"{NAMESPACE}_seeded_{worker_id}", seeded=True
        )
    yield url
    if not url.startswith("sqlite"):
        drop_postgres_database(url)


@pytest.fixture(scope="session")
def seeded_engine(seeded_database_url: str) -> Iterator[Engine]:
    engine = make_engine(seeded_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def seeded() -> None:
    """The demo catalogue, for a test that reads it: asked for (by the test or by one of
    its fixtures), it puts ``connection``, and so ``session``, ``app`` and ``client``, on
    ``seeded_database_url``. The test's own changes are rolled back as everywhere."""


@pytest.fixture
def connection(request: pytest.FixtureRequest, engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test (to the
    seeded database when the test asks for ``seeded``)."""
    if "seeded" in request.fixturenames:
        engine = request.getfixturevalue("seeded_engine")
    with rolled_back(engine) as connection:
        yield connection


@contextmanager
def rolled_back(engine: Engine) -> Iterator[Connection]:
    """A connection to ``engine`` inside a transaction that is rolled back at the end (a
    module whose tests start from data of its own overrides ``connection`` with it)."""
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    """A session whose commits only release a savepoint of the test's transaction."""
    with Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    ) as session:
        yield session


@pytest.fixture
def world(session: Session) -> World:
    """Two cities with publishers, an investor and their API keys."""
    world = build_world(session)
    session.commit()
    return world


@pytest.fixture(params=ENGINES)
def search_index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchIndex]:
    """Each available engine in turn, empty, for one test."""
    index = new_search_index(request.param, tmp_path / "search")
    yield index
    index.close()


@pytest.fixture
def tantivy_index(tmp_path: Path) -> TantivyIndex:
    return TantivyIndex(tmp_path / "search")


@pytest.fixture
def app(connection: Connection, tantivy_index: TantivyIndex) -> FastAPI:
    """The real app on the test's transaction, with a fresh embedded search index and
    matrix store (per test: a cache key can repeat across rolled-back tests)."""
    services = build_services(
        get_settings(),
        database=Database(connection, join_transaction_mode="create_savepoint"),
        search=tantivy_index,
        matrices=MatrixStore(),
    )
    return create_app(services=services)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@asynccontextmanager
async def module_app(
    url: str, directory: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, World, Engine]]:
    """The world committed to the database ``url`` (``module_database_url``), and a client
    of the real app on it whose commits are real: to make, through the API, data that every
    test of a module starts from. Such a module overrides ``connection`` with
    ``rolled_back`` on the engine, ``world`` and ``tantivy_index`` (caught up)."""
    engine = make_engine(url)
    with Session(engine) as session:
        world = build_world(session)
        session.commit()
    services = build_services(
        get_settings(),
        database=Database(engine),
        search=TantivyIndex(directory),
        matrices=MatrixStore(),
    )
    transport = httpx.ASGITransport(app=create_app(services=services))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client, world, engine
    finally:
        engine.dispose()


def caught_up_index(directory: Path, session: Session) -> TantivyIndex:
    """A fresh index caught up with the listings of the database (as the app's follower of
    the change log would); a test's changes reach it as they commit."""
    index = TantivyIndex(directory)
    catch_up(session, index)
    return index


@pytest.fixture(scope="session")
def project_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture
def scratch_database(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A separate, migrated database whose commits are real: for tests of concurrency
    between several connections, which a rolled-back test transaction cannot show."""
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'scratch.db'}"
        migrated_database(url)
        yield url
        return
    # One per xdist worker process.
    url = migrated_postgres_database(database_url, f"{NAMESPACE}_scratch_{os.getpid()}")
    yield url
    drop_postgres_database(url)
