"""Lists of the catalogue: published listings by filters, full-text search, and an
organisation's own listings in every status."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, desc, func
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from catalog.geography import place_names, province_codes
from catalog.models import Checkpoint, City, Listing, ListingModel, SmartBlock
from catalog.readmodel import published_summaries
from catalog.schemas import (
    CatalogueFilters,
    ListingFilters,
    ListingSort,
    OwnListingFilters,
    SearchHitPublic,
    SearchParams,
    SearchResponse,
    Suggestion,
    SuggestionKind,
    SuggestionsPublic,
    SuggestParams,
)
from catalog.search.analysis import normalise_text
from catalog.search.base import SearchFilters, SearchIndex, SearchQuery, SearchUnavailable
from catalog.search.semantic import Vector
from catalog.taxonomy import (
    SECTOR_LABELS,
    CheckpointStatus,
    Label,
    ListingStatus,
    sector_family_down,
)
from core.db import read_rows
from core.errors import InvalidInput, SearchIndexUnavailable
from core.principal import Principal

_CITY_ID_SQL = sql_select(col(City.id)).where(col(City.slug) == bindparam("ref"))
_BLOCK_ID_SQL = sql_select(col(SmartBlock.id)).where(col(SmartBlock.slug) == bindparam("ref"))


def _place_id(session: Session, statement: Any, ref: str | None, what: str, field: str) -> Any:
    if not ref:
        return None
    found = read_rows(session, statement, {"ref": ref}).scalar()
    if found is None:
        raise InvalidInput(f"unknown {what} '{ref}'", field=field)
    return found


def _referenced_places(
    session: Session, filters: CatalogueFilters
) -> tuple[str | None, int | None, int | None]:
    """The province code, city id and smart block id a filter names; 422 for one that
    does not exist."""
    if filters.province and filters.province not in province_codes():
        raise InvalidInput(f"unknown province '{filters.province}'", field="province")
    return (
        filters.province,
        _place_id(session, _CITY_ID_SQL, filters.city, "city", "city"),
        _place_id(session, _BLOCK_ID_SQL, filters.smart_block, "smart block", "smart_block"),
    )


def search_published(session: Session, *, filters: ListingFilters) -> tuple[list[int], int]:
    """The ids of one page of published listings matching ``filters``, and the total."""
    conditions: list[Any] = [Listing.status == ListingStatus.published]
    if filters.kind:
        conditions.append(Listing.kind == filters.kind)
    if filters.sector:
        conditions.append(col(Listing.sector).in_(sector_family_down(filters.sector)))
    if filters.stage:
        conditions.append(Listing.stage == filters.stage)
    province_code, city_id, block_id = _referenced_places(session, filters)
    if province_code:
        in_province = select(City.id).where(City.province_code == province_code)
        conditions.append(col(Listing.city_id).in_(in_province))
    if city_id:
        conditions.append(Listing.city_id == city_id)
    if block_id:
        conditions.append(Listing.smart_block_id == block_id)
    if filters.model:
        accepting = select(ListingModel.listing_id).where(ListingModel.model == filters.model)
        conditions.append(col(Listing.id).in_(accepting))
    # A ticket range overlaps the capital range when each starts before the other ends.
    if filters.capital_max is not None:
        conditions.append(Listing.capital_min_thb <= filters.capital_max)
    if filters.capital_min is not None:
        conditions.append(Listing.capital_max_thb >= filters.capital_min)

    # Count ids, not rows: a subquery of whole listings would read every description.
    total = session.exec(select(func.count(col(Listing.id))).where(*conditions)).one()
    order: tuple[Any, ...] = {
        ListingSort.newest: (desc(col(Listing.published_at)), col(Listing.id).desc()),
        ListingSort.capital_asc: (col(Listing.capital_min_thb).asc(), col(Listing.id).asc()),
        ListingSort.capital_desc: (col(Listing.capital_max_thb).desc(), col(Listing.id).asc()),
    }[filters.sort]
    page = session.exec(
        select(Listing.id)
        .where(*conditions)
        .order_by(*order)
        .limit(filters.limit)
        .offset(filters.offset)
    ).all()
    return [listing_id or 0 for listing_id in page], total


def search_catalogue(
    session: Session,
    *,
    index: SearchIndex,
    params: SearchParams,
    embed: Callable[[str], Vector] | None = None,
) -> SearchResponse:
    """Full-text search with filters and facets; the index ranks, the database supplies
    the listings (so a hit the index still holds after an unpublish is dropped). With
    ``embed``, listings close in meaning join when the words alone are not enough."""
    _referenced_places(session, params)
    query = SearchQuery(
        text=params.q,
        filters=SearchFilters(
            **params.model_dump(include=set(SearchFilters.__dataclass_fields__), mode="json")
        ),
        sort=params.sort,
        limit=params.limit,
        offset=params.offset,
        embed=embed,
    )
    try:
        result = index.search(query)
    except SearchUnavailable as exc:
        raise SearchIndexUnavailable(
            "search is temporarily unavailable; try again shortly"
        ) from exc
    summaries = published_summaries(session, [hit.id for hit in result.hits])
    by_id = {listing.id: listing for listing in summaries}
    hits = [
        SearchHitPublic(listing=by_id[hit.id], score=hit.score, highlights=hit.highlights)
        for hit in result.hits
        if hit.id in by_id
    ]
    return SearchResponse(
        hits=hits,
        count=_count_of_kept(result.total, len(result.hits), len(hits), params),
        facets=result.facets,
        limit=params.limit,
        offset=params.offset,
        engine=index.name,
        words=list(result.words),
        dropped_words=list(result.dropped),
        all_words_matched=result.all_words,
        semantic=result.semantic,
    )


def _count_of_kept(total: int, found: int, kept: int, params: SearchParams) -> int:
    """The index's count, less the hits the database dropped (a listing unpublished or
    archived that the replica has not caught up with yet), so that the count and the hits
    never disagree: on the last page it is exactly what the pages hold."""
    if kept == found:
        return total
    if found < params.limit:  # the last page: nothing follows it
        return params.offset + kept
    return max(total - (found - kept), params.offset + kept)


def list_own(
    session: Session, *, principal: Principal, filters: OwnListingFilters
) -> tuple[list[int], int]:
    """The ids of one page of the principal organisation's listings in every status,
    newest change first, and the total."""
    own = col(Listing.organisation_id) == principal.organisation_id
    conditions = [own, col(Listing.status) == filters.status] if filters.status else [own]
    total = session.exec(select(func.count(col(Listing.id))).where(*conditions)).one()
    page = session.exec(
        select(Listing.id)
        .where(*conditions)
        .order_by(col(Listing.updated_at).desc(), col(Listing.id).desc())
        .limit(filters.limit)
        .offset(filters.offset)
    ).all()
    return [listing_id or 0 for listing_id in page], total


@dataclass(frozen=True)
class DueCheckpoint:
    slug: str
    title_th: str
    title_en: str
    months: int
    due_on: date
    overdue: bool


def due_checkpoints(
    session: Session, *, principal: Principal, today: date, within_days: int = 30
) -> list[DueCheckpoint]:
    """The principal organisation's unreported checkpoints due by ``within_days`` from
    ``today`` (the overdue ones first: they are the oldest), for the dashboard."""
    horizon = today + timedelta(days=within_days)
    rows = read_rows(
        session,
        sql_select(
            col(Listing.slug),
            col(Listing.title_th),
            col(Listing.title_en),
            col(Checkpoint.months),
            col(Checkpoint.due_on),
        )
        .join(Checkpoint, col(Checkpoint.listing_id) == col(Listing.id))
        .where(
            col(Listing.organisation_id) == principal.organisation_id,
            col(Checkpoint.status) == CheckpointStatus.pending,
            col(Checkpoint.due_on) <= horizon,
        )
        .order_by(col(Checkpoint.due_on), col(Listing.id)),
    ).all()
    return [
        DueCheckpoint(slug, title_th, title_en, months, due_on, due_on < today)
        for slug, title_th, title_en, months, due_on in rows
    ]


def published_ids_in_city(session: Session, *, slug: str) -> list[int]:
    """The ids of a city's published listings, by kind, stage and age."""
    return [
        listing_id or 0
        for listing_id in session.exec(
            select(Listing.id)
            .join(City, col(City.id) == Listing.city_id)
            .where(City.slug == slug, Listing.status == ListingStatus.published)
            .order_by(col(Listing.kind), col(Listing.stage), col(Listing.id))
        )
    ]


def published_counts_by_city(session: Session) -> dict[str, int]:
    """How many published listings each city has, by city slug (none: absent)."""
    rows = session.exec(
        select(City.slug, func.count(col(Listing.id)))
        .join(Listing, col(Listing.city_id) == col(City.id))
        .where(Listing.status == ListingStatus.published)
        .group_by(col(City.slug))
    )
    return dict(rows.all())


def published_slugs(session: Session, *, offset: int, limit: int) -> list[tuple[str, datetime]]:
    """One page of published listings' slugs, each with when it last changed, by id (the
    pitch pages a sitemap names)."""
    rows = session.exec(
        select(Listing.slug, Listing.updated_at)
        .where(Listing.status == ListingStatus.published)
        .order_by(col(Listing.id))
        .offset(offset)
        .limit(limit)
    )
    return list(rows.all())


SUGGESTED_LISTINGS = 5


def _label_matches(label: Label, typed: str) -> bool:
    """Whether ``typed`` starts a word of the English label, or appears in the Thai one
    (Thai has no spaces to start words at)."""
    english = label.en.casefold()
    return typed in label.th or english.startswith(typed) or f" {typed}" in english


def suggest(session: Session, *, index: SearchIndex, params: SuggestParams) -> SuggestionsPublic:
    """A few listing titles, then sectors and cities, for what has been typed so far: the
    search box's suggestions. Listings come from the search index (the word being typed
    matches as a prefix), names from the taxonomy and the programme's cities."""
    typed = normalise_text(params.q).strip().casefold()
    if not typed:
        return SuggestionsPublic(q=params.q, data=[])
    query = SearchQuery(text=params.q, limit=SUGGESTED_LISTINGS, facets=False)
    try:
        ids = [hit.id for hit in index.search(query).hits]
    except SearchUnavailable:
        ids = []  # names can still be suggested
    found = [
        Suggestion(
            kind=SuggestionKind.listing,
            label_th=listing.title_th,
            label_en=listing.title_en or listing.title_th,
            href=f"/listings/{listing.slug}",
        )
        for listing in published_summaries(session, ids)
    ]
    found += [
        Suggestion(
            kind=SuggestionKind.sector,
            label_th=label.th,
            label_en=label.en,
            href=f"/?sector={sector.value}",
        )
        for sector, label in SECTOR_LABELS.items()
        if _label_matches(label, typed)
    ]
    _provinces, cities = place_names(session)
    found += [
        Suggestion(
            kind=SuggestionKind.city, label_th=label.th, label_en=label.en, href=f"/cities/{slug}"
        )
        for slug, label in sorted(cities.items())
        if _label_matches(label, typed)
    ]
    return SuggestionsPublic(q=params.q, data=found[: params.limit])
