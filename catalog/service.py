"""The catalogue's rules: who may see and change which listing, and how it moves
through draft -> published -> archived."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from dateutil.relativedelta import relativedelta
from pydantic import TypeAdapter
from sqlalchemy import bindparam, delete, desc, func, update
from sqlalchemy import select as sql_select
from sqlalchemy.sql.elements import BindParameter
from sqlmodel import Session, col, select

from catalog.geography import province_codes, province_labels
from catalog.models import (
    Checkpoint,
    City,
    HowToInvestStep,
    Listing,
    ListingChange,
    ListingModel,
    Organisation,
    Province,
    SmartBlock,
)
from catalog.schemas import (
    CatalogueFilters,
    CheckpointUpdate,
    CityPublic,
    CityRef,
    ListingCreate,
    ListingFilters,
    ListingPublic,
    ListingSort,
    ListingSummary,
    ListingUpdate,
    OwnListingFilters,
    ProvincePublic,
    SearchHitPublic,
    SearchParams,
    SearchResponse,
    SmartBlockPublic,
)
from catalog.search.base import SearchFilters, SearchIndex, SearchQuery, SearchUnavailable
from catalog.taxonomy import (
    CheckpointStatus,
    CityKind,
    Label,
    ListingKind,
    ListingStatus,
    sector_family_down,
)
from core.db import read_rows, unique_slug, utcnow
from core.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    ServiceUnavailable,
)
from core.principal import Principal, Role

CHECKPOINT_MONTHS = (6, 12)
ENGLISH_FIELDS = ("title_en", "summary_en", "description_en")
_CHILD_FIELDS = {"investment_models", "how_to_invest", "city", "smart_block"}


# --- geography -------------------------------------------------------------------------


def get_city(session: Session, *, slug: str, field: str = "city") -> City:
    """The city with this slug, or a 422 naming ``field``."""
    city = session.exec(select(City).where(City.slug == slug)).first()
    if city is None:
        raise InvalidInput(f"unknown city '{slug}'", field=field)
    return city


def get_smart_block(session: Session, *, slug: str, field: str = "smart_block") -> SmartBlock:
    """The smart block with this slug, or a 422 naming ``field``."""
    block = session.exec(select(SmartBlock).where(SmartBlock.slug == slug)).first()
    if block is None:
        raise InvalidInput(f"unknown smart block '{slug}'", field=field)
    return block


_CITY_NAMES_SQL = select(City.slug, City.name_th, City.name_en)


def place_names(session: Session) -> tuple[dict[str, Label], dict[str, Label]]:
    """Thai and English names of every province (by code) and city (by slug)."""
    provinces = province_labels()
    cities = {slug: Label(th, en) for slug, th, en in read_rows(session, _CITY_NAMES_SQL)}
    return provinces, cities


def list_provinces(session: Session) -> list[ProvincePublic]:
    """All provinces ordered by official code."""
    rows = session.exec(select(Province).order_by(col(Province.code)))
    return [ProvincePublic.model_validate(p, from_attributes=True) for p in rows]


def list_cities(session: Session) -> list[CityPublic]:
    """All cities in the programme with their smart blocks, ordered by English name."""
    cities = session.exec(select(City).order_by(col(City.name_en))).all()
    return _cities_public(session, cities)


def city_public(session: Session, *, slug: str) -> CityPublic:
    """One city's public profile, or 404."""
    city = session.exec(select(City).where(City.slug == slug)).first()
    if city is None:
        raise NotFound(f"no city '{slug}'", field="slug")
    return _cities_public(session, [city])[0]


def _cities_public(session: Session, cities: Sequence[City]) -> list[CityPublic]:
    city_ids = [c.id for c in cities]
    provinces = {p.code: p for p in session.exec(select(Province))}
    blocks: dict[int, list[SmartBlock]] = defaultdict(list)
    for block in session.exec(
        select(SmartBlock).where(col(SmartBlock.city_id).in_(city_ids)).order_by(col(SmartBlock.id))
    ):
        blocks[block.city_id].append(block)
    return [
        CityPublic(
            slug=c.slug,
            name_th=c.name_th,
            name_en=c.name_en,
            kind=CityKind(c.kind),
            province=ProvincePublic.model_validate(
                provinces[c.province_code], from_attributes=True
            ),
            is_pilot=c.is_pilot,
            is_charter_member=c.is_charter_member,
            lat=c.lat,
            lon=c.lon,
            profile_th=c.profile_th,
            profile_en=c.profile_en,
            smart_blocks=[
                SmartBlockPublic.model_validate(b, from_attributes=True) for b in blocks[c.id or 0]
            ],
        )
        for c in cities
    ]


