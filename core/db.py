"""Engine construction and column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, event, or_, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, create_engine

from core.errors import PreconditionFailed

WRITE_INTENT = "citydeal_write_intent"


def for_writing(engine: Engine) -> Engine:
    """The same engine, marked so that SQLite transactions take the write lock at BEGIN."""
    return engine.execution_options(**{WRITE_INTENT: True})


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC and always returns an aware datetime, also on SQLite (which keeps naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin, so that
    # SAVEPOINTs and transactional DDL behave as on PostgreSQL.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # A deferred transaction that reads and then writes fails at once ("database is
    # locked") if another writer committed in between; one that declares its intent to
    # write takes the write lock up front and waits its turn instead.
    immediate = connection.get_execution_options().get(WRITE_INTENT, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL and a busy timeout."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True)


AFTER_COMMIT = "citydeal_after_commit"
READ_ONLY = "citydeal_read_only"


class ReadOnlyUnitOfWork(RuntimeError):
    """A unit of work opened to read tried to write: its route must declare write intent
    (``api.deps.writes``). A programming error, caught by the suite, never bad input."""


class UnitOfWork(Session):
    """A session for one unit of work. Opened to read, it refuses every write, so a route
    that forgot to declare its write intent fails loudly instead of racing for the lock."""


@event.listens_for(UnitOfWork, "before_flush")
def _refuse_pending_writes(session: Session, _context: Any, _instances: Any) -> None:
    if session.info.get(READ_ONLY) and (session.new or session.dirty or session.deleted):
        raise ReadOnlyUnitOfWork("this unit of work was opened to read, not to write")


@event.listens_for(UnitOfWork, "do_orm_execute")
def _refuse_statement_writes(state: Any) -> None:
    if state.session.info.get(READ_ONLY) and not state.is_select:
        raise ReadOnlyUnitOfWork("this unit of work was opened to read, not to write")


def after_commit(session: Session, hook: Callable[[Session], None]) -> None:
    """Run ``hook(session)`` once the unit of work has committed (never if it fails)."""
    session.info.setdefault(AFTER_COMMIT, []).append(hook)


def open_session(bind: Engine | Connection, *, write: bool = True, **options: Any) -> Session:
    """A session for one unit of work; opening it does no I/O. ``write=False`` opens it
    to read only: on SQLite its transaction takes no lock, and any write is refused."""
    if write and isinstance(bind, Engine):
        bind = for_writing(bind)
    session = UnitOfWork(bind=bind, expire_on_commit=False, **options)
    session.info[READ_ONLY] = not write
    return session


def finish(session: Session, *, failed: bool) -> None:
    """End a unit of work: roll back if it failed, else commit and run the after-commit
    hooks; then close."""
    try:
        if failed:
            session.rollback()
            return
        session.commit()
        for hook in session.info.pop(AFTER_COMMIT, []):
            hook(session)
    finally:
        session.close()


def reads_in_place(session: Session) -> bool:
    """Whether this session's work may run on the calling thread (an event loop's): reading
    SQLite is CPU-bound under the GIL and, in WAL mode, never waits for a lock, so a worker
    thread would add only its hand-off. PostgreSQL answers over a network and writers may
    wait for locks; their work belongs in a worker thread."""
    return session.get_bind().dialect.name == "sqlite" and bool(session.info.get(READ_ONLY))


@contextmanager
def unit_of_work(
    bind: Engine | Connection, *, write: bool = True, **options: Any
) -> Iterator[Session]:
    """A session that commits if the block succeeds and rolls back if it raises."""
    session = open_session(bind, write=write, **options)
    try:
        yield session
    except BaseException:
        finish(session, failed=True)
        raise
    finish(session, failed=False)


class Database:
    """Where units of work are opened, and what runs after each one that wrote commits
    (keeping search replicas in step, say): hooks are registered once, by the composition
    root, so no route can forget them."""

    def __init__(self, bind: Engine | Connection, **session_options: Any) -> None:
        self.bind = bind
        self._options = session_options
        self._after_write: list[Callable[[Session], None]] = []

    def on_commit(self, hook: Callable[[Session], None]) -> None:
        """Run ``hook(session)`` after every unit of work that was opened to write commits."""
        self._after_write.append(hook)

    def open(self, *, write: bool) -> Session:
        session = open_session(self.bind, write=write, **self._options)
        for hook in self._after_write if write else ():
            after_commit(session, hook)
        return session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only unit of work (rolled back at the end: it has nothing to commit)."""
        session = self.open(write=False)
        try:
            yield session
        finally:
            finish(session, failed=True)

    @contextmanager
    def writing(self) -> Iterator[Session]:
        session = self.open(write=True)
        try:
            yield session
        except BaseException:
            finish(session, failed=True)
            raise
        finish(session, failed=False)


def claim_version(session: Session, row: Any, expected_version: int, *, what: str) -> None:
    """Move a versioned row (``id``, ``version``, ``updated_at``) to its next version only
    if nobody else has moved it since; else 412, and nothing changes.

    The conditional UPDATE is the guard: two concurrent editors holding the same version
    cannot both pass it (on PostgreSQL the second waits for the row lock, then matches
    no row), so a stale write fails instead of silently overwriting.
    """
    if row.version != expected_version:
        raise PreconditionFailed(
            f"{what} is at version {row.version}, not {expected_version}",
            field="If-Match",
            current_version=row.version,
        )
    table = type(row)
    claimed = session.execute(
        update(table)
        .where(table.id == row.id, table.version == expected_version)
        .values(version=expected_version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise PreconditionFailed(f"{what} was changed by someone else meanwhile", field="If-Match")
    # Keep the in-memory object in step without marking it dirty a second time.
    session.expire(row, ["version", "updated_at"])


def read_rows(session: Session, statement: Any, params: dict[str, Any] | None = None) -> Any:
    """Run a Core statement on the session's connection, in its transaction. Reads that
    need rows, not objects, skip the ORM's per-statement work this way: a one-row query
    costs about a third of its ORM equivalent."""
    if session.new or session.dirty or session.deleted:
        session.flush()  # what the ORM has pending must be visible to the query
    return session.connection().execute(statement, params or {})


def unique_slug(session: Session, column: Any, text: str, *, fallback: str) -> str:
    """A URL slug from ``text`` (``fallback`` if it has no ASCII letters or digits), with
    ``-2``, ``-3``… appended while ``column`` already holds it."""
    base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60].strip("-") or fallback
    taken = set(
        session.scalars(select(column).where(or_(column == base, column.like(f"{base}-%"))))
    )
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate
