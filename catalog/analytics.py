"""What a city learns of its listings' audience: pitch-page views and search impressions
by week, beside the interest and leads that followed.

Counting must not slow a page: a view adds one to a counter in the process's memory
(``Tally``, microseconds and no database write); every few seconds each process appends
what it counted since as a few rows of ``listing_activity`` (listing, kind, day, count).
A process that dies loses at most those seconds of counts, never a listing; no other
process or host needs what a tally holds. Weekly figures are sums over those rows.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import Index, func
from sqlalchemy import select as sql_select
from sqlmodel import Field, Session, SQLModel, col

from catalog.models import Listing
from core.db import Database, UTCDateTime, read_rows, utcnow
from core.formatting import bangkok_date


class Activity(StrEnum):
    view = "view"  # the pitch page was shown
    impression = "impression"  # the listing was among the search results shown


class ListingActivity(SQLModel, table=True):
    """Append-only counts: one row per listing, kind and day for each flush."""

    __tablename__ = "listing_activity"
    __table_args__ = (Index("ix_listing_activity_listing_day", "listing_id", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    listing_id: int = Field(foreign_key="listing.id")
    kind: str = Field(max_length=16)
    day: date
    count: int
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


def bangkok_today() -> date:
    return bangkok_date(utcnow())


class Tally:
    """One process's counts since its last flush."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[int, str, date]] = Counter()
        self._lock = threading.Lock()

    def count(self, listing_ids: list[int] | int, kind: Activity) -> None:
        today = bangkok_today()
        ids = [listing_ids] if isinstance(listing_ids, int) else listing_ids
        with self._lock:
            for listing_id in ids:
                self._counts[(listing_id, kind.value, today)] += 1

    def drain(self) -> Counter[tuple[int, str, date]]:
        with self._lock:
            counts, self._counts = self._counts, Counter()
        return counts


def flush(database: Database, tally: Tally) -> int:
    """Append what ``tally`` counted; returns the number of rows written."""
    counts = tally.drain()
    if not counts:
        return 0
    with database.writing() as session:
        existing = {
            row[0]
            for row in read_rows(
                session,
                sql_select(col(Listing.id)).where(col(Listing.id).in_({key[0] for key in counts})),
            )
        }
        session.add_all(
            ListingActivity(listing_id=listing_id, kind=kind, day=day, count=count)
            for (listing_id, kind, day), count in counts.items()
            if listing_id in existing
        )
    return len(counts)


@dataclass(frozen=True)
class Week:
    starts: date  # a Monday
    views: int = 0
    impressions: int = 0
    interest: int = 0  # filled by the matching layer, which keeps interest


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_starts(weeks: int, today: date | None = None) -> list[date]:
    """The Mondays of the last ``weeks`` weeks, oldest first (this week last)."""
    end = monday(today or bangkok_today())
    return [end - timedelta(weeks=weeks - 1 - n) for n in range(weeks)]


def weekly_activity(
    session: Session, listing_ids: list[int], starts: list[date]
) -> dict[date, Week]:
    """Views and impressions of these listings in the weeks starting on ``starts``."""
    counts: Counter[tuple[date, str]] = Counter()
    if listing_ids:
        day, kind = col(ListingActivity.day), col(ListingActivity.kind)
        rows = read_rows(
            session,
            sql_select(day, kind, func.sum(ListingActivity.count))
            .where(col(ListingActivity.listing_id).in_(listing_ids), day >= starts[0])
            .group_by(day, kind),
        )
        for on, what, total in rows:
            counts[(monday(on), what)] += int(total)
    return {
        start: Week(
            starts=start,
            views=counts[(start, Activity.view.value)],
            impressions=counts[(start, Activity.impression.value)],
        )
        for start in starts
    }
