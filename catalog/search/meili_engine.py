"""Meilisearch through its official client, for deployments beyond one host.

Documents carry the same analysed text as the embedded engine (Thai already segmented),
plus the display fields; Meilisearch adds its own ranking, typo tolerance and prefix
search on top. Our filters and sorts are translated into its syntax here. The listing
vectors go in as a ``userProvided`` embedder's vectors, and a query the words alone do
not answer well is sent again as a hybrid search with the query's vector.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict
from typing import Any

import meilisearch
from meilisearch.errors import MeilisearchError

from catalog.search.base import (
    CROSS_LEXICAL_WEIGHT,
    DISPLAY_FIELDS,
    LEXICAL_WEIGHT,
    MIN_WORDS_TO_RELAX,
    ProgressCallback,
    SearchDocument,
    SearchFilters,
    SearchHit,
    SearchIndex,
    SearchQuery,
    SearchResult,
    SearchSort,
    SearchUnavailable,
    query_language,
    semantic_scope,
)
from catalog.search.highlight import highlights_for
from catalog.search.semantic import DIMENSIONS, LANGUAGES, Vector, VectorRow

FACET_ATTRIBUTES = {
    "kind": "kind",
    "sector": "sector",
    "province": "province",
    "city": "city",
    "stage": "stage",
    "model": "models",
}
TASK_TIMEOUT_MS = 5_000
EMBEDDER = "e5"

INDEX_SETTINGS: dict[str, Any] = {
    # Order matters: Meilisearch's "attribute" rule ranks earlier attributes higher.
    "searchableAttributes": [
        "title_terms",
        "summary_terms",
        "body_terms",
        "parts_terms",  # words inside Thai compounds, below the words themselves
        "skeleton_terms",  # Thai words without tone marks: misspellings, ranked last
    ],
    "filterableAttributes": [
        "id",
        "kind",
        "sector",
        "sector_path",
        "province",
        "city",
        "smart_block",
        "stage",
        "models",
        "capital_min",
        "capital_max",
    ],
    "sortableAttributes": ["published_ts", "capital_min", "capital_max"],
    "displayedAttributes": ["id", "slug", *DISPLAY_FIELDS],
    "rankingRules": ["words", "typo", "proximity", "attribute", "sort", "exactness"],
    "typoTolerance": {"enabled": True, "minWordSizeForTypos": {"oneTypo": 5, "twoTypos": 9}},
    "localizedAttributes": [{"attributePatterns": ["*_th", "*_terms"], "locales": ["tha", "eng"]}],
    "pagination": {"maxTotalHits": 100_000},
    "faceting": {"maxValuesPerFacet": 100},
    "embedders": {EMBEDDER: {"source": "userProvided", "dimensions": DIMENSIONS}},
}


def quote(value: str) -> str:
    """A Meilisearch filter string literal: user text can never close the quotes."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def filter_expression(filters: SearchFilters) -> list[str]:
    """Our filters as Meilisearch filter clauses, all of which must hold."""
    equal = {
        "kind": filters.kind,
        "sector_path": filters.sector,
        "province": filters.province,
        "city": filters.city,
        "smart_block": filters.smart_block,
        "stage": filters.stage,
        "models": filters.model,
    }
    clauses = [f"{name} = {quote(value)}" for name, value in equal.items() if value is not None]
    if filters.capital_max is not None:
        clauses.append(f"capital_min <= {int(filters.capital_max)}")
    if filters.capital_min is not None:
        clauses.append(f"capital_max >= {int(filters.capital_min)}")
    return clauses


def sort_expression(sort: SearchSort, has_text: bool) -> list[str]:
    if sort is SearchSort.relevance:
        return [] if has_text else ["published_ts:desc"]
    return {
        SearchSort.newest: ["published_ts:desc"],
        SearchSort.capital_asc: ["capital_min:asc"],
        SearchSort.capital_desc: ["capital_max:desc"],
    }[sort]


def search_parameters(query: SearchQuery) -> tuple[str, dict[str, Any]]:
    """The ``q`` string and options Meilisearch gets for ``query``."""
    analysed = query.analysed()
    text = " ".join(term.term for term in analysed.terms)
    options: dict[str, Any] = {
        "limit": query.limit,
        "offset": query.offset,
        "filter": filter_expression(query.filters),
        "sort": sort_expression(query.sort, not analysed.is_empty),
        # Every word for short queries; with three words or more, Meilisearch drops the
        # rarest-matching words until the page fills, as the embedded engine ranks by
        # how many words a listing holds.
        "matchingStrategy": "all" if len(analysed.terms) < MIN_WORDS_TO_RELAX else "frequency",
        "attributesToRetrieve": ["id", "slug", *DISPLAY_FIELDS],
    }
    if query.facets:
        options["facets"] = list(FACET_ATTRIBUTES.values())
    return text, options


def hybrid_parameters(options: dict[str, Any], vector: Vector, *, english: bool) -> dict[str, Any]:
    """The same search as ``options``, ranked by words and meaning together. Meilisearch
    takes one ratio per query: an English query leans on meaning, as most listings are
    written in Thai first (the embedded engine weighs this per listing)."""
    lexical = CROSS_LEXICAL_WEIGHT if english else LEXICAL_WEIGHT
    return options | {
        "vector": [float(x) for x in vector],
        "hybrid": {"embedder": EMBEDDER, "semanticRatio": 1 - lexical},
    }


def to_document(doc: SearchDocument) -> dict[str, Any]:
    document = asdict(doc) | {"models": list(doc.models), "sector_path": list(doc.sector_path)}
    del document["display_spans"]  # our own highlighting data; Meilisearch needs none
    return document


