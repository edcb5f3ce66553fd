"""Databases for tests, made by copying one made earlier in the same test process.

A new database used to be migrated step by step by Alembic, and a seeded one loaded the demo
catalogue on top, each time a module, a scratch test or a live server asked for one: a run
did that hundreds of times. Each test process now migrates one template per server (and
seeds one more) and copies it: a file copy on SQLite, ``CREATE DATABASE … TEMPLATE`` on
PostgreSQL. A copy holds exactly what ``citydeal db upgrade`` and ``citydeal seed`` wrote
into the template; those commands are tested where they are the subject (test_cli,
test_server, test_backup, test_seed).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import inspect, text
from sqlmodel import Session

from api.migrate import upgrade
from core.audit import Actor, act_as
from core.db import for_writing, make_engine
from seed.loader import load_seed

# Two test runs on one PostgreSQL server (two checkouts, say) keep apart by this prefix.
NAMESPACE = os.environ.get("CITYDEAL_TEST_DATABASE_PREFIX", "citydeal")


def _postgres_admin(url: str, *statements: str) -> None:
    admin = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        admin.dispose()


def _server_and_name(url: str) -> tuple[str, str]:
    server, name = url.rsplit("/", 1)
    return server, name


def fresh_postgres_database(url: str, name: str, *, template: str | None = None) -> str:
    """A new database ``name`` on the server of ``url`` (empty, or a copy of the database
    ``template``); returns its URL."""
    create = f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else "")
    _postgres_admin(url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", create)
    return f"{_server_and_name(url)[0]}/{name}"


def drop_postgres_database(url: str) -> None:
    """Drop the database of ``url`` (its server's other databases are left alone)."""
    server, name = _server_and_name(url)
    _postgres_admin(f"{server}/postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def writing_to(url: str) -> Iterator[Session]:
    """A unit of work on the database of ``url`` as the ``citydeal`` command opens one
    (write intent, and ``cli`` as the audit log's actor); committed when the block ends."""
    engine = for_writing(make_engine(url))
    try:
        with Session(engine, expire_on_commit=False) as session:
            act_as(session, Actor(source="cli"))
            yield session
            session.commit()
    finally:
        engine.dispose()


def seed_in_place(url: str) -> None:
    """``citydeal seed`` on the database of ``url``, as the command runs it."""
    with writing_to(url) as session:
        load_seed(session)


class _Templates:
    """This process's templates, made on first use: migrated, and migrated then seeded,
    one of each per SQLite and per PostgreSQL server."""

    def __init__(self) -> None:
        self._made: dict[tuple[str, bool], str] = {}
        self._directory: Path | None = None

    def url(self, like: str, *, seeded: bool) -> str:
        backend = "sqlite" if like.startswith("sqlite") else _server_and_name(like)[0]
        key = (backend, seeded)
        if key not in self._made:
            self._made[key] = self._make(backend, seeded)
        return self._made[key]

    def _make(self, backend: str, seeded: bool) -> str:
        kind = "seeded" if seeded else "migrated"
        if backend == "sqlite":
            url = f"sqlite:///{self._sqlite_directory() / kind}.db"
            if seeded:
                _copy(self.url(url, seeded=False), url)
            else:
                upgrade(url)
        else:
            name = f"{NAMESPACE}_template_{kind}_{os.getpid()}"
            if seeded:
                url = migrated_postgres_database(backend + "/postgres", name)
            else:
                url = fresh_postgres_database(backend + "/postgres", name)
                upgrade(url)
            atexit.register(drop_postgres_database, url)
        if seeded:
            seed_in_place(url)
        if backend == "sqlite":
            _checkpoint(url)
        return url

    def _sqlite_directory(self) -> Path:
        if self._directory is None:
            self._directory = Path(tempfile.mkdtemp(prefix="citydeal-templates-"))
            atexit.register(shutil.rmtree, self._directory, True)
        return self._directory


_TEMPLATES = _Templates()


def _checkpoint(url: str) -> None:
    """Move what the write-ahead log holds into the database file, which is what is copied."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        engine.dispose()


def _is_empty(url: str) -> bool:
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        return not path.exists() or path.stat().st_size == 0
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return not inspect(connection).get_table_names()
    finally:
        engine.dispose()


def _copy(template: str, url: str) -> None:
    if url.startswith("sqlite"):
        shutil.copyfile(template.removeprefix("sqlite:///"), url.removeprefix("sqlite:///"))
        return
    server, name = _server_and_name(url)
    fresh_postgres_database(f"{server}/postgres", name, template=_server_and_name(template)[1])


def migrated_postgres_database(url: str, name: str, *, seeded: bool = False) -> str:
    """A new database ``name`` on the server of ``url``, a copy of this process's migrated
    (or seeded) template; returns its URL."""
    template = _TEMPLATES.url(url, seeded=seeded)
    return fresh_postgres_database(url, name, template=_server_and_name(template)[1])


def migrated_database(url: str, *, seeded: bool = False) -> None:
    """Make the database of ``url`` migrated (and seeded with the demo catalogue). A
    database that does not exist yet or holds no table becomes a copy of this process's
    template; one that holds tables is migrated (and seeded) in place."""
    if not _is_empty(url):
        upgrade(url)
        if seeded:
            seed_in_place(url)
        return
    _copy(_TEMPLATES.url(url, seeded=seeded), url)
