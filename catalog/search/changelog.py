"""Reading the listing change log and the published listings in batches: what every
follower of the log (the search replicas, the vector follower) and every rebuild share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from catalog.models import Listing, ListingChange
from catalog.search.positions import settled_position
from catalog.taxonomy import ListingStatus
from core.db import utcnow


@dataclass(frozen=True)
class ChangeBatch:
    changes: Sequence[ListingChange]
    listings: Sequence[Listing]  # the listings those entries are about, as stored now
    settled: int  # how far a reader may record it has read (see ``settled_position``)

    @property
    def last(self) -> int:
        return self.changes[-1].id or 0


def changes_after(session: Session, position: int, limit: int) -> ChangeBatch | None:
    """The next ``limit`` change-log entries after ``position``, or None when there are none."""
    changes = session.exec(
        select(ListingChange)
        .where(col(ListingChange.id) > position)
        .order_by(col(ListingChange.id))
        .limit(limit)
    ).all()
    if not changes:
        return None
    ids = {change.listing_id for change in changes}
    listings = session.exec(select(Listing).where(col(Listing.id).in_(ids))).all()
    entries = [(change.id or 0, change.changed_at) for change in changes]
    return ChangeBatch(changes, listings, settled_position(position, entries, utcnow()))


def published_after(session: Session, last_id: int, limit: int) -> Sequence[Listing]:
    """The next ``limit`` published listings by id after ``last_id``."""
    return session.exec(
        select(Listing)
        .where(Listing.status == ListingStatus.published, col(Listing.id) > last_id)
        .order_by(col(Listing.id))
        .limit(limit)
    ).all()