class MeiliIndex(SearchIndex):
    name = "meilisearch"
    in_process = False

    def __init__(self, url: str, api_key: str | None, *, index_uid: str = "listings") -> None:
        self._client = meilisearch.Client(url, api_key, timeout=5)
        self._uid = index_uid
        self._state_uid = f"{index_uid}_state"
        self._configured = False

    def _call(self, operation: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return operation(*args, **kwargs)
        except (MeilisearchError, OSError) as exc:  # requests' errors are OSErrors
            raise SearchUnavailable(f"Meilisearch: {exc}") from exc

    def _wait(self, task: Any) -> None:
        self._call(self._client.wait_for_task, task.task_uid, timeout_in_ms=TASK_TIMEOUT_MS)

    def configure(self) -> None:
        """Create the indexes and apply our settings (idempotent)."""
        for uid in (self._uid, self._state_uid):
            self._wait(self._call(self._client.create_index, uid, {"primaryKey": "id"}))
        index = self._client.index(self._uid)
        self._wait(self._call(index.update_settings, INDEX_SETTINGS))
        self._configured = True

    def _index(self) -> Any:
        if not self._configured:
            self.configure()
        return self._client.index(self._uid)

    def _position(self, cursor: str) -> int:
        self._index()
        try:
            state = self._client.index(self._state_uid).get_document(cursor)
        except MeilisearchError:
            return 0
        except OSError as exc:
            raise SearchUnavailable(f"Meilisearch: {exc}") from exc
        return int(getattr(state, "position", 0))

    def _record(self, cursor: str, position: int) -> None:
        state = self._client.index(self._state_uid)
        self._wait(self._call(state.add_documents, [{"id": cursor, "position": position}]))

    def applied_position(self) -> int:
        return self._position("cursor")

    def _record_position(self, position: int) -> None:
        self._record("cursor", position)

    def vector_position(self) -> int:
        return self._position("vectors")

    def apply_vectors(self, rows: Sequence[VectorRow], position: int) -> None:
        """Set the vectors of the listings in ``rows`` (each listing's full set), for
        those the index holds: a partial update would otherwise create a document."""
        index = self._index()
        by_listing: dict[int, dict[str, Vector]] = {}
        for row in rows:
            by_listing.setdefault(row.listing_id, {})[row.lang] = row.vector
        if by_listing:
            held = self._call(
                index.get_documents,
                {
                    "filter": f"id IN [{', '.join(str(i) for i in by_listing)}]",
                    "fields": ["id"],
                    "limit": len(by_listing),
                },
            )
            updates = [
                {
                    "id": int(doc.id),
                    "_vectors": {
                        EMBEDDER: [
                            [float(x) for x in vectors[lang]]
                            for lang in LANGUAGES
                            if lang in vectors
                        ]
                    },
                }
                for doc in held.results
                for vectors in [by_listing[int(doc.id)]]
            ]
            if updates:
                self._wait(self._call(index.update_documents, updates))
        self._record("vectors", max(position, self.vector_position()))

    def apply(
        self, upserts: Sequence[SearchDocument], deletions: Sequence[int], position: int
    ) -> None:
        index = self._index()
        if deletions:
            self._wait(self._call(index.delete_documents, [str(i) for i in deletions]))
        if upserts:
            # A partial update keeps the document's vectors until new ones arrive.
            self._wait(self._call(index.update_documents, [to_document(d) for d in upserts]))
        self._record_position(max(position, self.applied_position()))

    def rebuild(
        self,
        documents: Iterable[SearchDocument],
        position: int,
        progress: ProgressCallback | None = None,
    ) -> int:
        index = self._index()
        self._wait(self._call(index.delete_all_documents))
        batch: list[dict[str, Any]] = []
        written = 0
        for doc in documents:
            batch.append(to_document(doc))
            if len(batch) == 1000:
                self._wait(self._call(index.add_documents, batch))
                written += len(batch)
                if progress:
                    progress(len(batch))
                batch = []
        if batch:
            self._wait(self._call(index.add_documents, batch))
            written += len(batch)
            if progress:
                progress(len(batch))
        self._record_position(position)
        self._record("vectors", 0)  # the new documents have none yet: load them all again
        return written

    def count(self) -> int:
        stats = self._call(self._index().get_stats)
        return int(stats.number_of_documents)

    def search(self, query: SearchQuery) -> SearchResult:
        text, options = search_parameters(query)
        raw = self._call(self._index().search, text, options)
        analysed = query.analysed()
        all_words = options["matchingStrategy"] == "all"
        scope = (
            semantic_scope(analysed, int(raw.get("estimatedTotalHits", 0)), all_words)
            if query.embed is not None and query.sort is SearchSort.relevance
            else None
        )
        if scope is not None:
            assert query.embed is not None
            english = query_language(analysed) == "en"
            hybrid = hybrid_parameters(options, query.embed(query.text), english=english)
            raw = self._call(self._index().search, text, hybrid)
        hits = [
            SearchHit(
                id=int(hit["id"]),
                slug=hit["slug"],
                score=float(hit.get("_rankingScore", 0.0)),
                highlights=highlights_for({f: hit.get(f, "") for f in DISPLAY_FIELDS}, analysed),
            )
            for hit in raw["hits"]
        ]
        distribution = raw.get("facetDistribution", {})
        facets = (
            {
                name: dict(distribution.get(attribute, {}))
                for name, attribute in FACET_ATTRIBUTES.items()
            }
            if query.facets
            else {}
        )
        return SearchResult(
            hits=hits,
            total=int(raw.get("estimatedTotalHits", 0)),
            facets=facets,
            words=tuple(term.term for term in analysed.terms),
            dropped=analysed.dropped,
            # Meilisearch does not say which words it dropped; relaxed queries say "maybe".
            all_words=all_words,
            semantic=scope is not None,
        )
