"""The audit log: who changed what, when and from where, for every tracked table.

Nothing has to remember to write it. Each domain says once which of its tables are
tracked (``track``), and the session events below do the rest: every flush notes the
field-level changes of tracked rows (ORM changes, and bulk ``update``/``delete``
statements through the session), changes to one row in one unit of work are merged, and
the rows of the log are inserted in the same transaction, just before it commits. A unit
of work that rolls back leaves no trace; one that commits cannot lose its entry.

The table is append-only: the migration installs triggers that refuse ``UPDATE`` and
``DELETE`` on it, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import base64
import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Connection, Index, event, insert, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session
from sqlmodel import Field, SQLModel

from core.db import CLAIMED_VERSIONS, READ_ONLY, UTCDateTime, utcnow

ACTOR = "citydeal_audit_actor"
PENDING = "citydeal_audit_pending"
REDACTED = "[redacted]"
# Columns that change on their own (timestamps of the write itself, the version, which
# is kept beside each entry, and the last use of a key) say nothing about what changed.
ALWAYS_IGNORED = frozenset({"updated_at", "version", "last_used_at"})


class AuditEvent(SQLModel, table=True):
    """One change to one row: created, changed (with each field's old and new value) or
    deleted; by whom (a person, an API key, or the system), when and from where."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_organisation", "organisation_id", "id"),
        Index("ix_audit_event_resource", "resource_type", "resource_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Whose resource it is: its members and admins may read the entry. Plain integers,
    # not foreign keys, so that history outlives what it speaks of.
    organisation_id: int | None = None
    resource_type: str = Field(max_length=32)
    resource_id: str = Field(max_length=80)
    action: str = Field(max_length=8)  # created | changed | deleted
    changes: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    version: int | None = None  # the resource's version after the change, if versioned
    person_id: int | None = None
    api_key_id: int | None = None
    source: str = Field(default="system", max_length=16)  # api | portal | cli | job | system
    address: str | None = Field(default=None, max_length=64)
    request_id: str | None = Field(default=None, max_length=64)


@dataclass(frozen=True)
class Actor:
    """Who is making the changes of a unit of work, and from where."""

    source: str = "system"
    person_id: int | None = None
    api_key_id: int | None = None
    address: str | None = None
    request_id: str | None = None


def act_as(session: Session, actor: Actor) -> None:
    """Name who makes this unit of work's changes (the web layer does, per request)."""
    session.info[ACTOR] = actor


def acting(session: Session) -> Actor:
    actor = session.info.get(ACTOR)
    return actor if isinstance(actor, Actor) else Actor()


Owner = Callable[[Connection, Mapping[str, Any]], int | None]


@dataclass(frozen=True)
class Tracked:
    resource_type: str
    owner: Owner
    ignored: frozenset[str]
    redacted: frozenset[str]


_TRACKED: dict[str, Tracked] = {}  # by table name


def track(
    model: type[SQLModel],
    resource_type: str,
    *,
    owner: Owner,
    ignore: Iterable[str] = (),
    redact: Iterable[str] = (),
) -> None:
    """Record every change to ``model``'s rows; ``owner`` names the organisation whose
    members may read them; ``redact`` columns are noted as changed without their values
    (secrets), ``ignore`` ones not at all."""
    table = model.__table__  # type: ignore[attr-defined]
    _TRACKED[table.name] = Tracked(
        resource_type, owner, ALWAYS_IGNORED | frozenset(ignore), frozenset(redact)
    )


def owner_column(name: str = "organisation_id") -> Owner:
    """The row names its organisation itself."""

    def owner(_connection: Connection, row: Mapping[str, Any]) -> int | None:
        value = row.get(name)
        return int(value) if value is not None else None

    return owner


def owner_through(parent: type[SQLModel], foreign_key: str) -> Owner:
    """The organisation of the parent row that ``foreign_key`` points at."""
    table = parent.__table__  # type: ignore[attr-defined]

    def owner(connection: Connection, row: Mapping[str, Any]) -> int | None:
        parent_id = row.get(foreign_key)
        if parent_id is None:
            return None
        found = connection.execute(
            select(table.c.organisation_id).where(table.c.id == parent_id)
        ).scalar_one_or_none()
        return int(found) if found is not None else None

    return owner


def tracked_types() -> dict[str, str]:
    """Table name → resource type of every tracked table."""
    return {name: spec.resource_type for name, spec in _TRACKED.items()}


# --- values ---------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """A JSON-safe copy of a column value (ISO 8601 dates, numbers, lists, mappings)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


@dataclass
class _Entry:
    tracked: Tracked
    row: dict[str, Any]  # the latest values known, for the owner and the version
    action: str
    changes: dict[str, list[Any]] = field(default_factory=dict)  # field → [old, new]

    def merge(self, action: str, changes: dict[str, list[Any]], row: Mapping[str, Any]) -> None:
        self.row.update(row)
        if action == "deleted":
            self.action = "gone" if self.action == "created" else "deleted"
        for name, (old, new) in changes.items():
            if name in self.changes:
                self.changes[name][1] = new
            else:
                self.changes[name] = [old, new]


def _pending(session: Session) -> dict[tuple[str, str], _Entry]:
    pending: dict[tuple[str, str], _Entry] = session.info.setdefault(PENDING, {})
    return pending


def _note(
    session: Session,
    table: str,
    key: tuple[Any, ...],
    action: str,
    changes: dict[str, list[Any]],
    row: Mapping[str, Any],
) -> None:
    tracked = _TRACKED[table]
    values = {
        name: ([REDACTED, REDACTED] if name in tracked.redacted else [jsonable(o), jsonable(n)])
        for name, (o, n) in changes.items()
        if name not in tracked.ignored
    }
    resource_id = "/".join(str(part) for part in key)
    entry = _pending(session).get((table, resource_id))
    if entry is None:
        _pending(session)[(table, resource_id)] = _Entry(tracked, dict(row), action, values)
    else:
        entry.merge(action, values, row)


# --- capturing changes ------------------------------------------------------------------


def _columns(state: Any) -> list[str]:
    return [attr.key for attr in state.mapper.column_attrs]


def _key(state: Any) -> tuple[Any, ...]:
    return tuple(state.mapper.primary_key_from_instance(state.obj()))


@event.listens_for(Session, "after_flush")
def _capture_flush(session: Session, _context: Any) -> None:
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        state = inspect(obj)
        table = state.mapper.local_table.name
        if table not in _TRACKED:
            continue
        loaded = dict(state.dict)  # what is loaded: reading more would query mid-flush
        row = {name: loaded.get(name) for name in _columns(state)}
        if obj in session.new:
            created = {n: [None, v] for n, v in row.items() if v is not None}
            _note(session, table, _key(state), "created", created, row)
        elif obj in session.deleted:
            gone = {n: [v, None] for n, v in row.items() if v is not None}
            _note(session, table, _key(state), "deleted", gone, row)
        else:
            changed = {}
            for name in _columns(state):
                history = state.attrs[name].history
                if history.added or history.deleted:
                    old = history.deleted[0] if history.deleted else None
                    new = history.added[0] if history.added else None
                    if old != new:
                        changed[name] = [old, new]
            if changed:
                _note(session, table, _key(state), "changed", changed, row)


@event.listens_for(Session, "do_orm_execute")
def _capture_bulk(state: ORMExecuteState) -> Any:
    """Bulk ``update``/``delete`` through the session: the rows before and after."""
    if not (state.is_update or state.is_delete) or state.session.info.get(READ_ONLY):
        return None
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if table is None or name not in _TRACKED:
        return None
    connection = state.session.connection()
    where = state.statement.whereclause  # type: ignore[attr-defined]
    keys = [column.name for column in table.primary_key.columns]
    chosen = select(table) if where is None else select(table).where(where)
    before = {
        tuple(row[k] for k in keys): dict(row) for row in connection.execute(chosen).mappings()
    }
    result = state.invoke_statement()
    if state.is_delete:
        for key, row in before.items():
            _note(
                state.session,
                name,
                key,
                "deleted",
                {n: [v, None] for n, v in row.items() if v is not None},
                row,
            )
        return result
    for key, old in before.items():
        condition = [table.c[k] == v for k, v in zip(keys, key, strict=True)]
        new = connection.execute(select(table).where(*condition)).mappings().one_or_none()
        if new is None:
            continue
        changed = {n: [old[n], new[n]] for n in new.keys() if old.get(n) != new[n]}
        _note(state.session, name, key, "changed", changed, dict(new))
    return result


# --- writing the log --------------------------------------------------------------------


@event.listens_for(Session, "before_commit")
def _write_log(session: Session) -> None:
    if session.info.get(READ_ONLY):
        return
    session.flush()  # the last changes are noted before the log is written
    pending = session.info.pop(PENDING, {})
    versions: dict[tuple[str, str], int] = session.info.pop(CLAIMED_VERSIONS, {})
    for table, resource_id in versions:
        if table in _TRACKED and (table, resource_id) not in pending:  # a write of no field
            pending[(table, resource_id)] = _Entry(_TRACKED[table], {}, "changed")
    if not pending:
        return
    connection = session.connection()
    actor = acting(session)
    at = utcnow()
    rows = []
    for (table, resource_id), entry in pending.items():
        if entry.action == "gone":  # created and deleted in one unit of work
            continue
        if entry.action == "changed" and not entry.changes and (table, resource_id) not in versions:
            continue
        rows.append(
            {
                "at": at,
                "organisation_id": _owner_of(connection, table, resource_id, entry),
                "resource_type": entry.tracked.resource_type,
                "resource_id": resource_id[:80],
                "action": entry.action,
                "changes": {name: {"old": o, "new": n} for name, (o, n) in entry.changes.items()},
                "version": versions.get((table, resource_id), entry.row.get("version")),
                "person_id": actor.person_id,
                "api_key_id": actor.api_key_id,
                "source": actor.source,
                "address": actor.address,
                "request_id": actor.request_id,
            }
        )
    if rows:
        connection.execute(insert(AuditEvent.__table__), rows)  # type: ignore[attr-defined]


def _owner_of(connection: Connection, table: str, resource_id: str, entry: _Entry) -> int | None:
    row = entry.row
    if not row and resource_id.isdigit():  # only its version moved: read the row
        source = SQLModel.metadata.tables[table]
        found = (
            connection.execute(select(source).where(source.c.id == int(resource_id)))
            .mappings()
            .one_or_none()
        )
        row = dict(found) if found is not None else {}
    return entry.tracked.owner(connection, row)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(PENDING, None)
    session.info.pop(CLAIMED_VERSIONS, None)