# --- reading listings ------------------------------------------------------------------


def _visible(
    status: str, organisation_id: int, viewer: Principal | None, public_statuses: frozenset[str]
) -> bool:
    """Listings in ``public_statuses`` are visible to all; others only to their owner."""
    if status in public_statuses:
        return True
    return viewer is not None and (viewer.is_admin or viewer.organisation_id == organisation_id)


_PUBLISHED = frozenset({ListingStatus.published.value})


_LISTING_BY_ID = select(Listing).where(Listing.id == bindparam("ref"))
_LISTING_BY_SLUG = select(Listing).where(Listing.slug == bindparam("ref"))


def find_listing(
    session: Session,
    *,
    ref: str,
    viewer: Principal | None,
    public_statuses: frozenset[str] = _PUBLISHED,
) -> Listing:
    """A listing by numeric id or slug; in other statuses than ``public_statuses`` only
    for its owner.

    Someone else's unpublished listing is reported as missing, not forbidden, so its
    existence does not leak.
    """
    statement = _LISTING_BY_ID if ref.isdigit() else _LISTING_BY_SLUG
    listing = session.exec(statement, params={"ref": _ref_param(ref)}).first()
    if listing is None or not _visible(
        listing.status, listing.organisation_id, viewer, public_statuses
    ):
        raise NotFound(f"no listing '{ref}'", field="listing")
    return listing


def find_public_listing(
    session: Session,
    *,
    ref: str,
    viewer: Principal | None,
    public_statuses: frozenset[str] = _PUBLISHED,
) -> ListingPublic:
    """``find_listing``'s listing in its public shape, read without the ORM: the pitch
    page's and the API's reading path."""
    statement = _PUBLIC_BY_ID_SQL if ref.isdigit() else _PUBLIC_BY_SLUG_SQL
    row = read_rows(session, statement, {"ref": _ref_param(ref)}).first()
    if row is None or not _visible(row.status, row.organisation_id, viewer, public_statuses):
        raise NotFound(f"no listing '{ref}'", field="listing")
    return _publics(session, [row])[0]


def _ref_param(ref: str) -> int | str:
    return int(ref) if ref.isdigit() else ref


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


def _newest_published(condition: Any) -> Any:
    return (
        sql_select(col(Listing.id))
        .where(
            condition,
            col(Listing.status) == ListingStatus.published,
            col(Listing.id).not_in(bindparam("exclude", expanding=True)),
        )
        .order_by(desc(col(Listing.published_at)))
        .limit(bindparam("limit"))
    )


_SAME_SECTOR_SQL = _newest_published(Listing.sector == bindparam("sector"))
_SAME_CITY_SQL = _newest_published(
    col(Listing.city_id)
    == sql_select(col(City.id)).where(col(City.slug) == bindparam("city")).scalar_subquery()
)


def related_listing_ids(session: Session, *, listing: ListingPublic, limit: int = 3) -> list[int]:
    """Other published listings in the same sector, then in the same city, newest first."""
    found: list[int] = []
    for statement in (_SAME_SECTOR_SQL, _SAME_CITY_SQL):
        found += read_rows(
            session,
            statement,
            {
                "exclude": [listing.id, *found],
                "sector": listing.sector,
                "city": listing.city.slug,
                "limit": limit - len(found),
            },
        ).scalars()
        if len(found) >= limit:
            break
    return found


def search_catalogue(
    session: Session, *, index: SearchIndex, params: SearchParams
) -> SearchResponse:
    """Full-text search with filters and facets; the index ranks, the database supplies
    the listings (so a hit the index still holds after an unpublish is dropped)."""
    _referenced_places(session, params)
    query = SearchQuery(
        text=params.q,
        filters=SearchFilters(
            **params.model_dump(include=set(SearchFilters.__dataclass_fields__), mode="json")
        ),
        sort=params.sort,
        limit=params.limit,
        offset=params.offset,
    )
    try:
        result = index.search(query)
    except SearchUnavailable as exc:
        raise ServiceUnavailable("search is temporarily unavailable; try again shortly") from exc
    summaries = published_summaries(session, [hit.id for hit in result.hits])
    by_id = {listing.id: listing for listing in summaries}
    hits = [
        SearchHitPublic(listing=by_id[hit.id], score=hit.score, highlights=hit.highlights)
        for hit in result.hits
        if hit.id in by_id
    ]
    return SearchResponse(
        hits=hits,
        count=result.total,
        facets=result.facets,
        limit=params.limit,
        offset=params.offset,
        engine=index.name,
    )


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


