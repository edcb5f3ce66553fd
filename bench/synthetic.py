"""Deterministic synthetic listings and benchmark queries for the search benchmark.

Text is drawn from a Zipf-distributed vocabulary: the words of the real demo listings
(``seed/data/listings.json``, Thai segmented with the project's own analyser) ranked by
their frequency there, followed by a sample of pythainlp's Thai word list for the long
tail. Thai sentences are written as Thai is, words run together without spaces, with a
space between sentences and around the odd English word (``LED``, ``CCTV``).
"""

from __future__ import annotations

import json
import math
import random
import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TypedDict

import geothai
import numpy as np
import numpy.typing as npt
from pythainlp.corpus import thai_words

from catalog.geography import region_of
from catalog.search.analysis import is_thai, thai_stopword_set, tokenize
from catalog.search.base import SearchDocument, SearchFilters, SearchQuery
from catalog.search.documents import ListingText, search_document
from catalog.search.documents import Place as DocumentPlace
from catalog.taxonomy import (
    SECTOR_PARENT,
    InvestmentModel,
    ListingKind,
    Sector,
    Stage,
)

SEED_DATA = Path(__file__).resolve().parents[1] / "seed" / "data"
VOCABULARY_SEED = 7
PYTHAINLP_SAMPLE = 20_000
ZIPF_EXPONENT = 1.0
ZIPF_SHIFT = 2.7  # Zipf-Mandelbrot: flattens the very top ranks a little

# Target characters per field; Thai and English halves, about 1,000 characters in all.
TITLE_CHARS = 30
SUMMARY_CHARS = 100
DESCRIPTION_CHARS = 375
ENGLISH_IN_THAI = 0.25  # chance that a Thai sentence carries one English word

PUBLISHED_FROM = datetime(2022, 1, 1, tzinfo=UTC)
PUBLISHED_TO = datetime(2025, 10, 31, tzinfo=UTC)
CAPITAL_FLOOR = 5_000_000
CAPITAL_CEILING = 2_000_000_000

TEXT_FIELDS = (
    "title_th",
    "title_en",
    "summary_th",
    "summary_en",
    "description_th",
    "description_en",
)

_ENGLISH_WORD = re.compile(r"[A-Za-z]+")
_ENGLISH_STOPWORDS = frozenset(
    "a an and are as at be by for from has have in into is it its of on or that the their "
    "this to was were which will with up per can also all new our than".split()
)


class RawListing(TypedDict):
    slug: str
    kind: str
    sector: str
    city: str
    province: str
    smart_block: str | None
    stage: str
    models: list[str]
    capital_min: int
    capital_max: int
    published_ts: int
    title_th: str
    title_en: str
    summary_th: str
    summary_en: str
    description_th: str
    description_en: str


# --- places -------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    slug: str
    province_code: str
    name_th: str
    name_en: str
    blocks: dict[str, tuple[str, str]]  # slug -> (name_th, name_en)


@cache
def cities() -> dict[str, Place]:
    """The ten programme cities of ``seed/data/cities.json`` with their smart blocks."""
    raw = json.loads((SEED_DATA / "cities.json").read_text(encoding="utf-8"))
    return {
        city["slug"]: Place(
            slug=city["slug"],
            province_code=city["province_code"],
            name_th=city["name_th"],
            name_en=city["name_en"],
            blocks={b["slug"]: (b["name_th"], b["name_en"]) for b in city["smart_blocks"]},
        )
        for city in raw
    }


@cache
def provinces() -> dict[str, tuple[str, str]]:
    return {p.code: (p.name_th, p.name_en) for p in geothai.provinces()}


# --- vocabulary ---------------------------------------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    words: npt.NDArray[np.object_]
    lengths: npt.NDArray[np.int64]
    probabilities: npt.NDArray[np.float64]


def _zipf(count: int) -> npt.NDArray[np.float64]:
    weights = 1.0 / (np.arange(count, dtype=np.float64) + ZIPF_SHIFT) ** ZIPF_EXPONENT
    probabilities: npt.NDArray[np.float64] = weights / weights.sum()
    return probabilities


