"""The search contract: what every engine takes, returns and promises."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from catalog.search.analysis import AnalysedQuery, analyse_query

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

    def close(self) -> None:  # noqa: B027 - engines without resources need nothing here
        """Release files or connections."""
