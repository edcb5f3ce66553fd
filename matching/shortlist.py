"""A person's shortlist of listings, and two to four listings compared side by side.

Only a published listing can be added. A listing archived after it was added stays on
the shortlist (marked archived), and its keeper may still compare it; anyone may compare
published listings.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from catalog import readmodel
from catalog import service as catalog_service
from catalog.access import EVER_PUBLISHED, PUBLISHED
from catalog.models import Listing
from catalog.schemas import (
    CheckpointPublic,
    CityRef,
    HowToInvestStepPublic,
    ListingPublic,
    ListingSummary,
)
from catalog.taxonomy import InvestmentModel, ListingStatus, Sector, Stage
from core.errors import Conflict, InvalidInput, NotFound
from core.principal import Principal
from matching.access import ensure_person
from matching.models import ShortlistItem

MAX_SHORTLIST = 100  # a working list, not an archive
MIN_COMPARED = 2
MAX_COMPARED = 4


class ShortlistEntry(BaseModel):
    listing: ListingSummary = Field(description="Archived listings stay, with their status.")
    added_at: datetime


class ShortlistPublic(BaseModel):
    data: list[ShortlistEntry] = Field(description="Newest first.")
    count: int


class ComparedListing(BaseModel):
    """What a comparison shows of one listing."""

    model_config = ConfigDict(extra="ignore")

    slug: str
    status: ListingStatus
    title_th: str
    title_en: str
    sector: Sector
    stage: Stage
    city: CityRef
    capital_min_thb: int
    capital_max_thb: int
    investment_models: list[InvestmentModel]
    expected_irr_pct: float | None
    payback_years: float | None
    how_to_invest: list[HowToInvestStepPublic]
    steps_count: int = Field(description="How many steps an investor goes through.")
    checkpoints: list[CheckpointPublic] = Field(
        description="The 6- and 12-month checkpoints; `state` says overdue when one is late."
    )


class ComparisonPublic(BaseModel):
    data: list[ComparedListing] = Field(description="In the order asked for.")
    count: int


def _shortlisted(session: Session, person_id: int) -> list[tuple[int, str, datetime]]:
    """The person's listings: id, slug and when added, newest first."""
    rows = session.exec(
        select(ShortlistItem.listing_id, Listing.slug, ShortlistItem.created_at)
        .join(Listing, col(Listing.id) == ShortlistItem.listing_id)
        .where(ShortlistItem.person_id == person_id)
        .order_by(col(ShortlistItem.created_at).desc(), col(ShortlistItem.id).desc())
    ).all()
    return [(listing_id, slug, added_at) for listing_id, slug, added_at in rows]


def shortlisted_ids(session: Session, *, principal: Principal | None) -> set[int]:
    """The ids of the listings on the principal's shortlist (none for a key or nobody)."""
    if principal is None or principal.person_id is None:
        return set()
    return set(
        session.exec(
            select(ShortlistItem.listing_id).where(ShortlistItem.person_id == principal.person_id)
        ).all()
    )


def entries(session: Session, *, principal: Principal) -> list[ShortlistEntry]:
    """The person's shortlist, newest first."""
    kept = _shortlisted(session, ensure_person(principal))
    listings = {
        listing.id: listing
        for listing in readmodel.listings_public(session, [listing_id for listing_id, *_ in kept])
        if listing.status in EVER_PUBLISHED
    }
    return [
        ShortlistEntry(
            listing=ListingSummary.model_validate(listings[listing_id].model_dump()),
            added_at=added_at,
        )
        for listing_id, _slug, added_at in kept
        if listing_id in listings
    ]


def add(session: Session, *, principal: Principal, ref: str) -> tuple[ShortlistEntry, bool]:
    """Put a published listing on the person's shortlist; True if it was not there yet
    (adding it again changes nothing)."""
    person_id = ensure_person(principal)
    listing = catalog_service.find_listing(
        session, ref=ref, viewer=None, public_statuses=EVER_PUBLISHED
    )
    existing = session.exec(
        select(ShortlistItem).where(
            ShortlistItem.person_id == person_id, ShortlistItem.listing_id == listing.id
        )
    ).first()
    if existing is None:
        if listing.status != ListingStatus.published:
            raise Conflict("only published listings can be added to a shortlist", field="listing")
        count = session.exec(
            select(func.count()).where(col(ShortlistItem.person_id) == person_id)
        ).one()
        if count >= MAX_SHORTLIST:
            raise InvalidInput(
                f"a shortlist holds at most {MAX_SHORTLIST} listings: remove some first",
                field="listing",
            )
        existing = ShortlistItem(person_id=person_id, listing_id=listing.id or 0)
        session.add(existing)
        session.flush()
        created = True
    else:
        created = False
    summary = readmodel.listing_public(session, listing.id or 0)
    entry = ShortlistEntry(
        listing=ListingSummary.model_validate(summary.model_dump()), added_at=existing.created_at
    )
    return entry, created


def remove(session: Session, *, principal: Principal, ref: str) -> bool:
    """Take a listing off the person's shortlist; True if it was on it."""
    person_id = ensure_person(principal)
    listing = catalog_service.find_listing(
        session, ref=ref, viewer=None, public_statuses=EVER_PUBLISHED
    )
    removed = session.execute(
        delete(ShortlistItem)
        .where(
            col(ShortlistItem.person_id) == person_id,
            col(ShortlistItem.listing_id) == listing.id,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(removed.rowcount)  # type: ignore[attr-defined]


def _compared(listing: ListingPublic) -> ComparedListing:
    return ComparedListing.model_validate(
        listing.model_dump() | {"steps_count": len(listing.how_to_invest)}
    )


def compare(
    session: Session, *, refs: Sequence[str], viewer: Principal | None
) -> list[ComparedListing]:
    """Two to four listings side by side, in the order given (a listing named twice counts
    once). Published listings for anyone; an archived one for whoever kept it on their
    shortlist (and, as for every listing, for its own organisation)."""
    asked = list(dict.fromkeys(ref.strip() for ref in refs if ref.strip()))
    if len(asked) > MAX_COMPARED:
        raise InvalidInput(
            f"compare {MIN_COMPARED} to {MAX_COMPARED} listings at a time; {len(asked)} were given",
            field="listing",
            given=len(asked),
        )
    kept: set[str] = set()
    if viewer is not None and viewer.person_id is not None:
        for listing_id, slug, _added in _shortlisted(session, viewer.person_id):
            kept |= {slug, str(listing_id)}
    found: dict[int, ListingPublic] = {}
    for ref in asked:
        try:
            listing = readmodel.find_public_listing(
                session,
                ref=ref,
                viewer=viewer,
                public_statuses=EVER_PUBLISHED if ref in kept else PUBLISHED,
            )
        except NotFound as exc:
            raise NotFound(f"no published listing '{ref}'", field="listing", listing=ref) from exc
        found.setdefault(listing.id, listing)
    if len(found) < MIN_COMPARED:
        raise InvalidInput(
            f"compare {MIN_COMPARED} to {MAX_COMPARED} different listings; "
            f"{len(found)} {'was' if len(found) == 1 else 'were'} given",
            field="listing",
            given=len(found),
        )
    return [_compared(listing) for listing in found.values()]
