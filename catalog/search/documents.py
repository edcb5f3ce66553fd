"""Turns listings in the database into ``SearchDocument``s, in batches."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

from sqlalchemy import func
from sqlmodel import Session, col, select

from catalog.models import City, Listing, ListingModel, Province, SmartBlock
from catalog.search.analysis import analysed
from catalog.search.base import SearchDocument
from catalog.taxonomy import (
    KIND_LABELS,
    REGION_LABELS,
    SECTOR_LABELS,
    SECTOR_PARENT,
    STAGE_LABELS,
    ListingKind,
    ListingStatus,
    Region,
    Sector,
    Stage,
)


def _labels(*labels: object) -> str:
    return " ".join(f"{label.th} {label.en}" for label in labels)  # type: ignore[attr-defined]


def build_documents(session: Session, listings: Sequence[Listing]) -> list[SearchDocument]:
    """Documents for the published ones among ``listings``."""
    published = [row for row in listings if row.status == ListingStatus.published]
    if not published:
        return []
    ids = [row.id for row in published]
    cities = {
        c.id: c
        for c in session.exec(
            select(City).where(col(City.id).in_({row.city_id for row in published}))
        )
    }
    provinces = {p.code: p for p in session.exec(select(Province))}
    block_ids = {row.smart_block_id for row in published if row.smart_block_id}
    blocks = {
        b.id: b for b in session.exec(select(SmartBlock).where(col(SmartBlock.id).in_(block_ids)))
    }
    models: dict[int, list[str]] = defaultdict(list)
    for link in session.exec(select(ListingModel).where(col(ListingModel.listing_id).in_(ids))):
        models[link.listing_id].append(link.model)

    documents = []
    for row in published:
        assert row.id is not None
        assert row.published_at is not None
        city = cities[row.city_id]
        province = provinces[city.province_code]
        block = blocks.get(row.smart_block_id) if row.smart_block_id else None
        sector = Sector(row.sector)
        parent = SECTOR_PARENT.get(sector)
        place = " ".join(
            [city.name_th, city.name_en, province.name_th, province.name_en]
            + ([block.name_th, block.name_en] if block else [])
        )
        vocabulary = _labels(
            SECTOR_LABELS[sector],
            *([SECTOR_LABELS[parent]] if parent else []),
            KIND_LABELS[ListingKind(row.kind)],
            STAGE_LABELS[Stage(row.stage)],
            REGION_LABELS[Region(province.region)],
        )
        documents.append(
            SearchDocument(
                id=row.id,
                slug=row.slug,
                kind=row.kind,
                sector=row.sector,
                sector_path=(row.sector, parent.value) if parent else (row.sector,),
                province=city.province_code,
                city=city.slug,
                smart_block=block.slug if block else None,
                stage=row.stage,
                models=tuple(sorted(models[row.id])),
                capital_min=row.capital_min_thb,
                capital_max=row.capital_max_thb,
                published_ts=int(row.published_at.timestamp() * 1_000_000),
                title_th=row.title_th,
                title_en=row.title_en,
                summary_th=row.summary_th,
                summary_en=row.summary_en,
                title_terms=analysed(f"{row.title_th} {row.title_en}"),
                summary_terms=analysed(f"{row.summary_th} {row.summary_en}"),
                body_terms=analysed(
                    f"{row.description_th} {row.description_en} {place} {vocabulary}"
                ),
            )
        )
    return documents


def iter_all_documents(session: Session, batch_size: int = 500) -> Iterator[SearchDocument]:
    """Every published listing as a document, in id order, a batch at a time."""
    last_id = 0
    while True:
        batch = session.exec(
            select(Listing)
            .where(Listing.status == ListingStatus.published, col(Listing.id) > last_id)
            .order_by(col(Listing.id))
            .limit(batch_size)
        ).all()
        if not batch:
            return
        yield from build_documents(session, batch)
        last_id = batch[-1].id or last_id


def count_published(session: Session) -> int:
    return session.exec(
        select(func.count()).select_from(Listing).where(Listing.status == ListingStatus.published)
    ).one()
