"""Keeps a search replica in step with the database through the listing change log."""

from __future__ import annotations

import logging

from sqlalchemy import func
from sqlmodel import Session, col, select

from catalog.models import ListingChange
from catalog.search.base import ProgressCallback, SearchIndex, SearchUnavailable
from catalog.search.changelog import changes_after
from catalog.search.documents import build_documents, iter_all_documents
from catalog.search.positions import GAP_GRACE, settled_position
from catalog.search.semantic import REFRESH_ROWS, vector_rows_after, vectors_of
from core.db import utcnow

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


def catch_up_quietly(session: Session, index: SearchIndex) -> None:
    """Catch up if the engine can; a failure is logged and left to the next catch-up,
    never passed to the caller (the database write it follows has already succeeded)."""
    try:
        catch_up(session, index)
    except SearchUnavailable as exc:
        # Expected now and then: another process holds the index's writer. One line, no
        # traceback; the follower catches up on its next turn.
        log.info("search index %s busy (%s); will retry", index.name, exc)
    except Exception:
        log.warning("search index %s could not catch up; will retry", index.name, exc_info=True)


def rebuild(session: Session, index: SearchIndex, progress: ProgressCallback | None = None) -> int:
    """Rebuild ``index`` from the database; returns the number of listings indexed."""
    settled = utcnow() - GAP_GRACE
    position = session.exec(
        select(func.coalesce(func.max(ListingChange.id), 0)).where(
            col(ListingChange.changed_at) < settled
        )
    ).one()
    return index.rebuild(iter_all_documents(session), int(position or 0), progress)
