"""The published catalogue as a ``ListingMatrix``: what the scorer reads, derived from the
database and rebuilt when the change log moves."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from catalog.models import City, Listing, ListingChange, ListingModel
from catalog.taxonomy import ListingStatus
from matching.scoring import ListingMatrix, ListingRow


def listing_rows(session: Session, listings: Sequence[Listing]) -> list[ListingRow]:
    ids = [listing.id for listing in listings]
    provinces = dict(session.exec(select(City.id, City.province_code)).all())
    models: dict[int, list[str]] = {}
    for link in session.exec(select(ListingModel).where(col(ListingModel.listing_id).in_(ids))):
        models.setdefault(link.listing_id, []).append(link.model)
    return [
        ListingRow(
            id=listing.id or 0,
            slug=listing.slug,
            kind=listing.kind,
            sector=listing.sector,
            province=provinces[listing.city_id],
            stage=listing.stage,
            models=tuple(sorted(models.get(listing.id or 0, []))),
            capital_min=listing.capital_min_thb,
            capital_max=listing.capital_max_thb,
            irr=listing.expected_irr_pct,
            payback=listing.payback_years,
            text=" ".join(
                [
                    listing.title_th,
                    listing.title_en,
                    listing.summary_th,
                    listing.summary_en,
                    listing.description_th,
                    listing.description_en,
                ]
            ),
        )
        for listing in listings
    ]


# Below this many published listings a full rebuild is cheap (about a millisecond per
# listing), and it keeps the vocabulary exact; above it, changes are spliced in.
SPLICE_FROM = 2_000
# A full rebuild after this share of the catalogue has been spliced, so that new words
# and word weights catch up.
REBUILD_SHARE = 0.1


class MatrixStore:
    """The published catalogue as a ``ListingMatrix``, kept in step with the change log:
    the listings that changed are spliced in (``ListingMatrix.spliced``), and the whole
    matrix is rebuilt when the log did not simply grow (a gap filled on PostgreSQL, a
    restore), when the catalogue is small, or after a tenth of it has been spliced.

    A per-process cache of data the database holds: a second host builds its own.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[Any, ...] | None = None
        self._matrix: ListingMatrix | None = None
        self._spliced = 0

    def matrix(self, session: Session) -> ListingMatrix:
        key = tuple(
            session.exec(
                select(
                    func.max(ListingChange.id),
                    func.max(ListingChange.changed_at),
                    func.count(col(ListingChange.id)),
                )
            ).one()
        )
        with self._lock:
            if self._matrix is None or key != self._key:
                self._matrix = self._spliced_in(session, key) or self._built(session)
                self._key = key
            return self._matrix

    def _built(self, session: Session) -> ListingMatrix:
        published = session.exec(
            select(Listing).where(Listing.status == ListingStatus.published)
        ).all()
        self._spliced = 0
        return ListingMatrix.build(listing_rows(session, published))

    def _spliced_in(self, session: Session, key: tuple[Any, ...]) -> ListingMatrix | None:
        """The current matrix with the listings changed since it was made spliced in; None
        when a full rebuild is due."""
        current, seen = self._matrix, self._key
        if current is None or seen is None or seen[0] is None or len(current) < SPLICE_FROM:
            return None
        changed = session.exec(
            select(ListingChange.listing_id).where(col(ListingChange.id) > seen[0])
        ).all()
        if key[2] - seen[2] != len(changed):  # not only appended: a gap filled, a restore
            return None
        ids = set(changed)
        if self._spliced + len(ids) > REBUILD_SHARE * len(current):
            return None
        published = session.exec(
            select(Listing).where(
                col(Listing.id).in_(ids), Listing.status == ListingStatus.published
            )
        ).all()
        self._spliced += len(ids)
        return current.spliced(ids, listing_rows(session, published))
