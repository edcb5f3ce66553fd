"""Engine construction and column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, event, or_, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, create_engine

from core.errors import PreconditionFailed
from core.settings import DatabaseSettings

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


def _sqlite_pragmas(busy_timeout_ms: int) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin, so that
        # SAVEPOINTs and transactional DDL behave as on PostgreSQL.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms:d}")
        cursor.close()

    return on_connect


def _sqlite_begin(connection: Connection) -> None:
    # A deferred transaction that reads and then writes fails at once ("database is
    # locked") if another writer committed in between; one that declares its intent to
    # write takes the write lock up front and waits its turn instead.
    immediate = connection.get_execution_options().get(WRITE_INTENT, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(
    url: str, limits: DatabaseSettings | None = None, *, statement_timeout: bool = True
) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL and a busy timeout. PostgreSQL
    gets bounded waits (``limits``, else the ``CITYDEAL_DB_…`` variables): to connect, for
    a pooled connection and, unless ``statement_timeout`` is False (migrations), for each
    statement; a server that is down or silent fails a request in seconds, not minutes."""
    limits = limits or DatabaseSettings()
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # A file's pool has no cap: WAL readers never wait for one another, and SQLite
        # reads run in place on the event loop, so a request that waited for a pooled
        # connection there froze the worker, whose requests holding the connections need
        # that loop to finish (bench/load: 64 connections, a 30 s stall, then errors).
        pooling: dict[str, Any] = (
            {"pool_size": 20, "max_overflow": -1} if path and path != ":memory:" else {}
        )
        engine = create_engine(url, connect_args={"check_same_thread": False}, **pooling)
        busy_ms = round(limits.sqlite_busy_timeout_seconds * 1000)
        event.listen(engine, "connect", _sqlite_pragmas(busy_ms))
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    connect_args: dict[str, Any] = {"connect_timeout": limits.connect_timeout_seconds}
    if statement_timeout and limits.statement_timeout_seconds:
        statement_ms = round(limits.statement_timeout_seconds * 1000)
        connect_args["options"] = f"-c statement_timeout={statement_ms:d}"
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_timeout=limits.pool_timeout_seconds,
        pool_size=limits.pool_size,
        max_overflow=limits.max_overflow,
        connect_args=connect_args,
    )
    event.listen(engine, "do_connect", _ConnectBreaker(limits.connect_timeout_seconds))
    return engine


class _ConnectBreaker:
    """After a connection attempt fails, the next ``seconds`` of attempts fail at once
    with the same reason instead of each waiting out its own timeout: while the server is
    down, requests queued behind the first attempts answer 503 promptly and give their
    worker threads back. One attempt after the window tries the server again."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._failed_until = 0.0
        self._reason = ""
        self._lock = threading.Lock()

    def __call__(self, dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        with self._lock:
            if time.monotonic() < self._failed_until:
                raise dialect.loaded_dbapi.OperationalError(
                    f"{self._reason} (an attempt under {self.seconds:g} s ago failed)"
                )
        try:
            connection = dialect.connect(*cargs, **cparams)
        except dialect.loaded_dbapi.Error as exc:
            with self._lock:
                self._failed_until = time.monotonic() + self.seconds
                self._reason = " ".join(str(exc).split())[:200]
            raise
        with self._lock:
            self._failed_until = 0.0
        return connection


# SQLite reports a busy or unreadable database with these; its other operational errors
# (no such table, a syntax error) are bugs and stay 500s.
_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database", "disk i/o error")


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached or did not answer in time (a
    refused or timed-out connection, a cancelled statement, a busy pool), as opposed to a
    bug in a statement."""
    if isinstance(exc, (SQLAlchemyTimeoutError, DisconnectionError)):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        if isinstance(exc, (OperationalError, InterfaceError)):
            if type(exc.orig).__module__.startswith("sqlite3"):
                return str(exc.orig).lower().startswith(_SQLITE_UNAVAILABLE)
            return True
    return False


def unavailable_reason(exc: BaseException) -> str:
    """The driver's own words for why the database is unavailable, on one line."""
    cause = getattr(exc, "orig", None) or exc
    words = " ".join(str(cause).split())
    return (words[:300] or type(cause).__name__).rstrip()


AFTER_COMMIT = "citydeal_after_commit"
READ_ONLY = "citydeal_read_only"
# (table name, id) → the version a unit of work moved a row to: the audit log's record
# of writes, including those that changed no field (``core.audit``).
CLAIMED_VERSIONS = "citydeal_claimed_versions"


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


class WriteLockWatch:
    """Whether a write transaction of this process holds SQLite's one write lock.

    Reads of SQLite run in place on the event loop (``reads_in_place``). A write runs in
    worker threads, and between its steps (each dependency, the route, the commit) its
    request goes back to the event loop's queue; under load that queue is full of reads in
    place, and a write of a few milliseconds held the lock for a second, while writers
    queued behind it timed out. While the lock is held here, reads go to worker threads
    instead, so that the event loop carries the writer through at once.
    """

    def __init__(self) -> None:
        # Weakly held: a connection dropped without a commit or rollback event (a lost
        # connection) cannot leave the lock looking held.
        self._holders: weakref.WeakSet[Connection] = weakref.WeakSet()
        self._lock = threading.Lock()

    @property
    def held(self) -> bool:
        with self._lock:
            return any(
                holder.in_transaction() and not holder.invalidated for holder in self._holders
            )

    def watch(self, engine: Engine) -> None:
        if engine.dialect.name != "sqlite":
            return  # PostgreSQL's work all runs in worker threads
        event.listen(engine, "begin", self._began)
        event.listen(engine, "commit", self._ended)
        event.listen(engine, "rollback", self._ended)

    def _began(self, connection: Connection) -> None:
        # Listeners run in order: make_engine's BEGIN IMMEDIATE has taken the lock.
        if connection.get_execution_options().get(WRITE_INTENT, False):
            with self._lock:
                self._holders.add(connection)

    def _ended(self, connection: Connection) -> None:
        with self._lock:
            self._holders.discard(connection)


_WRITE_LOCK_WATCH = "citydeal_write_lock_watch"


def writer_holds_lock(session: Session) -> bool:
    """Whether a write transaction of the process that opened ``session`` holds SQLite's
    write lock (``WriteLockWatch``)."""
    watch = session.info.get(_WRITE_LOCK_WATCH)
    return isinstance(watch, WriteLockWatch) and watch.held


class Database:
    """Where units of work are opened, and what runs after each one that wrote commits
    (keeping search replicas in step, say): hooks are registered once, by the composition
    root, so no route can forget them."""

    def __init__(self, bind: Engine | Connection, **session_options: Any) -> None:
        self.bind = bind
        self._options = session_options
        self._after_write: list[Callable[[Session], None]] = []
        self.write_lock = WriteLockWatch()
        if isinstance(bind, Engine):
            self.write_lock.watch(bind)

    def on_commit(self, hook: Callable[[Session], None]) -> None:
        """Run ``hook(session)`` after every unit of work that was opened to write commits."""
        self._after_write.append(hook)

    def open(self, *, write: bool) -> Session:
        session = open_session(self.bind, write=write, **self._options)
        session.info[_WRITE_LOCK_WATCH] = self.write_lock
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
    claimed_versions = session.info.setdefault(CLAIMED_VERSIONS, {})
    claimed_versions[(table.__table__.name, str(row.id))] = expected_version + 1
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
