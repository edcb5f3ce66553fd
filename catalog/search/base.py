"""The search contract: what every engine takes, returns and promises."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from enum import StrEnum

from catalog.search.analysis import AnalysedQuery, analyse_query
from catalog.search.semantic import Vector, VectorRow

FACETS = ("kind", "sector", "province", "city", "stage", "model")
DISPLAY_FIELDS = ("title_th", "title_en", "summary_th", "summary_en")
# Shorter queries keep every word required: two words are a request for both (รถเมล์ไฟฟ้า,
# electric bus: a listing with only one of them is another thing). From three words on,
# when too few listings hold them all, listings holding most of them follow.
MIN_WORDS_TO_RELAX = 3


class SearchSort(StrEnum):
    relevance = "relevance"
    newest = "newest"
    capital_asc = "capital_asc"
    capital_desc = "capital_desc"


@dataclass(frozen=True)
class SearchFilters:
    kind: str | None = None
    sector: str | None = None  # a parent sector also matches its children
    province: str | None = None
    city: str | None = None
    smart_block: str | None = None
    stage: str | None = None
    model: str | None = None
    capital_min: int | None = None  # the ticket range: listings whose capital range overlaps
    capital_max: int | None = None


@dataclass(frozen=True)
class SearchQuery:
    text: str = ""
    filters: SearchFilters = field(default_factory=SearchFilters)
    sort: SearchSort = SearchSort.relevance
    limit: int = 20
    offset: int = 0
    facets: bool = True
    # The query embedder, called only when the words alone are not enough (see
    # ``semantic_scope``): most queries never pay for an embedding.
    embed: Callable[[str], Vector] | None = field(default=None, compare=False)

    def analysed(self) -> AnalysedQuery:
        return analyse_query(self.text)


@dataclass(frozen=True)
class SearchDocument:
    """A published listing as engines index it; built from the database by ``documents``."""

    id: int
    slug: str
    kind: str
    sector: str
    sector_path: tuple[str, ...]  # the sector and its parent, for filtering
    province: str
    city: str
    smart_block: str | None
    stage: str
    models: tuple[str, ...]
    capital_min: int
    capital_max: int
    published_ts: int  # microseconds since the epoch
    title_th: str
    title_en: str
    summary_th: str
    summary_en: str
    title_terms: str  # analysed, space-separated
    summary_terms: str
    body_terms: str
    parts_terms: str = ""  # dictionary words inside Thai compounds (โรงสีข้าว: โรงสี ข้าว)
    skeleton_terms: str = ""  # Thai words without tone marks, confusable vowels folded
    # the words of each display field with their spans, for highlighting without re-analysis
    display_spans: dict[str, tuple[list[str], list[int], list[int]]] = field(
        default_factory=dict, compare=False
    )


@dataclass(frozen=True)
class SearchHit:
    id: int
    slug: str
    score: float
    highlights: dict[str, str]  # field -> HTML-escaped text with <mark> around matches


@dataclass(frozen=True)
class SearchResult:
    hits: list[SearchHit]
    total: int
    facets: dict[str, dict[str, int]]
    words: tuple[str, ...] = ()  # the query words searched for
    dropped: tuple[str, ...] = ()  # stop words, and words no listing contains
    all_words: bool = True  # False: not enough listings have every word; most come first
    semantic: bool = False  # listings close in meaning are included (vectors took part)


# Lexical and vector scores, each min-max normalised over the candidates, are combined
# with these weights; for a listing not written in the query's language, its words are
# mostly names and numbers shared by chance, and count less (XQuAD: bench/retrieval_bench).
LEXICAL_WEIGHT = 0.5
CROSS_LEXICAL_WEIGHT = 0.15
SEMANTIC_CANDIDATES = 50  # nearest listings considered beside the lexical ones


@dataclass(frozen=True)
class SemanticScope:
    """Which listings vectors may add to a lexical result."""

    lacking: str | None  # only listings without text in this language; None: any


def semantic_scope(analysed: AnalysedQuery, total: int, all_words: bool) -> SemanticScope | None:
    """When to bring in vectors: when the words alone find nothing or not every word
    (a whole question, a synonym), any listing close in meaning may join; otherwise only
    listings not written in the query's language (an English query and a Thai-only
    listing), so that a precise word query stays precise."""
    if analysed.is_empty:
        return None
    if total == 0 or not all_words:
        return SemanticScope(lacking=None)
    language = query_language(analysed)
    return SemanticScope(lacking=language) if language else None


def query_language(analysed: AnalysedQuery) -> str | None:
    """ "th" or "en" when every word of the query is in that script; else None."""
    languages = {"th" if term.thai else "en" for term in analysed.terms if not term.term.isdigit()}
    return languages.pop() if len(languages) == 1 else None


def fuse(
    lexical: dict[int, float],
    semantic: dict[int, float],
    cross: AbstractSet[int] = frozenset(),
) -> list[tuple[int, float]]:
    """Listing ids ranked by w x lexical + (1 - w) x cosine, each min-max normalised over
    the candidates (a listing missing from one side scores 0 there); w is LEXICAL_WEIGHT,
    or CROSS_LEXICAL_WEIGHT for the ``cross`` listings (not in the query's language)."""

    def normalised(scores: dict[int, float]) -> dict[int, float]:
        if not scores:
            return {}
        low, high = min(scores.values()), max(scores.values())
        spread = high - low
        return {key: (value - low) / spread if spread else 1.0 for key, value in scores.items()}

    words, meaning = normalised(lexical), normalised(semantic)
    combined = {}
    for key in dict.fromkeys([*lexical, *semantic]):
        weight = CROSS_LEXICAL_WEIGHT if key in cross else LEXICAL_WEIGHT
        combined[key] = weight * words.get(key, 0.0) + (1 - weight) * meaning.get(key, 0.0)
    return sorted(combined.items(), key=lambda item: -item[1])


ProgressCallback = Callable[[int], None]


class SearchUnavailable(Exception):
    """The engine cannot be reached or is busy; callers retry later, never lose data."""


class SearchIndex(ABC):
    """One replica of the catalogue's search index, fed from the listing change log."""

    name: str
    # Whether a search runs in this process (CPU work) rather than over a network: only
    # then may a request run it on the event loop.
    in_process: bool

    @abstractmethod
    def applied_position(self) -> int:
        """The id of the last change-log entry this replica has applied."""

    @abstractmethod
    def apply(
        self, upserts: Sequence[SearchDocument], deletions: Sequence[int], position: int
    ) -> None:
        """Index ``upserts``, remove ``deletions`` (listing ids) and record ``position``.

        Idempotent: applying the same changes twice leaves one document per listing.
        """

    @abstractmethod
    def search(self, query: SearchQuery) -> SearchResult:
        """One page of published listings matching ``query``, its total and facet counts."""

    @abstractmethod
    def count(self) -> int:
        """How many listings the replica holds."""

    @abstractmethod
    def rebuild(
        self,
        documents: Iterable[SearchDocument],
        position: int,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Replace the whole replica with ``documents``; readers see the old one until done."""

    @abstractmethod
    def vector_position(self) -> int:
        """The id of the last ``listing_vector`` row this replica has taken in."""

    @abstractmethod
    def apply_vectors(self, rows: Sequence[VectorRow], position: int) -> None:
        """Take in listing vectors (a row replaces the listing's vector in its language)."""

    @property
    def needs_repair(self) -> bool:
        """Whether the replica found itself unreadable (its files deleted or corrupted):
        searches report ``SearchUnavailable`` until ``repair`` and a rebuild."""
        return False

    def repair(self) -> bool:
        """Reopen an unreadable replica, empty if need be; True when it must now be
        rebuilt from the database (``sync.rebuild``)."""
        return False

    def close(self) -> None:  # noqa: B027 - engines without resources need nothing here
        """Release files or connections."""
