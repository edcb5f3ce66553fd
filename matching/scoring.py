"""The scorer: listings encoded once into arrays, a profile scored against all of them
in a few vectorised passes.

Hard constraints remove a listing outright; soft components, each in [0, 1], are weighted
into a score from 0 to 100. Every number that shapes a score lives in ``ScoringSettings``.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from catalog.geography import region_of
from catalog.search.analysis import terms
from catalog.taxonomy import SECTOR_PARENT, InvestmentModel, Region, Sector, Stage
from core.settings import ScoringSettings

FloatArray = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]
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
PROVINCE_CODES = 100  # official province codes are two digits
COMPONENTS = ("sector", "geography", "ticket", "model", "stage", "horizon", "irr", "text")


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


@dataclass(frozen=True)
class TextRows:
    """The listings' tf-idf vectors (rows L2-normalised): the rows of the last full build
    in a column-major matrix, where a word's postings are one slice, and the rows spliced
    in since then in a small row-major one. A splice touches only the rows it changes."""

    base: sparse.csc_matrix  # built rows x vocabulary
    base_row: IntArray  # per listing row: its row in ``base``, or -1 when spliced
    extra: sparse.csr_matrix  # spliced rows x vocabulary
    extra_row: IntArray  # per row of ``extra``: the listing row it is

    @classmethod
    def built(cls, base: sparse.csc_matrix) -> TextRows:
        rows, width = base.shape
        return cls(
            base=base,
            base_row=np.arange(rows, dtype=np.int64),
            extra=sparse.csr_matrix((0, width)),
            extra_row=np.zeros(0, dtype=np.int64),
        )

    def similarity(self, columns: IntArray, weights: FloatArray) -> FloatArray:
        """Each listing row's dot product with the query vector ``weights`` on ``columns``."""
        indptr, indices, data = self.base.indptr, self.base.indices, self.base.data
        rows = np.concatenate([indices[indptr[c] : indptr[c + 1]] for c in columns])
        values = np.concatenate(
            [data[indptr[c] : indptr[c + 1]] * w for c, w in zip(columns, weights, strict=True)]
        )
        by_base = np.bincount(rows, weights=values, minlength=self.base.shape[0] + 1)
        # base_row is -1 for spliced rows: they read the last (always 0) slot, then get theirs.
        similarity: FloatArray = by_base[self.base_row].astype(np.float64)
        if len(self.extra_row):
            query = np.zeros(self.extra.shape[1])
            query[columns] = weights
            similarity[self.extra_row] = self.extra @ query
        return similarity

    def moved(
        self, new_row_of_old: IntArray, added: sparse.csr_matrix, added_rows: IntArray
    ) -> TextRows:
        """These vectors after a splice: old row ``i`` is now row ``new_row_of_old[i]``
        (-1: gone), and ``added`` holds the vectors of new rows ``added_rows``."""
        keep = np.flatnonzero(new_row_of_old >= 0)
        base_row = np.full(len(keep) + len(added_rows), -1, dtype=np.int64)
        base_row[new_row_of_old[keep]] = self.base_row[keep]
        still = new_row_of_old[self.extra_row] >= 0
        return TextRows(
            base=self.base,
            base_row=base_row,
            extra=sparse.vstack([self.extra[still], added], format="csr"),
            extra_row=np.concatenate([new_row_of_old[self.extra_row][still], added_rows]),
        )


