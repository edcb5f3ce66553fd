"""The scorer: listings encoded once into arrays, a profile scored against all of them
in a few vectorised passes.

Hard constraints remove a listing outright; soft components, each in [0, 1], are weighted
into a score from 0 to 100. Every number that shapes a score lives in ``ScoringSettings``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from scipy import sparse

from catalog.geography import region_of
from catalog.search.analysis import terms
from catalog.taxonomy import SECTOR_PARENT, InvestmentModel, Region, Sector, Stage

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

SECTORS = list(Sector)
SECTOR_INDEX = {s: i for i, s in enumerate(SECTORS)}
STAGES = list(Stage)
STAGE_INDEX = {s: i for i, s in enumerate(STAGES)}
MODELS = list(InvestmentModel)
MODEL_BIT = {m: 1 << i for i, m in enumerate(MODELS)}
REGIONS = list(Region)
REGION_INDEX = {r: i for i, r in enumerate(REGIONS)}
COMPONENTS = ("sector", "geography", "ticket", "model", "stage", "horizon", "irr", "text")


class ComponentWeights(BaseModel):
    """How much each component counts; normalised to sum to 1 when scoring."""

    sector: float = Field(0.30, ge=0, description="Listing sector against the investor's sectors")
    geography: float = Field(0.15, ge=0, description="Province, region or anywhere")
    ticket: float = Field(0.15, ge=0, description="Share of the capital range inside the ticket")
    model: float = Field(0.10, ge=0, description="An accepted investment model is offered")
    stage: float = Field(0.05, ge=0, description="The stage is one the investor accepts")
    horizon: float = Field(0.05, ge=0, description="Payback within the investor's horizon")
    irr: float = Field(0.05, ge=0, description="Expected IRR against the investor's minimum")
    text: float = Field(0.15, ge=0, description="Thesis words shared with the listing")


class ScoringSettings(BaseSettings):
    """Every constant of the scorer, in one documented place; each can be set from the
    environment, e.g. ``CITYDEAL_MATCH_TICKET_TOLERANCE=0.1`` or
    ``CITYDEAL_MATCH_WEIGHTS__TEXT=0.2``."""

    model_config = SettingsConfigDict(env_prefix="CITYDEAL_MATCH_", env_nested_delimiter="__")

    weights: ComponentWeights = ComponentWeights()
    ticket_tolerance: float = Field(
        0.25,
        ge=0,
        le=1,
        description="A capital range may miss the ticket by this fraction before it is removed",
    )
    sector_parent_fit: float = Field(1.0, description="Listing sector is a child of a chosen one")
    sector_child_fit: float = Field(0.7, description="Listing sector is the parent of a chosen one")
    sector_sibling_fit: float = Field(0.4, description="Listing sector shares a parent")
    sector_open_fit: float = Field(0.6, description="The investor named no sectors")
    region_of_province_fit: float = Field(
        0.5, description="Listing in the region of a province the investor named"
    )
    unknown_fit: float = Field(0.5, description="Payback or IRR the listing does not state")
    text_saturation: float = Field(
        0.25, gt=0, description="Thesis-listing cosine at which the text fit reaches 1"
    )
    match_threshold: float = Field(55.0, description="Score from which an investor counts as a fit")
    gap_margin: float = Field(20.0, description="How far below the threshold gap analysis looks")


# --- listings as arrays -------------------------------------------------------------------


@dataclass(frozen=True)
class ListingRow:
    """What the scorer needs of one listing."""

    id: int
    slug: str
    kind: str
    sector: str
    province: str
    stage: str
    models: tuple[str, ...]
    capital_min: int
    capital_max: int
    irr: float | None
    payback: float | None
    text: str


@dataclass
class ListingMatrix:
    rows: list[ListingRow]
    ids: IntArray
    kind_trade: BoolArray
    sector: IntArray
    province: IntArray
    region: IntArray
    stage: IntArray
    models: IntArray
    capital_min: FloatArray
    capital_max: FloatArray
    irr: FloatArray
    payback: FloatArray
    text: sparse.csc_matrix  # listings x vocabulary, rows L2-normalised tf-idf
    vocabulary: dict[str, int]
    idf: FloatArray

    @classmethod
    def build(
        cls, rows: Sequence[ListingRow], *, reference: ListingMatrix | None = None
    ) -> ListingMatrix:
        """Encode ``rows``; with ``reference``, reuse its vocabulary and word weights (to
        score a few listings, or variants of one, as the whole catalogue would)."""
        rows = sorted(rows, key=lambda r: r.id)
        documents = [terms(r.text) for r in rows]
        if reference is None:
            vocabulary, idf, text = _tfidf(documents)
        else:
            vocabulary, idf = reference.vocabulary, reference.idf
            text = _encode(documents, vocabulary, idf)

        def array(values: list[Any], dtype: Any) -> Any:
            return np.array(values, dtype=dtype)

        return cls(
            rows=rows,
            ids=array([r.id for r in rows], np.int64),
            kind_trade=array([r.kind == "trade" for r in rows], np.bool_),
            sector=array([SECTOR_INDEX[Sector(r.sector)] for r in rows], np.int64),
            province=array([int(r.province) for r in rows], np.int64),
            region=array([REGION_INDEX[region_of(r.province)] for r in rows], np.int64),
            stage=array([STAGE_INDEX[Stage(r.stage)] for r in rows], np.int64),
            models=array(
                [sum(MODEL_BIT[InvestmentModel(m)] for m in r.models) for r in rows], np.int64
            ),
            capital_min=array([r.capital_min for r in rows], np.float64),
            capital_max=array([r.capital_max for r in rows], np.float64),
            irr=array([np.nan if r.irr is None else r.irr for r in rows], np.float64),
            payback=array([np.nan if r.payback is None else r.payback for r in rows], np.float64),
            text=text,
            vocabulary=vocabulary,
            idf=idf,
        )

    def __len__(self) -> int:
        return len(self.rows)


def _counts(
    documents: list[list[str]], vocabulary: dict[str, int], *, grow: bool
) -> sparse.csr_matrix:
    row_index, col_index, counts = [], [], []
    for row, words in enumerate(documents):
        frequencies: dict[int, int] = {}
        for word in words:
            column = vocabulary.setdefault(word, len(vocabulary)) if grow else vocabulary.get(word)
            if column is not None:
                frequencies[column] = frequencies.get(column, 0) + 1
        row_index += [row] * len(frequencies)
        col_index += list(frequencies)
        counts += list(frequencies.values())
    shape = (len(documents), max(len(vocabulary), 1))
    return sparse.csr_matrix(
        (np.log1p(np.array(counts, dtype=np.float64)), (row_index, col_index)), shape=shape
    )


def _normalise(matrix: sparse.csr_matrix, idf: FloatArray) -> sparse.csc_matrix:
    weighted = sparse.csr_matrix(matrix.multiply(idf))
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.csc_matrix(sparse.diags(1.0 / norms) @ weighted)


def _tfidf(documents: list[list[str]]) -> tuple[dict[str, int], FloatArray, sparse.csc_matrix]:
    vocabulary: dict[str, int] = {}
    counts = _counts(documents, vocabulary, grow=True)
    document_frequency = np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.float64)
    idf = np.log((1 + counts.shape[0]) / (1 + document_frequency)) + 1.0
    return vocabulary, idf, _normalise(counts, idf)


def _encode(
    documents: list[list[str]], vocabulary: dict[str, int], idf: FloatArray
) -> sparse.csc_matrix:
    return _normalise(_counts(documents, vocabulary, grow=False), idf)


# --- a profile as masks ------------------------------------------------------------------


@dataclass(frozen=True)
class Preferences:
    """The parts of an investor profile the scorer reads."""

    sectors: tuple[str, ...]
    provinces: tuple[str, ...]
    regions: tuple[str, ...]
    ticket_min: int
    ticket_max: int
    models: tuple[str, ...]
    stages: tuple[str, ...]
    horizon_years: int
    min_irr_pct: float | None
    thesis: str
    excluded_sectors: tuple[str, ...]
    excluded_models: tuple[str, ...]

    @property
    def anywhere(self) -> bool:
        return not self.provinces and not self.regions


def _children(sector: Sector) -> set[Sector]:
    return {child for child, parent in SECTOR_PARENT.items() if parent == sector}


def sector_fit_table(prefs: Preferences, settings: ScoringSettings) -> FloatArray:
    """Fit of every sector of the taxonomy to the investor's sectors."""
    table = np.zeros(len(SECTORS))
    if not prefs.sectors:
        return table + settings.sector_open_fit
    for name in prefs.sectors:
        chosen = Sector(name)
        parent = SECTOR_PARENT.get(chosen)
        levels: list[tuple[set[Sector], float]] = [
            ({chosen, *_children(chosen)}, settings.sector_parent_fit),
            ({parent} if parent else set(), settings.sector_child_fit),
            (_children(parent) if parent else set(), settings.sector_sibling_fit),
        ]
        for sectors, fit in levels:
            for sector in sectors:
                index = SECTOR_INDEX[sector]
                table[index] = max(table[index], fit)
    return table


