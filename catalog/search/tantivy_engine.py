"""The embedded engine: a tantivy index in a directory under ``var/``.

Several processes on one host share the directory. Tantivy allows one ``IndexWriter``
at a time (a lock file); a process that finds it taken reports ``SearchUnavailable``
and leaves the change log to whoever holds it, or to its own next catch-up. Readers
reload when the position file, rewritten after every commit, changes.

A directory deleted or corrupted under a running process does not take search down
for good: the first failure marks the replica broken (searches report
``SearchUnavailable``, answered 503), and the change-log follower ``repair``s it and
rebuilds it from the database in the background.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from array import array
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tantivy
from tantivy import Occur, Order, Query

from catalog.search.analysis import AnalysedQuery, QueryTerm, thai_skeleton, typo_budget
from catalog.search.base import (
    DISPLAY_FIELDS,
    FACETS,
    MIN_WORDS_TO_RELAX,
    SEMANTIC_CANDIDATES,
    ProgressCallback,
    SearchDocument,
    SearchHit,
    SearchIndex,
    SearchQuery,
    SearchResult,
    SearchSort,
    SearchUnavailable,
    SemanticScope,
    fuse,
    query_language,
    semantic_scope,
)
from catalog.search.highlight import Matcher, Spans, highlights_for
from catalog.search.semantic import VectorMatrix, VectorRow

log = logging.getLogger(__name__)

SCHEMA_VERSION = 5
# Field boosts: a title match outranks a summary match, which outranks the body; a word
# found only inside a Thai compound (โรงสี in โรงสีข้าว) counts least.
FIELD_BOOSTS = {"title": 3.0, "summary": 1.5, "body": 1.0}
PARTS_FIELD, PARTS_BOOST = "parts", 0.5
# Thai words without tone marks, confusable vowels folded: a lower-ranked expansion.
SKELETON_FIELD = "skeleton"
THAI_FUZZY_MIN_CHARS = 5  # one edit allowed in Thai words this long, as a typo
# When not every word is found together, documents rank by how many query words they
# contain (each worth this much, far above any BM25 score), then by BM25.
WORD_SCORE = 1000.0
# Typo and prefix expansion runs on one field holding all the words (document ids only):
# expanding a term's automaton once instead of once per field is most of a query's cost.
EXPANSION_FIELD = "words"
# Typo and prefix matches score a constant (times these weights), well under an exact
# BM25 match, so exact results come first.
TYPO_WEIGHT = 0.3
PREFIX_WEIGHT = 0.5
KEYWORD_FIELDS = ("kind", "sector", "province", "city", "smart_block", "stage")
WRITER_HEAP_BYTES = 64_000_000
# Lexical hits fused with the nearest vectors: the best this many (or the page, if deeper).
LEXICAL_CANDIDATES = 50
NEARBY = 1e9  # the score that marks a listing found by meaning in the union search


def _pack_offsets(spans: dict[str, Spans]) -> bytes:
    """Start and end offsets of every display field's words, as unsigned 32-bit integers:
    far cheaper to store and load than the same numbers as JSON."""
    numbers = array("I")
    for name in DISPLAY_FIELDS:
        _words, starts, ends = spans.get(name, ([], [], []))
        numbers.extend(starts)
        numbers.extend(ends)
    return numbers.tobytes()


def _unpack_spans(words: dict[str, str], packed: bytes) -> dict[str, Spans]:
    numbers = array("I")
    numbers.frombytes(packed)
    spans: dict[str, Spans] = {}
    cursor = 0
    for name in DISPLAY_FIELDS:
        terms = words.get(name, "").split(" ") if words.get(name) else []
        count = len(terms)
        starts = numbers[cursor : cursor + count].tolist()
        ends = numbers[cursor + count : cursor + 2 * count].tolist()
        spans[name] = (terms, starts, ends)
        cursor += 2 * count
    return spans


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", stored=True, indexed=True, fast=True)
    for name in (*FIELD_BOOSTS, PARTS_FIELD):
        builder.add_text_field(name, tokenizer_name="whitespace", index_option="freq")
    for name in (EXPANSION_FIELD, SKELETON_FIELD):
        builder.add_text_field(name, tokenizer_name="whitespace", index_option="basic")
    for name in (*KEYWORD_FIELDS, "sector_path", "model"):
        builder.add_text_field(name, tokenizer_name="raw", fast=True)
    for name in ("capital_min", "capital_max", "published_ts"):
        builder.add_integer_field(name, indexed=True, fast=True)
    builder.add_bytes_field("display", stored=True, indexed=False)
    builder.add_bytes_field("offsets", stored=True, indexed=False)
    return builder.build()


@dataclass(frozen=True)
class _Snapshot:
    searcher: Any
    ids: dict[tuple[int, int], int]  # document address -> listing id, for this searcher


@dataclass(frozen=True)
class _Hybrid:
    query: Query  # the lexical matches or the nearby listings, within the filters
    total: int
    page: list[tuple[float, Any]]  # (fused score, document address), best first


class TantivyIndex(SearchIndex):
    name = "tantivy"
    in_process = True

    def __init__(self, directory: Path) -> None:
        self.directory = directory / f"v{SCHEMA_VERSION}"
        self._schema = _schema()
        self._position_file = self.directory / "position.json"
        self._write_lock = threading.Lock()
        self._workers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="facets")
        self._seen_mtime = -1
        self._snapshot: _Snapshot | None = None
        self._broken: str | None = None  # why the replica cannot be read, until repaired
        self._index: Any = None
        try:
            self._index = self._open()
        except (ValueError, OSError) as exc:
            self._mark_broken(exc)
        # The listing vectors live in this process's memory, loaded from the database;
        # the index directory on disk holds only the lexical index.
        self.vectors = VectorMatrix()

    # --- a broken replica -------------------------------------------------------------

    def _open(self) -> Any:
        self.directory.mkdir(parents=True, exist_ok=True)
        index = tantivy.Index(self._schema, path=str(self.directory))
        index.reload()
        index.searcher()  # reads the segments' metadata: a corrupt index fails here
        return index

    def _mark_broken(self, exc: BaseException) -> None:
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        if self._broken is None:
            log.warning("search index %s at %s is broken: %s", self.name, self.directory, reason)
        self._broken = reason
        self._snapshot = None

    def _unreadable(self) -> bool:
        """Whether the directory no longer holds a readable index (deleted, corrupted),
        as opposed to an error of one query."""
        try:
            if not tantivy.Index.exists(str(self.directory)):
                return True
            tantivy.Index(self._schema, path=str(self.directory)).searcher()
            self.applied_position()
        except (ValueError, OSError):
            return True
        return False

    def _failed(self, exc: BaseException) -> SearchUnavailable | None:
        """``SearchUnavailable`` if ``exc`` came from the replica's files (and mark it
        broken); None for an error of one query, to be raised as it is."""
        if not self._unreadable():
            return None
        self._mark_broken(exc)
        return SearchUnavailable(f"the search index is being rebuilt ({self._broken})")

    def _check_readable(self) -> None:
        if self._broken is not None or self._index is None:
            raise SearchUnavailable(f"the search index is being rebuilt ({self._broken})")

    @property
    def needs_repair(self) -> bool:
        return self._broken is not None or self._index is None

    def repair(self) -> bool:
        with self._write_lock:
            try:
                self._index = self._open()  # another process may have rebuilt it
                position = self.applied_position()
                if not position:
                    raise OSError("the index has no change-log position")
            except (ValueError, OSError) as exc:
                log.warning("search index %s unreadable (%s); starting it anew", self.name, exc)
                aside = self.directory.with_name(
                    f"{self.directory.name}.broken-{os.getpid()}-{time.time_ns()}"
                )
                if self.directory.exists():
                    self.directory.rename(aside)
                    shutil.rmtree(aside, ignore_errors=True)
                self._index = self._open()
                position = 0
            self._snapshot, self._seen_mtime = None, -1
            if position:
                self._broken = None  # readable again, with what it had applied
            return position == 0

    # --- the change log position ------------------------------------------------------

    def applied_position(self) -> int:
        try:
            return int(json.loads(self._position_file.read_text())["position"])
        except FileNotFoundError:
            return 0
        except (ValueError, KeyError, TypeError) as exc:
            raise OSError(f"unreadable position file: {exc}") from exc

    def _record_position(self, position: int) -> None:
        temporary = self._position_file.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps({"position": position}))
        os.replace(temporary, self._position_file)

    def vector_position(self) -> int:
        return self.vectors.position

    def apply_vectors(self, rows: Sequence[VectorRow], position: int) -> None:
        self.vectors.apply(rows, position)

    # --- writing ----------------------------------------------------------------------

    def _writer(self) -> Any:
        if self._index is None:
            raise SearchUnavailable("the search index could not be opened; repair it first")
        try:
            return self._index.writer(WRITER_HEAP_BYTES, 1)
        except ValueError as exc:
            if "LockBusy" in str(exc):
                raise SearchUnavailable("another process is writing the index") from exc
            if (unavailable := self._failed(exc)) is None:
                raise
            raise unavailable from exc

    def _document(self, doc: SearchDocument) -> tantivy.Document:
        document = tantivy.Document()
        document.add_integer("id", doc.id)
        document.add_text("title", doc.title_terms)
        document.add_text("summary", doc.summary_terms)
        document.add_text("body", doc.body_terms)
        document.add_text(PARTS_FIELD, doc.parts_terms)
        document.add_text(SKELETON_FIELD, doc.skeleton_terms)
        document.add_text(
            EXPANSION_FIELD, f"{doc.title_terms} {doc.summary_terms} {doc.body_terms}"
        )
        for name in KEYWORD_FIELDS:
            value = getattr(doc, name)
            if value is not None:
                document.add_text(name, value)
        for sector in doc.sector_path:
            document.add_text("sector_path", sector)
        for model in doc.models:
            document.add_text("model", model)
        document.add_integer("capital_min", doc.capital_min)
        document.add_integer("capital_max", doc.capital_max)
        document.add_integer("published_ts", doc.published_ts)
        display = {
            "slug": doc.slug,
            "text": {name: getattr(doc, name) for name in DISPLAY_FIELDS},
            "words": {name: " ".join(doc.display_spans[name][0]) for name in doc.display_spans},
        }
        document.add_bytes("display", json.dumps(display, ensure_ascii=False).encode())
        document.add_bytes("offsets", _pack_offsets(doc.display_spans))
        return document

    def apply(
        self, upserts: Sequence[SearchDocument], deletions: Sequence[int], position: int
    ) -> None:
        with self._write_lock:
            self._check_readable()  # a broken replica is rebuilt whole, not patched
            writer = self._writer()
            try:
                for listing_id in {*deletions, *(doc.id for doc in upserts)}:
                    writer.delete_documents_by_term("id", listing_id)
                for doc in upserts:
                    writer.add_document(self._document(doc))
                writer.commit()
                self._record_position(max(position, self.applied_position()))
            except (ValueError, OSError) as exc:
                writer.rollback()
                if (unavailable := self._failed(exc)) is None:
                    raise
                raise unavailable from exc
            except BaseException:
                writer.rollback()
                raise
            finally:
                writer.wait_merging_threads()  # also releases the lock file

    def rebuild(
        self,
        documents: Iterable[SearchDocument],
        position: int,
        progress: ProgressCallback | None = None,
    ) -> int:
        with self._write_lock:
            writer = self._writer()
            written = 0
            try:
                writer.delete_all_documents()
                for doc in documents:
                    writer.add_document(self._document(doc))
                    written += 1
                    if progress is not None:
                        progress(1)
                writer.commit()
                self._record_position(position)
                self._broken = None  # whatever was unreadable is replaced: searches resume
            except BaseException:
                writer.rollback()
                raise
            finally:
                writer.wait_merging_threads()
        return written

    # --- reading ----------------------------------------------------------------------

    def _searcher(self) -> Any:
        """The searcher of the index's latest commit, kept until the next one: document
        addresses stay valid while it is, so listing ids found for them are remembered."""
        self._check_readable()
        try:
            mtime = self._position_file.stat().st_mtime_ns
        except FileNotFoundError as exc:
            if self._seen_mtime > 0:
                # The replica had a position and its files are gone (deleted, or set aside by
                # another process's repair): tantivy may still answer from the files it holds
                # open, so the loss is told here rather than left to the reload.
                self._mark_broken(exc)
                raise SearchUnavailable(
                    f"the search index is being rebuilt ({self._broken})"
                ) from exc
            mtime = 0
        snapshot = self._snapshot
        if snapshot is None or mtime != self._seen_mtime:
            try:
                self._index.reload()
                snapshot = _Snapshot(self._index.searcher(), {})
            except (ValueError, OSError) as exc:
                if (unavailable := self._failed(exc)) is None:
                    raise
                raise unavailable from exc
            self._snapshot, self._seen_mtime = snapshot, mtime
        return snapshot.searcher

    def _listing_id(self, searcher: Any, address: Any) -> int:
        snapshot = self._snapshot
        key = (address.segment_ord, address.doc)
        if snapshot is None or snapshot.searcher is not searcher:
            return int(searcher.doc(address).get_first("id"))
        found = snapshot.ids.get(key)
        if found is None:
            found = snapshot.ids[key] = int(searcher.doc(address).get_first("id"))
        return found

    def close(self) -> None:
        self._workers.shutdown(wait=False)

    def count(self) -> int:
        return int(self._searcher().num_docs)

    def _text_clause(self, term: QueryTerm, *, loose: bool, typos: bool = True) -> Query:
        clauses = [
            (Occur.Should, Query.boost_query(Query.term_query(self._schema, field, term.term), b))
            for field, b in FIELD_BOOSTS.items()
        ]
        if term.thai:
            parts = Query.term_query(self._schema, PARTS_FIELD, term.term)
            clauses.append((Occur.Should, Query.boost_query(parts, PARTS_BOOST)))
        if loose:
            clauses += [(Occur.Should, clause) for clause in self._expansions(term, typos=typos)]
        return Query.boolean_query(clauses)

    def _expansions(self, term: QueryTerm, *, typos: bool = True) -> list[Query]:
        """Lower-ranked ways a term may match: typos, the word being typed as a prefix,
        and for Thai a word spelt without its tone marks or with a confusable vowel
        (``typos=False``: the prefix only)."""
        found = []
        if term.typos and typos:
            typo = Query.fuzzy_term_query(
                self._schema,
                EXPANSION_FIELD,
                term.term,
                distance=term.typos,
                transposition_cost_one=True,
            )
            found.append(Query.boost_query(typo, TYPO_WEIGHT))
        if term.thai and typos:
            skeleton = Query.term_query(self._schema, SKELETON_FIELD, thai_skeleton(term.term))
            found.append(Query.boost_query(skeleton, TYPO_WEIGHT))
            if len(term.term) >= THAI_FUZZY_MIN_CHARS and not term.prefix:
                near = Query.fuzzy_term_query(self._schema, EXPANSION_FIELD, term.term, distance=1)
                found.append(Query.boost_query(near, TYPO_WEIGHT))
        if term.prefix:
            # One typo at most in a word still being typed: two would match too much, and
            # is the costliest expansion.
            typed = Query.fuzzy_term_query(
                self._schema,
                EXPANSION_FIELD,
                term.prefix,
                distance=min(typo_budget(term.prefix), 1),
                transposition_cost_one=True,
                prefix=True,
            )
            found.append(Query.boost_query(typed, PREFIX_WEIGHT))
        return found

    def _filter_clauses(self, query: SearchQuery) -> list[Query]:
        f = query.filters
        wanted = {
            "kind": f.kind,
            "sector_path": f.sector,
            "province": f.province,
            "city": f.city,
            "smart_block": f.smart_block,
            "stage": f.stage,
            "model": f.model,
        }
        clauses = [
            Query.term_query(self._schema, field, value)
            for field, value in wanted.items()
            if value is not None
        ]
        # Ticket range [a, b] overlaps capital range [min, max] when min <= b and max >= a.
        if f.capital_max is not None:
            clauses.append(
                Query.range_query(
                    self._schema, "capital_min", tantivy.FieldType.Integer, None, f.capital_max
                )
            )
        if f.capital_min is not None:
            clauses.append(
                Query.range_query(
                    self._schema, "capital_max", tantivy.FieldType.Integer, f.capital_min, None
                )
            )
        return clauses

    def _query(
        self, query: SearchQuery, analysed: AnalysedQuery, *, loose: bool, some: bool = False
    ) -> Query:
        """Every word required; or, with ``some``, any of them, scored by how many match
        (Meilisearch's ``words`` rule) and then by BM25."""
        if some:
            # Typos are not looked for among many words (each costs an automaton over
            # the whole term dictionary); the word being typed still matches as a prefix.
            words = [
                Query.boolean_query(
                    [
                        (Occur.Should, Query.const_score_query(clause, WORD_SCORE)),
                        (Occur.Should, clause),
                    ]
                )
                for clause in (
                    self._text_clause(t, loose=loose, typos=False) for t in analysed.terms
                )
            ]
            clauses = [(Occur.Must, Query.boolean_query([(Occur.Should, w) for w in words]))]
        else:
            clauses = [(Occur.Must, self._text_clause(t, loose=loose)) for t in analysed.terms]
        clauses += [(Occur.Must, clause) for clause in self._filter_clauses(query)]
        if not clauses:
            return Query.all_query()
        return Query.boolean_query(clauses)

    def search(self, query: SearchQuery) -> SearchResult:
        try:
            return self._search(query)
        except (ValueError, OSError) as exc:
            if (unavailable := self._failed(exc)) is None:
                raise
            raise unavailable from exc

    def _search(self, query: SearchQuery) -> SearchResult:
        """Exact words first; typo and prefix expansion only when exact matches do not fill
        the requested page (expanding every term is what a query mostly spends its time on).
        """
        analysed = query.analysed()
        searcher = self._searcher()
        sort = query.sort
        if sort is SearchSort.relevance and analysed.is_empty:
            sort = SearchSort.newest  # browsing: nothing to rank by relevance
        order = {
            SearchSort.newest: ("published_ts", Order.Desc),
            SearchSort.capital_asc: ("capital_min", Order.Asc),
            SearchSort.capital_desc: ("capital_max", Order.Desc),
        }.get(sort)
        options: dict[str, Any] = {"count": True, "offset": query.offset}
        if order is not None:
            options |= {"order_by_field": order[0], "order": order[1]}
        wanted = query.offset + query.limit
        expandable = any(term.typos or term.prefix or term.thai for term in analysed.terms)
        relax = len(analysed.terms) >= MIN_WORDS_TO_RELAX and order is None
        all_words = True
        # A query in one language while some listings lack text in it always brings
        # vectors in: its embedding starts now, beside the lexical search, and facets
        # wait for the combined result.
        language = query_language(analysed)
        vector = (
            self._workers.submit(query.embed, query.text)
            if query.embed is not None
            and order is None
            and language is not None
            and self.vectors.any_lacking(language)
            else None
        )
        tantivy_query = self._query(query, analysed, loose=False)
        found = searcher.search(tantivy_query, query.limit, **options)
        if relax and (found.count or 0) < wanted:
            # Not a page of documents with every word: rank those with most of them.
            tantivy_query = self._query(query, analysed, loose=True, some=True)
            all_words = False
            found = None  # searched below, while the facets are counted
        elif expandable and (found.count or 0) < wanted:
            tantivy_query = self._query(query, analysed, loose=True)
            found = None
        # Facet counting is the costliest part of a broad query; tantivy releases the GIL,
        # so it runs on a worker thread while this one collects the page.
        facets = (
            self._workers.submit(self._facets, searcher, tantivy_query)
            if query.facets and vector is None
            else None
        )
        if found is None:
            found = searcher.search(tantivy_query, query.limit, **options)
        total = int(found.count or 0)
        page = [(float(key) if order is None else 0.0, address) for key, address in found.hits]
        scope = (
            semantic_scope(analysed, total, all_words)
            if order is None and query.embed is not None
            else None
        )
        if scope is not None and not self.vectors.any_lacking(scope.lacking):
            scope = None  # no listing that the words miss could come in: no embedding
        semantic = False
        counted = tantivy_query
        if scope is not None:
            assert query.embed is not None
            embedded = vector.result() if vector is not None else query.embed(query.text)
            hybrid = self._hybrid(searcher, query, tantivy_query, scope, embedded)
            if hybrid is not None:
                if facets is not None:
                    facets.cancel()  # the hybrid result's facets count its own listings
                    facets = None
                counted = hybrid.query
                total, page, semantic = hybrid.total, hybrid.page, True
        if facets is None and query.facets:
            facets = self._workers.submit(self._facets, searcher, counted)
        matcher = Matcher(analysed)
        hits = []
        for score, address in page:
            stored = searcher.doc(address)
            display = json.loads(stored.get_first("display"))
            spans = _unpack_spans(display["words"], stored.get_first("offsets"))
            hits.append(
                SearchHit(
                    id=int(stored.get_first("id")),
                    slug=display["slug"],
                    score=score,
                    highlights=highlights_for(display["text"], analysed, spans, matcher),
                )
            )
        counts = facets.result() if facets is not None else {}
        return SearchResult(
            hits=hits,
            total=total,
            facets=counts,
            words=tuple(term.term for term in analysed.terms),
            dropped=analysed.dropped
            + (self._unknown(searcher, analysed) if not (all_words and found.count) else ()),
            all_words=all_words,
            semantic=semantic,
        )

    def _hybrid(
        self,
        searcher: Any,
        query: SearchQuery,
        lexical: Query,
        scope: SemanticScope,
        vector: Any,
    ) -> _Hybrid | None:
        """The lexical hits and the listings nearest in meaning (within the filters), in
        one ranking; None when no vector adds a listing or reorders."""
        near = self.vectors.nearest(vector, SEMANTIC_CANDIDATES, lacking=scope.lacking)
        if not near:
            return None
        wanted = query.offset + query.limit
        addresses: dict[int, Any] = {}
        lexical_scores: dict[int, float] = {}
        for score, address in searcher.search(lexical, max(LEXICAL_CANDIDATES, wanted)).hits:
            listing_id = self._listing_id(searcher, address)
            addresses[listing_id] = address
            lexical_scores[listing_id] = float(score)
        nearby = Query.term_set_query(self._schema, "id", [listing_id for listing_id, _ in near])
        allowed = Query.boolean_query(
            [(Occur.Must, nearby), *((Occur.Must, c) for c in self._filter_clauses(query))]
        )
        # One search gives both the union's size and, scored far above any lexical
        # match, the nearby listings within the filters.
        union = Query.boolean_query(
            [(Occur.Should, lexical), (Occur.Should, Query.const_score_query(allowed, NEARBY))]
        )
        found = searcher.search(union, len(near), count=True)
        for score, address in found.hits:
            if score >= NEARBY:
                addresses.setdefault(self._listing_id(searcher, address), address)
        language = query_language(query.analysed())
        cross = {
            key
            for key in addresses
            if language is not None and language not in self.vectors.languages_of(key)
        }
        ranked = fuse(lexical_scores, self.vectors.similarities(vector, addresses), cross)
        return _Hybrid(
            query=union,
            total=int(found.count or 0),
            page=[(score, addresses[key]) for key, score in ranked[query.offset : wanted]],
        )

    def _unknown(self, searcher: Any, analysed: AnalysedQuery) -> tuple[str, ...]:
        """Query words no document contains, as typed or as typos, prefixes or parts.
        Exact words are looked up in the term dictionaries (no search); only a word that
        may match through a typo or as a prefix costs a counting search."""
        unknown = []
        for term in analysed.terms:
            if any(searcher.doc_freq(field, term.term) for field in (*FIELD_BOOSTS, PARTS_FIELD)):
                continue
            if term.thai and searcher.doc_freq(SKELETON_FIELD, thai_skeleton(term.term)):
                continue
            expansions = self._expansions(term) if term.typos or term.prefix else []
            if any(searcher.search(clause, 1, count=True).count for clause in expansions):
                continue
            unknown.append(term.term)
        return tuple(unknown)

    def _facets(self, searcher: Any, query: Query) -> dict[str, dict[str, int]]:
        spec = {name: {"terms": {"field": name, "size": 100}} for name in FACETS}
        raw = searcher.aggregate(query, spec)
        return {
            name: {bucket["key"]: int(bucket["doc_count"]) for bucket in raw[name]["buckets"]}
            for name in FACETS
        }
