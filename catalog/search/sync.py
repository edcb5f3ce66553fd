"""Keeps a search replica in step with the database through the listing change log."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from catalog.models import Listing, ListingChange
from catalog.search.base import ProgressCallback, SearchIndex, SearchUnavailable
from catalog.search.documents import build_documents, iter_all_documents
from core.db import utcnow

log = logging.getLogger(__name__)

BATCH_SIZE = 500
# Change-log ids are handed out when a row is inserted but become visible when its
# transaction commits, so a reader can see id 101 before id 100. A missing id younger
# than this may still appear: the replica's position waits below it (later entries are
# applied anyway, and applying is idempotent). An older gap is a rolled-back write.
GAP_GRACE = timedelta(seconds=60)


def _safe_position(position: int, changes: Sequence[ListingChange], now: datetime) -> int:
    expected = position + 1
    for change in changes:
        assert change.id is not None
        if change.id != expected and now - change.changed_at < GAP_GRACE:
            return expected - 1
        expected = change.id + 1
    return expected - 1


def catch_up(session: Session, index: SearchIndex) -> int:
    """Apply every change-log entry the replica has not seen; returns how many."""
    position = index.applied_position()
    applied = 0
    while True:
        changes = session.exec(
            select(ListingChange)
            .where(col(ListingChange.id) > position)
            .order_by(col(ListingChange.id))
            .limit(BATCH_SIZE)
        ).all()
        if not changes:
            return applied
        listing_ids = {change.listing_id for change in changes}
        listings = session.exec(select(Listing).where(col(Listing.id).in_(listing_ids))).all()
        documents = build_documents(session, listings)
        indexed = {doc.id for doc in documents}
        new_position = _safe_position(position, changes, utcnow())
        index.apply(documents, sorted(listing_ids - indexed), new_position)
        applied += len(changes)
        if new_position < (changes[-1].id or 0) or len(changes) < BATCH_SIZE:
            return applied
        position = new_position


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