# The per-listing columns of ``ListingMatrix``, one value per row.
PER_ROW = (
    "kind_trade",
    "sector",
    "province",
    "region",
    "stage",
    "models",
    "capital_min",
    "capital_max",
    "irr",
    "payback",
)


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
    text: TextRows
    vocabulary: dict[str, int]
    idf: FloatArray
    document_frequency: IntArray  # listings using each word of the vocabulary
    # derived in __post_init__, so that scoring does no per-call preparation
    inverse_span: FloatArray = field(init=False)
    is_point: Float32Array = field(init=False)
    payback_known: Float32Array = field(init=False)  # 1.0 where stated
    inverse_payback: Float32Array = field(init=False)
    irr_known: Float32Array = field(init=False)
    irr_filled: Float32Array = field(init=False)

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
            text=TextRows.built(text),
            vocabulary=vocabulary,
            idf=idf,
            document_frequency=np.diff(text.indptr).astype(np.int64),
        )

    def __post_init__(self) -> None:
        span = self.capital_max - self.capital_min
        self.inverse_span = np.divide(1.0, span, out=np.zeros_like(span), where=span > 0)
        self.is_point = (span <= 0).astype(np.float32)
        payback_known = ~np.isnan(self.payback) & (self.payback > 0)
        self.payback_known = payback_known.astype(np.float32)
        self.inverse_payback = np.divide(
            1.0, self.payback, out=np.zeros_like(self.payback), where=payback_known
        ).astype(np.float32)
        irr_known = ~np.isnan(self.irr)
        self.irr_known = irr_known.astype(np.float32)
        self.irr_filled = np.where(irr_known, self.irr, 0.0).astype(np.float32)

    def __len__(self) -> int:
        return len(self.rows)

    def spliced(self, replaced: set[int], rows: Sequence[ListingRow]) -> ListingMatrix:
        """This catalogue without the listings ``replaced`` names, with ``rows`` (their
        new state, or new listings) in; the new rows are encoded with this matrix's
        vocabulary and word weights. The work grows with the rows changed, not with the
        catalogue (a rebuild of 100,000 listings takes minutes); the vocabulary catches
        up at the next full build."""
        added = ListingMatrix.build(rows, reference=self)
        added_ids = set(added.ids.tolist())
        at = self._rows_of(added.ids)
        if at is not None and replaced <= added_ids:
            return self._edited(at, added)  # the common case: published listings edited
        gone = np.isin(self.ids, np.array(sorted(replaced | added_ids), np.int64))
        keep = np.flatnonzero(~gone)
        ids = np.concatenate([self.ids[keep], added.ids])
        order = np.argsort(ids, kind="stable")
        position = np.empty(len(order), dtype=np.int64)
        position[order] = np.arange(len(order))  # where each joined row lands
        new_row_of_old = np.full(len(self), -1, dtype=np.int64)
        new_row_of_old[keep] = position[: len(keep)]

        def joined(name: str) -> Any:
            return np.concatenate([getattr(self, name)[keep], getattr(added, name)])[order]

        every_row = _take(self.rows, keep) + list(added.rows)
        added_text = sparse.csr_matrix(added.text.base)
        return ListingMatrix(
            rows=_take(every_row, order),
            ids=ids[order],
            **{name: joined(name) for name in PER_ROW},
            text=self.text.moved(new_row_of_old, added_text, position[len(keep) :]),
            vocabulary=self.vocabulary,
            idf=self.idf,
            document_frequency=self._frequency_after(np.flatnonzero(gone), added_text),
        )

    def _rows_of(self, ids: IntArray) -> IntArray | None:
        """The rows of listings ``ids`` (sorted), or None if one is not in this matrix."""
        at = np.searchsorted(self.ids, ids)
        if len(at) and (at[-1] >= len(self.ids) or not np.array_equal(self.ids[at], ids)):
            return None
        return at

    def _edited(self, at: IntArray, added: ListingMatrix) -> ListingMatrix:
        """This catalogue with rows ``at`` replaced by ``added``'s: every row stays where it
        is, so nothing of the 100,000 others is gathered or sorted again (a general splice
        costs tens of milliseconds, in every worker, after every edit)."""

        def updated(name: str) -> Any:
            values = getattr(self, name).copy()
            values[at] = getattr(added, name)
            return values

        every_row = list(self.rows)
        for row_at, row in zip(at.tolist(), added.rows, strict=True):
            every_row[row_at] = row
        new_row_of_old = np.arange(len(self), dtype=np.int64)
        new_row_of_old[at] = -1  # re-encoded: the new vectors are spliced in at ``at``
        added_text = sparse.csr_matrix(added.text.base)
        return ListingMatrix(
            rows=every_row,
            ids=self.ids,
            **{name: updated(name) for name in PER_ROW},
            text=self.text.moved(new_row_of_old, added_text, at),
            vocabulary=self.vocabulary,
            idf=self.idf,
            document_frequency=self._frequency_after(at, added_text),
        )

    def _frequency_after(self, gone: IntArray, added_text: sparse.csr_matrix) -> IntArray:
        """``document_frequency`` without rows ``gone`` and with the ``added_text`` rows."""
        frequency = self.document_frequency.copy()
        for i in gone.tolist():
            np.subtract.at(frequency, self._word_columns(self.rows[i]), 1)
        np.add.at(frequency, added_text.indices, 1)
        return frequency

    def _word_columns(self, row: ListingRow) -> IntArray:
        """The vocabulary columns of ``row``'s words, each once."""
        found = {self.vocabulary.get(word) for word in terms(row.text)}
        found.discard(None)
        return np.fromiter(found, dtype=np.int64)


def _take(items: Sequence[ListingRow], indices: IntArray) -> list[ListingRow]:
    """``items`` at ``indices``, gathered in C (a list comprehension over 100,000 rows
    costs tens of milliseconds, under the store's lock)."""
    if len(indices) == 0:
        return []
    if len(indices) == 1:
        return [items[int(indices[0])]]
    return list(operator.itemgetter(*indices.tolist())(items))


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
    models: tuple[str, ...]  # empty: any model
    stages: tuple[str, ...]  # empty: any stage
    horizon_years: int | None  # None: any horizon
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
    """Scores of every listing for one profile, and which hard constraints removed it."""

    score: Float32Array  # 0-100; shown rounded to two decimals
    components: dict[str, Any]
    passed: BoolArray
    failures: list[BoolArray]  # one mask per HARD_CONSTRAINTS entry

    def constraint(self, row: int) -> str | None:
        """The first hard constraint that removed the listing at ``row``, if any."""
        for name, failed in zip(HARD_CONSTRAINTS, self.failures, strict=True):
            if failed[row]:
                return name
        return None


# A thesis word found in more than this share of listings says nothing about fit (like a
# stop word) and would make the text pass touch most of the catalogue.
COMMON_WORD_SHARE = 0.2
COMMON_WORD_MIN_LISTINGS = 50


def text_similarity(matrix: ListingMatrix, thesis: str) -> FloatArray:
    """Cosine between the thesis and each listing, reading only the postings of the
    thesis's informative words."""
    counts: dict[int, int] = {}
    for word in terms(thesis):
        column = matrix.vocabulary.get(word)
        if column is not None:
            counts[column] = counts.get(column, 0) + 1
    n = len(matrix)
    if n >= COMMON_WORD_MIN_LISTINGS:
        common = COMMON_WORD_SHARE * n
        counts = {c: k for c, k in counts.items() if matrix.document_frequency[c] <= common}
    if not counts:
        return np.zeros(n)
    columns = np.fromiter(counts, dtype=np.int64)
    weights = np.log1p(np.fromiter(counts.values(), dtype=np.float64)) * matrix.idf[columns]
    weights /= np.linalg.norm(weights)
    return matrix.text.similarity(columns, weights)


def _lookup(size: int, indices: Sequence[int], value: float = 1.0) -> Float32Array:
    table = np.zeros(size, dtype=np.float32)
    table[list(indices)] = value
    return table


def _geography(matrix: ListingMatrix, prefs: Preferences, settings: ScoringSettings) -> Any:
    if prefs.anywhere:
        return np.ones(len(matrix), dtype=np.float32)
    by_region = _lookup(
        len(REGIONS),
        [REGION_INDEX[region_of(p)] for p in prefs.provinces],
        settings.region_of_province_fit,
    )
    by_region[[REGION_INDEX[Region(r)] for r in prefs.regions]] = 1.0
    by_province = _lookup(PROVINCE_CODES, [int(p) for p in prefs.provinces])
    return np.maximum(by_province[matrix.province], by_region[matrix.region])