def excluded_sector_mask(prefs: Preferences) -> BoolArray:
    mask = np.zeros(len(SECTORS), dtype=np.bool_)
    for name in prefs.excluded_sectors:
        for sector in {Sector(name), *_children(Sector(name))}:
            mask[SECTOR_INDEX[sector]] = True
    return mask


def _bits(models: Sequence[str]) -> int:
    return sum(MODEL_BIT[InvestmentModel(m)] for m in set(models))


HARD_CONSTRAINTS = ("excluded_sector", "excluded_model", "ticket", "stage")


@dataclass
class Scored:
    """Scores of every listing for one profile, and which hard constraint removed it."""

    score: FloatArray
    components: dict[str, FloatArray]
    removed_by: npt.NDArray[np.int8]  # 0: passed; i: HARD_CONSTRAINTS[i - 1] removed it

    @property
    def passed(self) -> BoolArray:
        passed: BoolArray = self.removed_by == 0
        return passed

    def constraint(self, row: int) -> str | None:
        code = int(self.removed_by[row])
        return HARD_CONSTRAINTS[code - 1] if code else None


def text_similarity(matrix: ListingMatrix, thesis: str) -> FloatArray:
    """Cosine between the thesis and each listing, touching only the thesis's columns."""
    counts: dict[int, int] = {}
    for word in terms(thesis):
        column = matrix.vocabulary.get(word)
        if column is not None:
            counts[column] = counts.get(column, 0) + 1
    if not counts:
        return np.zeros(len(matrix))
    columns = np.fromiter(counts, dtype=np.int64)
    weights = np.log1p(np.fromiter(counts.values(), dtype=np.float64)) * matrix.idf[columns]
    weights /= np.linalg.norm(weights)
    return np.asarray(matrix.text[:, columns] @ weights).ravel()


