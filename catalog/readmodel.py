"""The catalogue's read model: listings in their public shapes, read without the ORM.

Statements are built once (constructing a select() costs more than running it on SQLite)
and run through ``read_rows`` (Core on the session's connection, about a third of an ORM
query's cost: a pitch page runs several). Joined columns are labelled with their place in
the public shape (``city__province__code``) and decoded by one helper, ``nested``; the
rows of a list are validated in one call.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import bindparam, func
from sqlalchemy import select as sql_select
from sqlalchemy.sql.elements import BindParameter
from sqlmodel import Session, col

from catalog.access import PUBLISHED, listing_ref, may_read_listing
from catalog.models import (
    Checkpoint,
    City,
    HowToInvestStep,
    Listing,
    ListingModel,
    Organisation,
    Province,
    SmartBlock,
)
from catalog.schemas import CityRef, ListingPublic, ListingSummary
from catalog.taxonomy import ListingStatus
from core.db import read_rows
from core.errors import NotFound
from core.principal import Principal

_IDS: BindParameter[Any] = bindparam("ids", expanding=True)


def _labelled(prefix: str, model: Any, *names: str) -> tuple[Any, ...]:
    """Columns of ``model`` labelled ``<prefix>__<name>``, for ``nested`` to decode."""
    return tuple(col(getattr(model, name)).label(f"{prefix}__{name}") for name in names)


def nested(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row with ``a__b`` labels as nested dicts; a nested part that is all null (an
    outer join that found nothing) becomes None; ``investment_models`` (aggregated as
    one comma-separated string) becomes a sorted list."""
    shape: dict[str, Any] = {}
    for key, value in row.items():
        *path, leaf = key.split("__")
        target = shape
        for part in path:
            target = target.setdefault(part, {})
        target[leaf] = value
    for key, value in shape.items():
        if isinstance(value, dict) and all(v is None for v in value.values()):
            shape[key] = None
    models = shape.get("investment_models")
    shape["investment_models"] = sorted(models.split(",")) if models else []
    return shape


def _own_columns(schema: type[Any]) -> list[Any]:
    """The listing columns a schema shows under their own names."""
    columns = Listing.__table__.columns  # type: ignore[attr-defined]
    return [columns[name] for name in schema.model_fields if name in columns]


# A listing's models in the same query, as one comma-separated string.
_MODELS_OF_LISTING = (
    sql_select(func.aggregate_strings(col(ListingModel.model), ","))
    .where(col(ListingModel.listing_id) == Listing.id)
    .scalar_subquery()
    .label("investment_models")
)
_CITY_COLUMNS = (
    *_labelled("city", City, "slug", "name_th", "name_en", "lat", "lon"),
    *_labelled("city__province", Province, "code", "name_th", "name_en", "region"),
)
_PUBLIC_SQL = (
    sql_select(
        *_own_columns(ListingPublic),
        col(Listing.organisation_id).label("owner__id"),
        *_CITY_COLUMNS,
        *_labelled("organisation", Organisation, "slug", "name_th", "name_en"),
        *_labelled("smart_block", SmartBlock, "slug", "name_th", "name_en"),
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
# By primary key only: with "status = published" in the query too, SQLite may walk the
# status index over the whole catalogue instead of fetching twenty rows.
_SUMMARIES_SQL = (
    sql_select(*_own_columns(ListingSummary), *_CITY_COLUMNS, _MODELS_OF_LISTING)
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
_CITY_REFS_SQL = (
    sql_select(col(City.id).label("id"), *_CITY_COLUMNS)
    .join(Province, col(Province.code) == City.province_code)
    .where(col(City.id).in_(_IDS))
)

_PUBLIC = TypeAdapter(list[ListingPublic])
_SUMMARIES = TypeAdapter(list[ListingSummary])


def find_public_listing(
    session: Session,
    *,
    ref: str,
    viewer: Principal | None,
    public_statuses: frozenset[str] = PUBLISHED,
) -> ListingPublic:
    """A listing by numeric id or slug in its public shape; in other statuses than
    ``public_statuses`` only for its organisation (else 404): the pitch page's and the
    API's reading path."""
    key = listing_ref(ref)
    statement = _PUBLIC_BY_ID_SQL if isinstance(key, int) else _PUBLIC_BY_SLUG_SQL
    row = read_rows(session, statement, {"ref": key}).mappings().first() if key else None
    if row is None or not may_read_listing(
        viewer,
        status=row["status"],
        organisation_id=row["owner__id"],
        public_statuses=public_statuses,
    ):
        raise NotFound(f"no listing '{ref}'", field="listing")
    return _publics(session, [row])[0]


def _by_listing(session: Session, statement: Any, ids: list[int]) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = defaultdict(list)
    for row in read_rows(session, statement, {"ids": ids}).mappings():
        grouped[row["listing_id"]].append(row)
    return grouped


def listings_public(session: Session, ids: Sequence[int]) -> list[ListingPublic]:
    """The API shape of the listings ``ids`` names, in that order, in three queries."""
    if not ids:
        return []
    rows = read_rows(session, _PUBLIC_BY_IDS_SQL, {"ids": list(ids)}).mappings()
    found = {row["id"]: row for row in rows}
    return _publics(session, [found[listing_id] for listing_id in ids if listing_id in found])


def listing_public(session: Session, listing_id: int) -> ListingPublic:
    return listings_public(session, [listing_id])[0]


def _publics(session: Session, rows: Sequence[Mapping[str, Any]]) -> list[ListingPublic]:
    """``ListingPublic``s from ``_PUBLIC_SQL`` rows, with their steps and checkpoints."""
    ids = [row["id"] for row in rows]
    steps = _by_listing(session, _STEPS_SQL, ids)
    checkpoints = _by_listing(session, _CHECKPOINTS_SQL, ids)
    return _PUBLIC.validate_python(
        [
            nested(row) | {"how_to_invest": steps[row["id"]], "checkpoints": checkpoints[row["id"]]}
            for row in rows
        ]
    )


def published_summaries(session: Session, ids: Sequence[int]) -> list[ListingSummary]:
    """The result-list shape of the published listings among ``ids``, in that order: one
    query whatever their number."""
    if not ids:
        return []
    rows = {
        row["id"]: row
        for row in read_rows(session, _SUMMARIES_SQL, {"ids": list(ids)}).mappings()
        if row["status"] == ListingStatus.published
    }
    return _SUMMARIES.validate_python(
        [nested(rows[listing_id]) for listing_id in ids if listing_id in rows]
    )


def city_refs(session: Session, city_ids: Sequence[int]) -> dict[int, CityRef]:
    """Short references of cities (with their province) by id."""
    if not city_ids:
        return {}
    rows = read_rows(session, _CITY_REFS_SQL, {"ids": list(city_ids)}).mappings()
    return {row["id"]: CityRef.model_validate(nested(row)["city"]) for row in rows}


def _newest_published(condition: Any) -> Any:
    return (
        sql_select(col(Listing.id))
        .where(
            condition,
            col(Listing.status) == ListingStatus.published,
            col(Listing.id).not_in(bindparam("exclude", expanding=True)),
        )
        .order_by(col(Listing.published_at).desc())
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