def _vocabulary(ranked: list[str]) -> Vocabulary:
    return Vocabulary(
        words=np.array(ranked, dtype=object),
        lengths=np.array([len(w) for w in ranked], dtype=np.int64),
        probabilities=_zipf(len(ranked)),
    )


def _seed_texts(language: str) -> list[str]:
    listings = json.loads((SEED_DATA / "listings.json").read_text(encoding="utf-8"))
    fields = [f for f in TEXT_FIELDS if f.endswith(language)]
    return [listing[field] for listing in listings for field in fields]


def _by_frequency(counts: Counter[str]) -> list[str]:
    return [word for word, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


@cache
def thai_vocabulary() -> Vocabulary:
    """Thai words of the demo listings by frequency, then a sample of pythainlp's list."""
    counts: Counter[str] = Counter()
    for text in _seed_texts("th"):
        counts.update(t.term for t in tokenize(text) if t.thai)
    ranked = _by_frequency(counts)
    known = set(ranked)
    dictionary = sorted(w for w in thai_words() if is_thai(w) and w not in known)
    tail = random.Random(VOCABULARY_SEED).sample(dictionary, PYTHAINLP_SAMPLE)
    return _vocabulary(ranked + tail)


@cache
def english_vocabulary() -> Vocabulary:
    """English words of the demo listings by frequency, each in its most common spelling."""
    spellings: dict[str, Counter[str]] = {}
    for text in _seed_texts("en"):
        for word in _ENGLISH_WORD.findall(text):
            spellings.setdefault(word.casefold(), Counter())[word] += 1
    counts = Counter({key: sum(forms.values()) for key, forms in spellings.items()})
    return _vocabulary([spellings[key].most_common(1)[0][0] for key in _by_frequency(counts)])


class WordStream:
    """Words drawn from a vocabulary with its Zipf probabilities, in large batches, each
    followed by ``separator`` characters (0 for Thai, 1 for the space between English
    words) when measuring how many fill a field."""

    BATCH = 1 << 20

    def __init__(self, vocabulary: Vocabulary, rng: np.random.Generator, separator: int) -> None:
        self._vocabulary = vocabulary
        self._rng = rng
        self._separator = separator
        self._words: list[str] = []
        self._reach: list[int] = []  # running total of characters up to each word
        self._position = 0

    def _refill(self) -> None:
        drawn = self._rng.choice(
            len(self._vocabulary.words), size=self.BATCH, p=self._vocabulary.probabilities
        )
        consumed = self._reach[self._position - 1] if self._position else 0
        leftover = [r - consumed for r in self._reach[self._position :]]
        start = leftover[-1] if leftover else 0
        steps = self._vocabulary.lengths[drawn] + self._separator
        reach: list[int] = (np.cumsum(steps) + start).tolist()
        words: list[str] = self._vocabulary.words[drawn].tolist()
        self._words = self._words[self._position :] + words
        self._reach = leftover + reach
        self._position = 0

    def take(self, chars: int) -> list[str]:
        """The next words whose lengths, each plus the separator, first reach ``chars``."""
        while True:
            before = self._reach[self._position - 1] if self._position else 0
            if self._reach and self._reach[-1] - before >= chars:
                break
            self._refill()
        end = bisect_left(self._reach, before + chars, lo=self._position) + 1
        words = self._words[self._position : end]
        self._position = end
        return words


# --- listings -----------------------------------------------------------------------


class TextWriter:
    """Thai and English sentences of Zipf-distributed words."""

    def __init__(self, rnd: random.Random, rng: np.random.Generator) -> None:
        self._rnd = rnd
        self._thai = WordStream(thai_vocabulary(), rng, separator=0)
        self._english = WordStream(english_vocabulary(), rng, separator=1)

    def _sentences(self, words: list[str], shortest: int, longest: int) -> list[list[str]]:
        sentences, start = [], 0
        while start < len(words):
            end = start + self._rnd.randint(shortest, longest)
            sentences.append(words[start:end])
            start = end
        return sentences

    def _thai_sentence(self, words: list[str]) -> str:
        if len(words) < 3 or self._rnd.random() >= ENGLISH_IN_THAI:
            return "".join(words)
        cut = self._rnd.randrange(1, len(words))
        english = self._english.take(1)[0]
        return f"{''.join(words[:cut])} {english} {''.join(words[cut:])}"

    def thai(self, chars: int) -> str:
        words = self._thai.take(chars)
        return " ".join(self._thai_sentence(s) for s in self._sentences(words, 6, 14))

    def english(self, chars: int, *, title: bool = False) -> str:
        words = self._english.take(chars)
        if title:
            return " ".join(words)[:1].upper() + " ".join(words)[1:]
        sentences = (" ".join(s) for s in self._sentences(words, 6, 16))
        return " ".join(f"{s[:1].upper()}{s[1:]}." for s in sentences)


def _capital_range(rnd: random.Random) -> tuple[int, int]:
    low, high = math.log(CAPITAL_FLOOR), math.log(CAPITAL_CEILING)
    minimum = round(math.exp(rnd.uniform(low, high)), -6)
    return int(minimum), int(round(minimum * rnd.uniform(1.0, 5.0), -6))


def _published_ts(rnd: random.Random) -> int:
    start = int(PUBLISHED_FROM.timestamp())
    end = int(PUBLISHED_TO.timestamp())
    return rnd.randrange(start, end) * 1_000_000


_KINDS = tuple(kind.value for kind in ListingKind)
_SECTORS = tuple(sector.value for sector in Sector)
_STAGES = tuple(stage.value for stage in Stage)
_MODELS = tuple(model.value for model in InvestmentModel)


def _listing(index: int, rnd: random.Random, writer: TextWriter) -> RawListing:
    city = cities()[rnd.choice(sorted(cities()))]
    blocks = sorted(city.blocks)
    capital_min, capital_max = _capital_range(rnd)
    return RawListing(
        slug=f"synthetic-{index:07d}",
        kind=rnd.choice(_KINDS),
        sector=rnd.choice(_SECTORS),
        city=city.slug,
        province=city.province_code,
        smart_block=rnd.choice(blocks) if blocks and rnd.random() < 0.4 else None,
        stage=rnd.choice(_STAGES),
        models=sorted(rnd.sample(_MODELS, rnd.randint(1, 3))),
        capital_min=capital_min,
        capital_max=capital_max,
        published_ts=_published_ts(rnd),
        title_th=writer.thai(TITLE_CHARS),
        title_en=writer.english(TITLE_CHARS, title=True),
        summary_th=writer.thai(SUMMARY_CHARS),
        summary_en=writer.english(SUMMARY_CHARS),
        description_th=writer.thai(DESCRIPTION_CHARS),
        description_en=writer.english(DESCRIPTION_CHARS),
    )


def generate_listings(n: int, seed: int = 7) -> list[RawListing]:
    """``n`` synthetic listings; the same ``n`` and ``seed`` give the same listings."""
    rnd = random.Random(seed)
    writer = TextWriter(rnd, np.random.default_rng(seed))
    return [_listing(index, rnd, writer) for index in range(1, n + 1)]


# --- documents ----------------------------------------------------------------------


def _place(raw: RawListing) -> DocumentPlace:
    city = cities()[raw["city"]]
    province_th, province_en = provinces()[raw["province"]]
    block = city.blocks[raw["smart_block"]] if raw["smart_block"] else ()
    return DocumentPlace(
        province=raw["province"],
        region=region_of(raw["province"]),
        city=raw["city"],
        smart_block=raw["smart_block"],
        names=(city.name_th, city.name_en, province_th, province_en, *block),
    )


def to_document(listing_id: int, raw: RawListing) -> SearchDocument:
    """The listing as ``catalog.search.documents.build_documents`` indexes it."""
    listing = ListingText(
        id=listing_id,
        slug=raw["slug"],
        kind=raw["kind"],
        sector=raw["sector"],
        stage=raw["stage"],
        models=tuple(raw["models"]),
        capital_min=raw["capital_min"],
        capital_max=raw["capital_max"],
        published_ts=raw["published_ts"],
        title_th=raw["title_th"],
        title_en=raw["title_en"],
        summary_th=raw["summary_th"],
        summary_en=raw["summary_en"],
        description_th=raw["description_th"],
        description_en=raw["description_en"],
    )
    return search_document(listing, _place(raw))


# --- queries ------------------------------------------------------------------------

# How many of the 200 queries of each kind.
QUERY_MIX = {
    "thai-1": 34,
    "thai-2": 28,
    "english-1": 30,
    "english-2": 26,
    "mixed": 26,
    "typo": 26,
    "prefix": 30,
}
RARE_WORD = 0.15  # chance a query word comes from anywhere in the vocabulary
FILTERED = 0.4  # chance a query carries filters
FIELD_WEIGHTS = {"title": 0.4, "summary": 0.35, "description": 0.25}


class QueryWriter:
    """Queries built from words of randomly chosen listings: a word's chance of being
    picked follows its frequency in the corpus, so most are common-ish, and a few rare
    words come from anywhere in the vocabulary."""

    def __init__(self, raw_listings: list[RawListing], seed: int) -> None:
        self._listings = raw_listings
        self._rnd = random.Random(seed)
        stopwords = thai_stopword_set()
        self._rare_thai: list[str] = [
            w for w in thai_vocabulary().words.tolist() if w not in stopwords
        ]
        self._rare_english: list[str] = [
            w.lower() for w in english_vocabulary().words.tolist() if self._good_english(w, 3)
        ]

    @staticmethod
    def _good_english(word: str, shortest: int) -> bool:
        return len(word) >= shortest and word.isalpha() and word.lower() not in _ENGLISH_STOPWORDS

    def _field_text(self, listing: RawListing, language: str) -> str:
        fields: Mapping[str, object] = listing
        names, weights = zip(*FIELD_WEIGHTS.items(), strict=True)
        field = self._rnd.choices(names, weights)[0]
        return str(fields[f"{field}_{language}"])

    def thai_word(self, listing: RawListing) -> str:
        if self._rnd.random() < RARE_WORD:
            return self._rnd.choice(self._rare_thai)
        stopwords = thai_stopword_set()
        while True:
            words = [
                t.term
                for t in tokenize(self._field_text(listing, "th"))
                if t.thai and len(t.term) >= 2 and t.term not in stopwords
            ]
            if words:
                return self._rnd.choice(words)

    def english_word(self, listing: RawListing, shortest: int = 3) -> str:
        if self._rnd.random() < RARE_WORD:
            rare = [w for w in self._rare_english if len(w) >= shortest]
            return self._rnd.choice(rare)
        while True:
            text = self._field_text(listing, "en")
            found: list[str] = _ENGLISH_WORD.findall(text)
            words = [w.lower() for w in found if self._good_english(w, shortest)]
            if words:
                return self._rnd.choice(words)

    def typo(self, word: str) -> str:
        """``word`` with two neighbouring letters swapped or one letter altered."""
        while True:
            at = self._rnd.randrange(len(word) - 1)
            if self._rnd.random() < 0.5:
                typed = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
            else:
                letter = self._rnd.choice("abcdefghijklmnopqrstuvwxyz")
                typed = word[:at] + letter + word[at + 1 :]
            if typed != word:
                return typed

    @staticmethod
    def _two(pick: Callable[[RawListing], str], listing: RawListing) -> list[str]:
        """Two different words from ``listing``, when it has two."""
        first = pick(listing)
        for _ in range(20):
            second = pick(listing)
            if second != first:
                break
        return [first, second]

    def text(self, kind: str, listing: RawListing) -> str:
        rnd = self._rnd
        if kind == "thai-1":
            return self.thai_word(listing)
        if kind == "thai-2":
            joiner = "" if rnd.random() < 0.5 else " "  # Thai is often typed unspaced
            return joiner.join(self._two(self.thai_word, listing))
        if kind == "english-1":
            return self.english_word(listing)
        if kind == "english-2":
            return " ".join(self._two(self.english_word, listing))
        if kind == "mixed":
            pair = [self.thai_word(listing), self.english_word(listing)]
            rnd.shuffle(pair)
            return " ".join(pair)
        if kind == "typo":
            typed = self.typo(self.english_word(listing, shortest=5))
            return f"{self.english_word(listing)} {typed}" if rnd.random() < 0.3 else typed
        if kind == "prefix":
            typed = self.english_word(listing, shortest=6)[: rnd.randint(3, 5)]
            before = rnd.choice(["", "", "th", "en"])
            if before:
                word = self.thai_word(listing) if before == "th" else self.english_word(listing)
                return f"{word} {typed}"
            return typed
        raise ValueError(kind)

    def filters(self, listing: RawListing) -> SearchFilters:
        rnd = self._rnd
        if rnd.random() >= FILTERED:
            return SearchFilters()
        filters = SearchFilters()
        chosen = rnd.sample(["kind", "sector", "province", "city", "capital"], rnd.randint(1, 2))
        for name in chosen:
            if name == "sector":
                parent = SECTOR_PARENT.get(Sector(listing["sector"]))
                use_parent = parent is not None and rnd.random() < 0.5
                sector = parent.value if parent and use_parent else listing["sector"]
                filters = replace(filters, sector=sector)
            elif name == "capital":
                low, high = listing["capital_min"] // 2, listing["capital_max"] * 2
                filters = replace(
                    filters,
                    capital_min=low if rnd.random() < 0.7 else None,
                    capital_max=high if rnd.random() < 0.7 else None,
                )
            elif name == "kind":
                filters = replace(filters, kind=listing["kind"])
            elif name == "province":
                filters = replace(filters, province=listing["province"])
            else:
                filters = replace(filters, city=listing["city"])
        return filters

    def queries(self) -> list[tuple[str, SearchQuery]]:
        kinds = [kind for kind, count in QUERY_MIX.items() for _ in range(count)]
        self._rnd.shuffle(kinds)
        result = []
        for kind in kinds:
            listing = self._rnd.choice(self._listings)
            text = self.text(kind, listing)
            query = SearchQuery(text=text, filters=self.filters(listing), facets=True)
            result.append((kind, query))
        return result


def long_questions(
    raw_listings: list[RawListing], count: int = 60, seed: int = 13
) -> list[SearchQuery]:
    """Whole questions, as investors type them: five to ten words in a row from one
    listing's description (Thai or English), with stop words left in. Separate from the
    200-query mix, whose figures stay comparable across sessions."""
    rnd = random.Random(seed)
    questions = []
    for _ in range(count):
        listing = rnd.choice(raw_listings)
        language = rnd.choice(("th", "en"))
        text = str(listing[f"description_{language}"])  # type: ignore[literal-required]
        words = (
            [t.term for t in tokenize(text)] if language == "th" else _ENGLISH_WORD.findall(text)
        )
        size = rnd.randint(5, 10)
        start = rnd.randrange(max(1, len(words) - size))
        questions.append(SearchQuery(text=" ".join(words[start : start + size]) + " "))
    return questions


def labelled_benchmark_queries(
    raw_listings: list[RawListing], seed: int = 11
) -> list[tuple[str, SearchQuery]]:
    """The benchmark queries, each with its kind (``thai-1``, ``typo``, ``prefix``...)."""
    return QueryWriter(raw_listings, seed).queries()


def benchmark_queries(raw_listings: list[RawListing], seed: int = 11) -> list[SearchQuery]:
    """200 fixed queries over ``raw_listings``: the same listings and seed, the same list."""
    return [query for _, query in labelled_benchmark_queries(raw_listings, seed)]