def score_listings(matrix: ListingMatrix, prefs: Preferences, settings: ScoringSettings) -> Scored:
    """Score every listing in ``matrix`` for ``prefs``."""
    n = len(matrix)
    lo, hi = matrix.capital_min, matrix.capital_max
    t_lo, t_hi = float(prefs.ticket_min), float(prefs.ticket_max)

    tolerance = settings.ticket_tolerance
    stage_ok = np.isin(matrix.stage, [STAGE_INDEX[Stage(s)] for s in prefs.stages])
    failures = [  # in the order of HARD_CONSTRAINTS
        excluded_sector_mask(prefs)[matrix.sector],
        (matrix.models & ~_bits(prefs.excluded_models)) == 0,
        (lo > t_hi * (1 + tolerance)) | (hi < t_lo * (1 - tolerance)),
        ~stage_ok,
    ]
    removed = np.zeros(n, dtype=np.int8)
    for code in range(len(failures), 0, -1):  # the first failing constraint is reported
        removed[failures[code - 1]] = code

    overlap = np.clip(np.minimum(hi, t_hi) - np.maximum(lo, t_lo), 0, None)
    span = hi - lo
    inside_point = (lo >= t_lo) & (lo <= t_hi)
    ticket = np.where(span > 0, overlap / np.where(span > 0, span, 1), inside_point)

    if prefs.anywhere:
        geography = np.ones(n)
    else:
        named_provinces = np.isin(matrix.province, [int(p) for p in prefs.provinces])
        named_regions = np.isin(matrix.region, [REGION_INDEX[Region(r)] for r in prefs.regions])
        province_regions = np.isin(
            matrix.region, [REGION_INDEX[region_of(p)] for p in prefs.provinces]
        )
        geography = np.where(
            named_provinces | named_regions,
            1.0,
            np.where(province_regions, settings.region_of_province_fit, 0.0),
        )

    horizon = np.where(
        np.isnan(matrix.payback),
        settings.unknown_fit,
        np.clip(prefs.horizon_years / np.where(matrix.payback > 0, matrix.payback, 1), 0, 1),
    )
    if prefs.min_irr_pct is None or prefs.min_irr_pct <= 0:
        irr = np.ones(n)
    else:
        irr = np.where(
            np.isnan(matrix.irr),
            settings.unknown_fit,
            np.clip(matrix.irr / prefs.min_irr_pct, 0, 1),
        )
    text = np.clip(text_similarity(matrix, prefs.thesis) / settings.text_saturation, 0, 1)

    components = {
        "sector": sector_fit_table(prefs, settings)[matrix.sector],
        "geography": geography,
        "ticket": ticket.astype(np.float64),
        "model": ((matrix.models & _bits(prefs.models)) != 0).astype(np.float64),
        "stage": stage_ok.astype(np.float64),
        "horizon": horizon,
        "irr": irr,
        "text": text,
    }
    weights = settings.weights.model_dump()
    total = sum(weights.values()) or 1.0
    score = sum(components[name] * (weights[name] / total) for name in COMPONENTS) * 100.0
    return Scored(score=np.round(score, 2), components=components, removed_by=removed)


def top_k(scored: Scored, ids: IntArray, candidates: BoolArray, k: int, offset: int) -> IntArray:
    """Row indices of the best ``k`` after ``offset``: highest score, ties by listing id."""
    rows = np.flatnonzero(candidates & scored.passed)
    wanted = k + offset
    if len(rows) > wanted:
        # Partial sort: only rows scoring at least the wanted-th best can be in the page.
        kth = np.partition(-scored.score[rows], wanted - 1)[wanted - 1]
        rows = rows[-scored.score[rows] <= kth]
    order = np.lexsort((ids[rows], -scored.score[rows]))
    result: IntArray = rows[order][offset:wanted]
    return result
