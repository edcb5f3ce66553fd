"""Turns listings in the database into ``SearchDocument``s, in batches."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from catalog.models import City, Listing, ListingModel, Province, SmartBlock
from catalog.search.analysis import analysed, normalise_text, thai_expansions, word_spans
from catalog.search.base import DISPLAY_FIELDS, SearchDocument
from catalog.search.changelog import published_after
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
        documents.append(
            search_document(
                ListingText(
                    id=row.id,
                    slug=row.slug,
                    kind=row.kind,
                    sector=row.sector,
                    stage=row.stage,
                    models=tuple(sorted(models[row.id])),
                    capital_min=row.capital_min_thb,
                    capital_max=row.capital_max_thb,
                    published_ts=int(row.published_at.timestamp() * 1_000_000),
                    title_th=row.title_th,
                    title_en=row.title_en,
                    summary_th=row.summary_th,
                    summary_en=row.summary_en,
                    description_th=row.description_th,
                    description_en=row.description_en,
                ),
                Place(
                    province=city.province_code,
                    region=Region(province.region),
                    city=city.slug,
                    smart_block=block.slug if block else None,
                    names=(city.name_th, city.name_en, province.name_th, province.name_en)
                    + ((block.name_th, block.name_en) if block else ()),
                ),
            )
        )
    return documents


@dataclass(frozen=True)
class ListingText:
    """A listing's own fields that go into its search document."""

    id: int
    slug: str
    kind: str
    sector: str
    stage: str
    models: tuple[str, ...]
    capital_min: int
    capital_max: int
    published_ts: int
    title_th: str
    title_en: str
    summary_th: str
    summary_en: str
    description_th: str
    description_en: str


@dataclass(frozen=True)
class Place:
    """Where a listing is, with the names a searcher may type for it."""

    province: str
    region: Region
    city: str
    smart_block: str | None
    names: tuple[str, ...]


def search_document(listing: ListingText, place: Place) -> SearchDocument:
    """Analyse a listing once into what every engine indexes: terms for title, summary and
    body (which also carries the place names and taxonomy labels in both languages), and
    the spans of the displayed fields for highlighting."""
    sector = Sector(listing.sector)
    parent = SECTOR_PARENT.get(sector)
    vocabulary = _labels(
        SECTOR_LABELS[sector],
        *([SECTOR_LABELS[parent]] if parent else []),
        KIND_LABELS[ListingKind(listing.kind)],
        STAGE_LABELS[Stage(listing.stage)],
        REGION_LABELS[place.region],
    )
    shown = {name: normalise_text(getattr(listing, name)) for name in DISPLAY_FIELDS}
    spans = {name: word_spans(text, normalised=True) for name, text in shown.items()}
    body = f"{listing.description_th} {listing.description_en} {' '.join(place.names)}"
    title_terms = spans["title_th"][0] + spans["title_en"][0]
    summary_terms = spans["summary_th"][0] + spans["summary_en"][0]
    body_terms = analysed(f"{body} {vocabulary}")
    parts, skeletons = thai_expansions([*title_terms, *summary_terms, *body_terms.split(" ")])
    return SearchDocument(
        id=listing.id,
        slug=listing.slug,
        kind=listing.kind,
        sector=listing.sector,
        sector_path=(listing.sector, parent.value) if parent else (listing.sector,),
        province=place.province,
        city=place.city,
        smart_block=place.smart_block,
        stage=listing.stage,
        models=listing.models,
        capital_min=listing.capital_min,
        capital_max=listing.capital_max,
        published_ts=listing.published_ts,
        title_th=shown["title_th"],
        title_en=shown["title_en"],
        summary_th=shown["summary_th"],
        summary_en=shown["summary_en"],
        title_terms=" ".join(title_terms),
        summary_terms=" ".join(summary_terms),
        body_terms=body_terms,
        parts_terms=parts,
        skeleton_terms=skeletons,
        display_spans=spans,
    )


def iter_all_documents(session: Session, batch_size: int = 500) -> Iterator[SearchDocument]:
    """Every published listing as a document, in id order, a batch at a time."""
    last_id = 0
    while True:
        batch = published_after(session, last_id, batch_size)
        if not batch:
            return
        yield from build_documents(session, batch)
        last_id = batch[-1].id or last_id


def count_published(session: Session) -> int:
    return session.exec(
        select(func.count()).select_from(Listing).where(Listing.status == ListingStatus.published)
    ).one()