# Statements built once: constructing a select() costs more than running it on SQLite.
# They run through ``read_rows`` (Core on the session's connection), which costs about a
# third of an ORM query: a pitch page runs seven of them.
_IDS: BindParameter[Any] = bindparam("ids", expanding=True)


def _labelled(prefix: str, model: Any, *names: str) -> tuple[Any, ...]:
    """Columns of ``model`` labelled ``<prefix>_<name>``, for rows that join several tables."""
    return tuple(col(getattr(model, name)).label(f"{prefix}_{name}") for name in names)


# A listing's models in the same query, as one comma-separated string.
_MODELS_OF_LISTING = (
    sql_select(func.aggregate_strings(col(ListingModel.model), ","))
    .where(col(ListingModel.listing_id) == Listing.id)
    .scalar_subquery()
    .label("models")
)
_CITY_REF_COLUMNS = (
    *_labelled("city", City, "slug", "name_th", "name_en", "lat", "lon"),
    *_labelled("province", Province, "code", "name_th", "name_en", "region"),
)
_PUBLIC_SQL = (
    sql_select(
        *Listing.__table__.columns,  # type: ignore[attr-defined]
        *_CITY_REF_COLUMNS,
        *_labelled("organisation", Organisation, "slug", "name_th", "name_en"),
        *_labelled("block", SmartBlock, "slug", "name_th", "name_en"),
        _MODELS_OF_LISTING,
    )
    .join(City, col(City.id) == Listing.city_id)
    .join(Province, col(Province.code) == City.province_code)
    .join(Organisation, col(Organisation.id) == Listing.organisation_id)
    .outerjoin(SmartBlock, col(SmartBlock.id) == Listing.smart_block_id)
)
_PUBLIC_BY_IDS_SQL = _PUBLIC_SQL.where(col(Listing.id).in_(_IDS))
_PUBLIC_BY_ID_SQL = _PUBLIC_SQL.where(col(Listing.id) == bindparam("ref"))
_PUBLIC_BY_SLUG_SQL = _PUBLIC_SQL.where(col(Listing.slug) == bindparam("ref"))
_LISTING_FIELDS = tuple(column.name for column in Listing.__table__.columns)  # type: ignore[attr-defined]
_SUMMARY_FIELDS = (
    "id",
    "slug",
    "status",
    "kind",
    "sector",
    "stage",
    "title_th",
    "title_en",
    "summary_th",
    "summary_en",
    "capital_min_thb",
    "capital_max_thb",
    "published_at",
)
# By primary key only: with "status = published" in the query too, SQLite may walk the
# status index over the whole catalogue instead of fetching twenty rows.
_SUMMARIES_SQL = (
    sql_select(
        *(col(getattr(Listing, name)) for name in _SUMMARY_FIELDS),
        *_CITY_REF_COLUMNS,
        _MODELS_OF_LISTING,
    )
    .join(City, col(City.id) == Listing.city_id)
    .join(Province, col(Province.code) == City.province_code)
    .where(col(Listing.id).in_(_IDS))
)
_STEPS_SQL = (
    sql_select(HowToInvestStep.__table__)  # type: ignore[attr-defined]
    .where(col(HowToInvestStep.listing_id).in_(_IDS))
    .order_by(col(HowToInvestStep.position))
)
_CHECKPOINTS_SQL = (
    sql_select(Checkpoint.__table__)  # type: ignore[attr-defined]
    .where(col(Checkpoint.listing_id).in_(_IDS))
    .order_by(col(Checkpoint.months))
)


def _city_ref(row: Any) -> dict[str, Any]:
    """A ``CityRef`` as data. Rows become plain dicts validated in one call per list
    (``_PUBLIC``, ``_SUMMARIES``): twice as fast as building the models one by one."""
    return {
        "slug": row.city_slug,
        "name_th": row.city_name_th,
        "name_en": row.city_name_en,
        "lat": row.city_lat,
        "lon": row.city_lon,
        "province": {
            "code": row.province_code,
            "name_th": row.province_name_th,
            "name_en": row.province_name_en,
            "region": row.province_region,
        },
    }


