"""The candidate pool of a pitch day: the published listings its pitching listings are
chosen from, named one by one or found by the catalogue's filters and search at that
moment, each pinned (always pitches), excluded (never) or neither."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete
from sqlmodel import Session, col, select

from catalog import browse
from catalog.models import Listing, Organisation
from catalog.readmodel import published_summaries
from catalog.schemas import ListingFilters, SearchParams
from catalog.search.base import SearchIndex
from catalog.taxonomy import ListingStatus
from core.db import claim_version
from core.errors import InvalidInput
from core.principal import Principal
from matching.access import ensure_may_organise
from matching.pitchday.models import EventCandidate, PitchEvent
from matching.pitchday.schemas import (
    POOL_LIMIT,
    CandidatePublic,
    CandidatesPublic,
    Named,
    PoolEntry,
    PoolFilters,
    PoolUpdate,
)

PAGE = 100  # the catalogue's largest page


def pool_rows(session: Session, event: PitchEvent) -> list[EventCandidate]:
    """The event's pool, in listing-id order."""
    return list(
        session.exec(
            select(EventCandidate)
            .where(EventCandidate.event_id == event.id)
            .order_by(col(EventCandidate.listing_id))
        )
    )


def publishers_of(session: Session, listing_ids: Sequence[int]) -> dict[int, Named]:
    """Each listing's publisher, by listing id."""
    if not listing_ids:
        return {}
    rows = session.exec(
        select(Listing.id, Organisation)
        .join(Organisation, col(Organisation.id) == Listing.organisation_id)
        .where(col(Listing.id).in_(listing_ids))
    )
    return {
        listing_id or 0: Named(slug=o.slug, name_th=o.name_th, name_en=o.name_en)
        for listing_id, o in rows
    }


def candidates_public(
    session: Session, *, event: PitchEvent, principal: Principal
) -> CandidatesPublic:
    """The pool as its organiser sees it: published listings only (one unpublished since
    it joined is counted, not shown)."""
    ensure_may_organise(event, principal)
    rows = pool_rows(session, event)
    summaries = published_summaries(session, [row.listing_id for row in rows])
    flags = {row.listing_id: row for row in rows}
    publishers = publishers_of(session, [s.id for s in summaries])
    return CandidatesPublic(
        data=[
            CandidatePublic(
                listing=summary,
                publisher=publishers[summary.id],
                pinned=flags[summary.id].pinned,
                excluded=flags[summary.id].excluded,
            )
            for summary in summaries
        ],
        count=len(summaries),
        unpublished=len(rows) - len(summaries),
        version=event.version,
    )


def _named(session: Session, entries: Sequence[PoolEntry]) -> dict[int, tuple[bool, bool]]:
    """The listings named, as id -> (pinned, excluded); 422 naming ``listings`` for one
    that is not published (a draft reads as unknown), named twice, or both pinned and
    excluded."""
    slugs = [entry.slug for entry in entries]
    if len(set(slugs)) != len(slugs):
        twice = next(slug for slug in slugs if slugs.count(slug) > 1)
        raise InvalidInput(f"'listings' names '{twice}' twice", field="listings")
    for entry in entries:
        if entry.pinned and entry.excluded:
            raise InvalidInput(f"'{entry.slug}' is both pinned and excluded", field="listings")
    found = dict(
        session.exec(
            select(Listing.slug, Listing.id).where(
                col(Listing.slug).in_(slugs), Listing.status == ListingStatus.published
            )
        ).all()
    )
    for slug in slugs:
        if slug not in found:
            raise InvalidInput(f"no published listing '{slug}'", field="listings")
    return {found[e.slug] or 0: (e.pinned, e.excluded) for e in entries}


def _too_many(found: int) -> InvalidInput:
    return InvalidInput(
        f"the filters find {found} listings; narrow them to at most {POOL_LIMIT}", field="filters"
    )


def filtered_listings(
    session: Session, *, filters: PoolFilters, index: SearchIndex | None
) -> list[int]:
    """Ids of the published listings the filters find now: by the search index when there
    are words to search for, else straight from the database."""
    place = filters.model_dump(include={"kind", "sector", "province", "city"})
    ids: list[int] = []
    try:
        if filters.q.strip() and index is not None:
            offset = 0
            while True:
                params = SearchParams(q=filters.q, limit=PAGE, offset=offset, **place)
                found = browse.search_catalogue(session, index=index, params=params)
                if found.count > POOL_LIMIT:
                    raise _too_many(found.count)
                ids += [hit.listing.id for hit in found.hits]
                offset += PAGE
                if offset >= found.count or not found.hits:
                    break
        else:
            offset, total = 0, 1
            while offset < total:
                page, total = browse.search_published(
                    session, filters=ListingFilters(limit=PAGE, offset=offset, **place)
                )
                if total > POOL_LIMIT:
                    raise _too_many(total)
                ids += page
                offset += PAGE
    except InvalidInput as exc:
        if exc.field == "filters":
            raise
        raise InvalidInput(exc.message, field=f"filters.{exc.field}") from None
    return list(dict.fromkeys(ids))


def resolve_pool(
    session: Session, *, data: PoolUpdate, index: SearchIndex | None
) -> dict[int, tuple[bool, bool]]:
    """The pool ``data`` describes, as listing id -> (pinned, excluded): the listings the
    filters find (neither), then those named (with their own flags)."""
    pool: dict[int, tuple[bool, bool]] = {}
    if data.filters is not None:
        pool = dict.fromkeys(
            filtered_listings(session, filters=data.filters, index=index), (False, False)
        )
    pool |= _named(session, data.listings)
    if len(pool) > POOL_LIMIT:
        raise InvalidInput(f"a pool holds at most {POOL_LIMIT} listings", field="listings")
    return pool


def replace_pool(
    session: Session,
    *,
    event: PitchEvent,
    principal: Principal,
    data: PoolUpdate,
    expected_version: int,
    index: SearchIndex | None,
) -> PitchEvent:
    """Make the event's pool what ``data`` describes, from the current version only."""
    ensure_may_organise(event, principal)
    pool = resolve_pool(session, data=data, index=index)
    claim_version(session, event, expected_version, what="event")
    set_pool(session, event, pool)
    return event


def set_pool(session: Session, event: PitchEvent, pool: dict[int, tuple[bool, bool]]) -> None:
    """Replace the stored pool rows (the caller has claimed the event's version)."""
    session.execute(delete(EventCandidate).where(col(EventCandidate.event_id) == event.id))
    session.add_all(
        EventCandidate(
            event_id=event.id or 0, listing_id=listing_id, pinned=pinned, excluded=excluded
        )
        for listing_id, (pinned, excluded) in sorted(pool.items())
    )
    session.flush()