def _ticket(matrix: ListingMatrix, prefs: Preferences) -> Any:
    """The share of each capital range inside the ticket (a single amount: 1 or 0)."""
    lo, hi = matrix.capital_min, matrix.capital_max
    t_lo, t_hi = float(prefs.ticket_min), float(prefs.ticket_max)
    overlap = np.minimum(hi, t_hi) - np.maximum(lo, t_lo)
    np.clip(overlap, 0, None, out=overlap)
    share = (overlap * matrix.inverse_span).astype(np.float32)
    inside = (lo >= t_lo) & (lo <= t_hi)
    return share + matrix.is_point * inside


def _ratio_fit(known: Float32Array, ratio: Any, unknown_fit: float) -> Any:
    """min(ratio, 1) where the listing states the figure, ``unknown_fit`` where not."""
    fit = np.minimum(ratio, np.float32(1.0)) * known
    return fit + (np.float32(1.0) - known) * np.float32(unknown_fit)


def _model_fit(matrix: ListingMatrix, prefs: Preferences) -> Any:
    if not prefs.models:
        return np.ones(len(matrix), dtype=np.float32)
    return ((np.arange(256) & _bits(prefs.models)) != 0).astype(np.float32)[matrix.models]


def _horizon_fit(matrix: ListingMatrix, prefs: Preferences, settings: ScoringSettings) -> Any:
    if prefs.horizon_years is None:
        return np.ones(len(matrix), dtype=np.float32)
    return _ratio_fit(
        matrix.payback_known, prefs.horizon_years * matrix.inverse_payback, settings.unknown_fit
    )


def score_listings(matrix: ListingMatrix, prefs: Preferences, settings: ScoringSettings) -> Scored:
    """Score every listing in ``matrix`` for ``prefs``.

    Categorical components are table look-ups (a table per profile, indexed by the
    listing's sector, stage, province or model bits), so each costs one gather.
    """
    model_bits = np.arange(256)
    stage_table = (
        _lookup(len(STAGES), [STAGE_INDEX[Stage(s)] for s in prefs.stages])
        if prefs.stages
        else np.ones(len(STAGES), dtype=np.float32)
    )
    stage = stage_table[matrix.stage]
    tolerance = settings.ticket_tolerance
    failures = [  # in the order of HARD_CONSTRAINTS
        excluded_sector_mask(prefs)[matrix.sector],
        ((model_bits & ~_bits(prefs.excluded_models)) == 0)[matrix.models],
        (matrix.capital_min > prefs.ticket_max * (1 + tolerance))
        | (matrix.capital_max < prefs.ticket_min * (1 - tolerance)),
        stage == 0,
    ]
    passed = ~(failures[0] | failures[1] | failures[2] | failures[3])

    if prefs.min_irr_pct is None or prefs.min_irr_pct <= 0:
        irr = np.ones(len(matrix), dtype=np.float32)
    else:
        irr = _ratio_fit(
            matrix.irr_known, matrix.irr_filled / prefs.min_irr_pct, settings.unknown_fit
        )
    text = text_similarity(matrix, prefs.thesis) / settings.text_saturation
    components = {
        "sector": sector_fit_table(prefs, settings).astype(np.float32)[matrix.sector],
        "geography": _geography(matrix, prefs, settings),
        "ticket": _ticket(matrix, prefs),
        "model": _model_fit(matrix, prefs),
        "stage": stage,
        "horizon": _horizon_fit(matrix, prefs, settings),
        "irr": irr,
        "text": np.minimum(text, 1.0).astype(np.float32),
    }
    weights = settings.weights.model_dump()
    scale = 100.0 / (sum(weights.values()) or 1.0)
    score = np.zeros(len(matrix), dtype=np.float32)
    for name in COMPONENTS:
        score += components[name] * np.float32(weights[name] * scale)
    return Scored(
        score=score,
        components=components,
        passed=passed,
        failures=failures,
    )


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