_CITY_REFS_SQL = (
    sql_select(col(City.id), *_CITY_REF_COLUMNS)
    .join(Province, col(Province.code) == City.province_code)
    .where(col(City.id).in_(_IDS))
)


def city_refs(session: Session, city_ids: Sequence[int]) -> dict[int, CityRef]:
    """Short references of cities (with their province) by id."""
    rows = read_rows(session, _CITY_REFS_SQL, {"ids": list(city_ids)}) if city_ids else []
    return {row.id: CityRef.model_validate(_city_ref(row)) for row in rows}


def _ref(row: Any, prefix: str) -> dict[str, Any] | None:
    """An organisation or smart block reference from a row's ``<prefix>_*`` columns."""
    slug = getattr(row, f"{prefix}_slug")
    if slug is None:
        return None
    return {
        "slug": slug,
        "name_th": getattr(row, f"{prefix}_name_th"),
        "name_en": getattr(row, f"{prefix}_name_en"),
    }


_PUBLIC = TypeAdapter(list[ListingPublic])
_SUMMARIES = TypeAdapter(list[ListingSummary])


def _by_listing(session: Session, statement: Any, ids: list[int]) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = defaultdict(list)
    for row in read_rows(session, statement, {"ids": ids}).mappings():
        grouped[row["listing_id"]].append(row)
    return grouped


def _models(row: Any) -> list[str]:
    return sorted(row.models.split(",")) if row.models else []


def listings_public(session: Session, ids: Sequence[int]) -> list[ListingPublic]:
    """The API shape of the listings ``ids`` names, in that order, in three queries."""
    if not ids:
        return []
    found = {row.id: row for row in read_rows(session, _PUBLIC_BY_IDS_SQL, {"ids": list(ids)})}
    return _publics(session, [found[listing_id] for listing_id in ids if listing_id in found])


def listing_public(session: Session, listing_id: int) -> ListingPublic:
    return listings_public(session, [listing_id])[0]


def _publics(session: Session, rows: Sequence[Any]) -> list[ListingPublic]:
    """``ListingPublic``s from ``_PUBLIC_SQL`` rows, with their steps and checkpoints."""
    ids = [row.id for row in rows]
    steps = _by_listing(session, _STEPS_SQL, ids)
    checkpoints = _by_listing(session, _CHECKPOINTS_SQL, ids)
    return _PUBLIC.validate_python(
        [
            {
                **{name: getattr(row, name) for name in _LISTING_FIELDS},
                "organisation": _ref(row, "organisation"),
                "city": _city_ref(row),
                "smart_block": _ref(row, "block"),
                "investment_models": _models(row),
                "how_to_invest": [dict(step) for step in steps[row.id]],
                "checkpoints": [dict(c) for c in checkpoints[row.id]],
                "missing_english": [f for f in ENGLISH_FIELDS if not getattr(row, f)],
            }
            for row in rows
        ]
    )


def published_summaries(session: Session, ids: Sequence[int]) -> list[ListingSummary]:
    """The result-list shape of the published listings among ``ids``, in that order: one
    query whatever their number."""
    if not ids:
        return []
    rows = {
        row.id: row
        for row in read_rows(session, _SUMMARIES_SQL, {"ids": list(ids)})
        if row.status == ListingStatus.published
    }
    return _SUMMARIES.validate_python(
        [
            {
                **{name: getattr(rows[listing_id], name) for name in _SUMMARY_FIELDS},
                "city": _city_ref(rows[listing_id]),
                "investment_models": _models(rows[listing_id]),
            }
            for listing_id in ids
            if listing_id in rows
        ]
    )


# --- changing listings -----------------------------------------------------------------


def ensure_can_edit(listing: Listing, principal: Principal) -> None:
    """Publishers change their own organisation's listings; admins change any."""
    if principal.is_admin:
        return
    if principal.role is not Role.publisher or principal.organisation_id != listing.organisation_id:
        raise Forbidden("this listing belongs to another organisation", field="listing")


def _id(row: City | SmartBlock | Organisation | Listing) -> int:
    assert row.id is not None, "row must be flushed before its id is used"
    return row.id


