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


class MatrixStore:
    """The published catalogue as a ``ListingMatrix``, rebuilt when the change log moves.

    A per-process cache of data the database holds: a second host builds its own.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[Any, ...] | None = None
        self._matrix: ListingMatrix | None = None

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
                published = session.exec(
                    select(Listing).where(Listing.status == ListingStatus.published)
                ).all()
                self._matrix = ListingMatrix.build(listing_rows(session, published))
                self._key = key
            return self._matrix
