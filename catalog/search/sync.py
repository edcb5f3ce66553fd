"""Keeps a search replica in step with the database through the listing change log."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from catalog.models import ListingChange
from catalog.search.base import ProgressCallback, SearchIndex, SearchUnavailable
from catalog.search.changelog import changes_after
from catalog.search.documents import build_documents, iter_all_documents
from catalog.search.positions import GAP_GRACE, settled_position
from catalog.search.semantic import REFRESH_ROWS, vector_rows_after, vectors_of
from core.db import database_unavailable, unavailable_reason, utcnow

log = logging.getLogger(__name__)

BATCH_SIZE = 500


def catch_up_vectors(session: Session, index: SearchIndex) -> int:
    """Take in every listing vector the replica has not seen (each touched listing's
    whole set, as engines replace a listing's vectors together); returns how many."""
    loaded = 0
    while True:
        position = index.vector_position()
        rows = vector_rows_after(session, position)
        if not rows:
            return loaded
        entries = [(row.id, row.created_at) for row in rows]
        settled = settled_position(position, entries, utcnow())
        index.apply_vectors(vectors_of(session, {row.listing_id for row in rows}), settled)
        loaded += len(rows)
        if len(rows) < REFRESH_ROWS or settled < rows[-1].id:
            return loaded


def catch_up(session: Session, index: SearchIndex) -> int:
    """Apply every change-log entry the replica has not seen; returns how many. Vectors
    come first: another process may hold the lexical index's writer, never this
    process's copy of the vectors."""
    catch_up_vectors(session, index)
    position = index.applied_position()
    applied = 0
    while True:
        batch = changes_after(session, position, BATCH_SIZE)
        if batch is None:
            return applied
        documents = build_documents(session, batch.listings)
        gone = {change.listing_id for change in batch.changes} - {doc.id for doc in documents}
        index.apply(documents, sorted(gone), batch.settled)
        applied += len(batch.changes)
        if batch.settled < batch.last or len(batch.changes) < BATCH_SIZE:
            return applied
        position = batch.settled


def repair_and_catch_up(session: Session, index: SearchIndex) -> int:
    """``catch_up``, after reopening and rebuilding the replica from the database if it
    found itself unreadable (its directory deleted or corrupted under the process)."""
    if index.needs_repair and index.repair():
        log.warning("search index %s: rebuilding from the database", index.name)
        rebuilt = rebuild(session, index)
        log.warning("search index %s rebuilt: %d listings", index.name, rebuilt)
    return catch_up(session, index)


def catch_up_quietly(session: Session, index: SearchIndex) -> None:
    """Catch up (repairing the replica first if it is broken); a failure is logged in one
    line naming its cause and left to the next catch-up, never passed to the caller (the
    database write it follows has already succeeded)."""
    try:
        repair_and_catch_up(session, index)
    except SearchUnavailable as exc:
        # Expected now and then: another process holds the index's writer. One line, no
        # traceback; the follower catches up on its next turn.
        log.info("search index %s busy (%s); will retry", index.name, exc)
    except Exception as exc:
        if database_unavailable(exc):
            # The database, not the index: say so, in one line.
            log.warning(
                "database unavailable; search index %s not caught up: %s",
                index.name,
                unavailable_reason(exc),
            )
            return
        log.warning("search index %s could not catch up; will retry", index.name, exc_info=True)


@dataclass(frozen=True)
class ReplicaLag:
    """How far a replica is behind the change log."""

    applied: int  # the last change-log entry it applied
    pending: int  # entries after it
    oldest_pending_seconds: float  # the age of the oldest of them (0: none)


def replica_lag(session: Session, index: SearchIndex) -> ReplicaLag:
    """How far ``index`` is behind the change log (raises ``SearchUnavailable`` when it
    cannot be read)."""
    if index.needs_repair:
        raise SearchUnavailable("the search index is being rebuilt")
    applied = index.applied_position()
    pending, oldest = session.exec(
        select(func.count(col(ListingChange.id)), func.min(ListingChange.changed_at)).where(
            col(ListingChange.id) > applied
        )
    ).one()
    age = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
    return ReplicaLag(applied, int(pending or 0), max(age, 0.0))


def rebuild(session: Session, index: SearchIndex, progress: ProgressCallback | None = None) -> int:
    """Rebuild ``index`` from the database; returns the number of listings indexed."""
    settled = utcnow() - GAP_GRACE
    position = session.exec(
        select(func.coalesce(func.max(ListingChange.id), 0)).where(
            col(ListingChange.changed_at) < settled
        )
    ).one()
    return index.rebuild(iter_all_documents(session), int(position or 0), progress)