def _place(
    session: Session, *, city_slug: str, block_slug: str | None, principal: Principal
) -> tuple[City, SmartBlock | None]:
    city = get_city(session, slug=city_slug)
    organisation = session.get(Organisation, principal.organisation_id)
    if (
        not principal.is_admin
        and organisation is not None
        and organisation.city_id is not None
        and organisation.city_id != city.id
    ):
        raise InvalidInput(
            f"organisation '{organisation.slug}' publishes for its own city only", field="city"
        )
    if block_slug is None:
        return city, None
    block = get_smart_block(session, slug=block_slug)
    if block.city_id != city.id:
        raise InvalidInput(
            f"smart block '{block_slug}' is not in city '{city_slug}'", field="smart_block"
        )
    return city, block


def _check_capital(listing: Listing) -> None:
    if listing.capital_min_thb > listing.capital_max_thb:
        raise InvalidInput(
            "capital_min_thb must not be above capital_max_thb", field="capital_min_thb"
        )


def _replace_models(session: Session, listing_id: int, models: Sequence[str]) -> None:
    session.execute(delete(ListingModel).where(col(ListingModel.listing_id) == listing_id))
    session.add_all(ListingModel(listing_id=listing_id, model=m) for m in models)


def _replace_steps(session: Session, listing_id: int, steps: Sequence[object]) -> None:
    session.execute(delete(HowToInvestStep).where(col(HowToInvestStep.listing_id) == listing_id))
    session.flush()
    session.add_all(
        HowToInvestStep(listing_id=listing_id, position=i, **step.model_dump())  # type: ignore[attr-defined]
        for i, step in enumerate(steps, start=1)
    )


LISTINGS_CHANGED = "citydeal_listings_changed"


def _log_change(session: Session, listing: Listing, action: str) -> None:
    assert listing.id is not None
    session.add(ListingChange(listing_id=listing.id, version=listing.version, action=action))
    session.info[LISTINGS_CHANGED] = True


def _save_change(session: Session, listing: Listing, action: str) -> Listing:
    """Write the listing's new state and its change-log entry, in the same transaction."""
    session.add(listing)
    session.flush()
    session.refresh(listing)
    _log_change(session, listing, action)
    session.flush()
    return listing


def _begin_transition(
    session: Session,
    listing: Listing,
    principal: Principal,
    target: ListingStatus,
    expected_version: int | None,
) -> None:
    ensure_can_edit(listing, principal)
    _check_transition(listing, target)
    if target is ListingStatus.published:
        _check_publishable(session, listing)
    expected = listing.version if expected_version is None else expected_version
    _claim_version(session, listing, expected)


