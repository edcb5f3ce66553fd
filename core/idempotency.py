"""Idempotency keys: a client that retries a request with the same ``Idempotency-Key``
gets the first answer again instead of a second change.

The record is claimed before the request runs (a unique row per caller and key, so two
processes or hosts cannot both run it), completed with the answer once it is known, and
released if the request failed on our side, so that a retry may run it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, LargeBinary, UniqueConstraint, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel

from core.db import Database, UTCDateTime, utcnow

KEEP_FOR = timedelta(hours=24)
# A claim never completed (its process died mid-request) blocks retries this long.
ABANDONED_AFTER = timedelta(minutes=5)


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=64)  # a digest of who asks (their credentials or address)
    key: str = Field(max_length=255)
    method: str = Field(max_length=8)
    path: str = Field(max_length=500)
    request_digest: str = Field(max_length=64)
    status: int | None = None  # None while the first request runs
    headers: list[list[str]] = Field(default_factory=list, sa_type=JSON)
    body: bytes = Field(default=b"", sa_type=LargeBinary)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


@dataclass(frozen=True)
class Stored:
    """The first answer to a request, to be given again."""

    status: int
    headers: list[list[str]]
    body: bytes


@dataclass(frozen=True)
class Busy:
    """The first request with this key is still running."""


@dataclass(frozen=True)
class Mismatch:
    """The key was used before for a different request."""


@dataclass(frozen=True)
class Claimed:
    record_id: int


Claim = Stored | Busy | Mismatch | Claimed


def claim(
    database: Database, *, scope: str, key: str, method: str, path: str, digest: str
) -> Claim:
    """Claim ``key`` for this request, or say why not (answered, running, misused)."""
    now = utcnow()
    with database.writing() as session:
        session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.created_at < now - KEEP_FOR,  # type: ignore[arg-type]
                IdempotencyRecord.scope == scope,  # type: ignore[arg-type]
            )
        )
        found = session.scalars(
            select(IdempotencyRecord).where(
                IdempotencyRecord.scope == scope,  # type: ignore[arg-type]
                IdempotencyRecord.key == key,  # type: ignore[arg-type]
            )
        ).one_or_none()
        if found is not None:
            return _existing(session, found, method=method, path=path, digest=digest, now=now)
        record = IdempotencyRecord(
            scope=scope, key=key, method=method, path=path, request_digest=digest
        )
        try:
            with session.begin_nested():  # a savepoint: losing the race is not an error
                session.add(record)
        except IntegrityError:  # another process claimed it this instant
            return Busy()
        assert record.id is not None
        return Claimed(record.id)


def _existing(
    session: Any, found: IdempotencyRecord, *, method: str, path: str, digest: str, now: datetime
) -> Claim:
    if (found.method, found.path, found.request_digest) != (method, path, digest):
        return Mismatch()
    if found.status is not None:
        return Stored(found.status, found.headers, found.body)
    if found.created_at < now - ABANDONED_AFTER:
        found.created_at = now  # the first attempt died: this one takes over
        return Claimed(found.id or 0)
    return Busy()


def complete(
    database: Database, record_id: int, *, status: int, headers: list[list[str]], body: bytes
) -> None:
    with database.writing() as session:
        session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.id == record_id)  # type: ignore[arg-type]
            .values(status=status, headers=headers, body=body)
        )


def release(database: Database, record_id: int) -> None:
    with database.writing() as session:
        session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id)  # type: ignore[arg-type]
        )