def _claim_version(session: Session, listing: Listing, expected_version: int) -> None:
    """Move the listing to the next version only if nobody else has moved it since.

    The conditional UPDATE is the guard: two concurrent editors holding the same version
    cannot both pass it (on PostgreSQL the second waits for the row lock, then matches
    no row), so a stale write fails instead of silently overwriting.
    """
    if listing.version != expected_version:
        raise PreconditionFailed(
            f"listing is at version {listing.version}, not {expected_version}",
            field="If-Match",
            current_version=listing.version,
        )
    now = utcnow()
    claimed = session.execute(
        update(Listing)
        .where(col(Listing.id) == listing.id, col(Listing.version) == expected_version)
        .values(version=expected_version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise PreconditionFailed("listing was changed by someone else meanwhile", field="If-Match")
    # Keep the in-memory object in step without marking it dirty a second time.
    session.expire(listing, ["version", "updated_at"])


def create_listing(session: Session, *, data: ListingCreate, principal: Principal) -> Listing:
    """A new draft listing owned by the principal's organisation."""
    if principal.role is not Role.publisher:
        raise Forbidden("only a publisher key can create listings", field="authorization")
    city, block = _place(
        session, city_slug=data.city, block_slug=data.smart_block, principal=principal
    )
    if data.slug and session.exec(select(Listing.id).where(Listing.slug == data.slug)).first():
        raise Conflict(f"slug '{data.slug}' is taken", field="slug")
    listing = Listing(
        **data.model_dump(exclude=_CHILD_FIELDS | {"slug"}, mode="json"),
        slug=data.slug
        or unique_slug(
            session, col(Listing.slug), data.title_en, fallback=f"{city.slug}-{data.kind}"
        ),
        organisation_id=principal.organisation_id,
        status=ListingStatus.draft,
        city_id=_id(city),
        smart_block_id=_id(block) if block else None,
    )
    _check_capital(listing)
    session.add(listing)
    session.flush()
    assert listing.id is not None
    _replace_models(session, listing.id, data.investment_models)
    _replace_steps(session, listing.id, data.how_to_invest)
    _log_change(session, listing, "create")
    session.flush()
    return listing


def update_listing(
    session: Session,
    *,
    listing: Listing,
    data: ListingUpdate,
    expected_version: int,
    principal: Principal,
) -> Listing:
    """Apply the fields sent; fails with 412 if ``expected_version`` is stale."""
    ensure_can_edit(listing, principal)
    changes = data.model_dump(exclude_unset=True, mode="json")
    _claim_version(session, listing, expected_version)
    if "city" in changes or "smart_block" in changes:
        current_city = session.get(City, listing.city_id)
        current_block = (
            session.get(SmartBlock, listing.smart_block_id) if listing.smart_block_id else None
        )
        city, block = _place(
            session,
            city_slug=changes.get("city") or (current_city.slug if current_city else ""),
            block_slug=changes["smart_block"]
            if "smart_block" in changes
            else (current_block.slug if current_block else None),
            principal=principal,
        )
        listing.city_id, listing.smart_block_id = _id(city), _id(block) if block else None
    for name, value in changes.items():
        if name not in _CHILD_FIELDS:
            setattr(listing, name, value)
    _check_capital(listing)
    assert listing.id is not None
    if "investment_models" in changes:
        _replace_models(session, listing.id, changes["investment_models"])
    if "how_to_invest" in changes:
        _replace_steps(session, listing.id, data.how_to_invest or [])
    return _save_change(session, listing, "update")


_TRANSITIONS: dict[str, set[str]] = {
    ListingStatus.draft: {ListingStatus.published, ListingStatus.archived},
    ListingStatus.published: {ListingStatus.archived},
    ListingStatus.archived: {ListingStatus.published},
}


def _check_transition(listing: Listing, target: ListingStatus) -> None:
    if target not in _TRANSITIONS[listing.status]:
        raise Conflict(f"a {listing.status} listing cannot become {target}", field="status")


def _check_publishable(session: Session, listing: Listing) -> None:
    if listing.kind == ListingKind.trade:
        has_steps = session.exec(
            select(HowToInvestStep.id).where(HowToInvestStep.listing_id == listing.id)
        ).first()
        if not has_steps:
            raise InvalidInput(
                "a trade listing needs its how-to-invest steps before it is published",
                field="how_to_invest",
            )


def _ensure_checkpoints(session: Session, listing: Listing, published_on: date) -> None:
    existing = set(
        session.exec(select(Checkpoint.months).where(Checkpoint.listing_id == listing.id))
    )
    assert listing.id is not None
    for months in CHECKPOINT_MONTHS:
        if months not in existing:
            session.add(
                Checkpoint(
                    listing_id=listing.id,
                    months=months,
                    due_on=published_on + relativedelta(months=months),
                    status=CheckpointStatus.pending,
                )
            )


def publish_listing(
    session: Session,
    *,
    listing: Listing,
    principal: Principal,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Listing:
    """Make a draft (or archived) listing public and schedule its 6- and 12-month checkpoints.

    Checkpoints count from the first publication; republishing keeps them.
    """
    _begin_transition(session, listing, principal, ListingStatus.published, expected_version)
    now = at or utcnow()
    listing.status = ListingStatus.published
    listing.published_at = listing.published_at or now
    listing.archived_at = None
    _ensure_checkpoints(session, listing, listing.published_at.date())
    return _save_change(session, listing, "publish")


def archive_listing(
    session: Session,
    *,
    listing: Listing,
    principal: Principal,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Listing:
    """Withdraw a listing from the public catalogue; it stays readable to its owner."""
    _begin_transition(session, listing, principal, ListingStatus.archived, expected_version)
    listing.status = ListingStatus.archived
    listing.archived_at = at or utcnow()
    return _save_change(session, listing, "archive")


def update_checkpoint(
    session: Session,
    *,
    listing: Listing,
    months: int,
    data: CheckpointUpdate,
    principal: Principal,
) -> Checkpoint:
    """Record progress at the 6- or 12-month follow-up."""
    ensure_can_edit(listing, principal)
    checkpoint = session.exec(
        select(Checkpoint).where(Checkpoint.listing_id == listing.id, Checkpoint.months == months)
    ).first()
    if checkpoint is None:
        raise NotFound(
            f"no {months}-month checkpoint: checkpoints start when the listing is published",
            field="months",
        )
    for name, value in data.model_dump(exclude_unset=True, exclude_none=True).items():
        setattr(checkpoint, name, value)
    checkpoint.updated_at = utcnow()
    session.add(checkpoint)
    session.flush()
    return checkpoint
