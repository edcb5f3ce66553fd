"""Text analysis shared by every search engine and by matching's text fit.

Thai is written without spaces between words, so Thai runs are segmented with a
dictionary (nlpo3, the Rust implementation of pythainlp's newmm, loaded with
pythainlp's word list). Other scripts are split on non-word characters, case-folded and
reduced by a light plural rule (``factories`` -> ``factory``), deliberately not a full
stemmer: an unstemmed index keeps as-you-type prefixes such as ``hospita`` working.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import nlpo3
import pythainlp
from pythainlp.corpus import thai_stopwords

_DICT_NAME = "citydeal-th"
_THAI = re.compile(r"[\u0E01-\u0E3A\u0E40-\u0E4E]+")
MAX_TOKEN_CHARS = 40


@dataclass(frozen=True)
class Token:
    term: str
    start: int
    end: int
    thai: bool


@cache
def _load_thai_dictionary() -> str:
    words = Path(pythainlp.__file__).parent / "corpus" / "words_th.txt"
    nlpo3.load_dict(str(words), _DICT_NAME)
    return _DICT_NAME


@cache
def thai_stopword_set() -> frozenset[str]:
    return frozenset(thai_stopwords())


# Plurals the suffix rules below would get wrong.
_IRREGULAR = {
    "buses": "bus",
    "gases": "gas",
    "news": "news",
    "series": "series",
    "species": "species",
    "analyses": "analysis",
    "indices": "index",
    "children": "child",
    "people": "person",
    "men": "man",
    "women": "woman",
}


@lru_cache(maxsize=200_000)
def normalise_word(word: str) -> str:
    """Case-fold and reduce English plurals: ``Factories`` -> ``factory``, ``buses`` -> ``bus``."""
    word = word[:MAX_TOKEN_CHARS].casefold()
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) <= 3 or not word.isascii() or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "sses", "xes", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


_WORD = re.compile(r"[^\W_]+")
_THAI_LETTERS = re.compile(r"[\u0E01-\u0E4E]+")
# A Thai word has at least one letter that is not a combining mark; a stray tone or
# vowel mark alone is not a word.
_THAI_BASE = re.compile(r"[\u0E01-\u0E30\u0E32\u0E33\u0E3F-\u0E46]")


def _words(text: str, start: int, end: int) -> Iterator[tuple[str, int, int, bool]]:
    """Non-Thai words of ``text[start:end]``: case-folded, de-pluralised, and a hyphenated
    compound also as its joined form (``fish-ball`` adds ``fishball``)."""
    previous: tuple[str, int, int, bool] | None = None
    for match in _WORD.finditer(text, start, end):
        term = normalise_word(match.group())
        if previous is not None and previous[2] + 1 == match.start() and (text[previous[2]] == "-"):
            yield (previous[0] + term)[:MAX_TOKEN_CHARS], previous[1], match.end(), False
        previous = (term, match.start(), match.end(), False)
        yield previous


def _segment_thai(text: str) -> tuple[list[re.Match[str]], str, list[str]] | None:
    """The Thai runs of ``text``, joined by spaces, and the segmenter's pieces of that.

    One segmenter call per text, on the Thai alone (spaces are word boundaries anyway).
    ``None`` if the segmenter's pieces do not add up to its input: its "safe" mode was
    seen garbling long texts, so no result is trusted unchecked.
    """
    runs = list(_THAI_LETTERS.finditer(text))
    joined = " ".join(run.group() for run in runs)
    pieces = nlpo3.segment(joined, _load_thai_dictionary()) if runs else []
    return (runs, joined, pieces) if "".join(pieces) == joined else None


def _blank_thai(text: str) -> str:
    return _THAI_LETTERS.sub(lambda run: " " * len(run.group()), text)


def _scan(text: str) -> list[tuple[str, int, int, bool]]:
    """``(term, start, end, is_thai)`` for each word of ``text``, in text order."""
    segmented = _segment_thai(text)
    if segmented is None:
        return list(_words(text, 0, len(text)))
    runs, _joined, pieces = segmented
    found: list[tuple[str, int, int, bool]] = []
    run_index, offset = 0, 0  # the run being read, and how far into it
    for piece in pieces:
        if piece == " ":  # the space that joined two runs
            run_index, offset = run_index + 1, 0
            continue
        start = runs[run_index].start() + offset
        offset += len(piece)
        if _THAI_BASE.search(piece):
            found.append((piece[:MAX_TOKEN_CHARS], start, start + len(piece), True))
    blanked = _blank_thai(text)
    found.extend(_words(blanked, 0, len(blanked)))
    found.sort(key=lambda word: word[1])  # stable: a compound stays after its first part
    return found


def word_spans(text: str) -> tuple[list[str], list[int], list[int]]:
    """The terms of ``text`` with their start and end offsets, as three parallel lists."""
    words: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for term, start, end, _thai in _scan(unicodedata.normalize("NFC", text)):
        words.append(term)
        starts.append(start)
        ends.append(end)
    return words, starts, ends


def tokenize(text: str) -> list[Token]:
    """Words of ``text`` with their character spans in the original string."""
    return [Token(*found) for found in _scan(unicodedata.normalize("NFC", text))]


_COMPOUND = re.compile(r"[^\W_]+(?:-[^\W_]+)*")


def _other_terms(stretch: str, out: list[str]) -> None:
    """Append the terms of a non-Thai stretch, as ``_words`` would find them."""
    compounds = _COMPOUND.findall(stretch)
    if "-" not in stretch:
        out.extend(map(normalise_word, compounds))
        return
    for compound in compounds:
        parts = [normalise_word(part) for part in compound.split("-")]
        out.append(parts[0])
        for left, right in zip(parts, parts[1:], strict=False):
            out.append((left + right)[:MAX_TOKEN_CHARS])
            out.append(right)


def terms(text: str) -> list[str]:
    """The index terms of ``text``: the words ``tokenize`` finds, Thai ones first.

    This is the indexing hot path, so it skips positions and ordering.
    """
    text = unicodedata.normalize("NFC", text)
    segmented = _segment_thai(text)
    if segmented is None:
        return [found[0] for found in _words(text, 0, len(text))]
    out = [piece[:MAX_TOKEN_CHARS] for piece in segmented[2] if _THAI_BASE.search(piece)]
    _other_terms(_THAI_LETTERS.sub(" ", text), out)
    return out


def analysed(text: str) -> str:
    """``text`` as space-separated terms: what engines with a whitespace tokenizer index."""
    return " ".join(terms(text))


def is_thai(term: str) -> bool:
    return bool(_THAI.fullmatch(term))


@dataclass(frozen=True)
class QueryTerm:
    term: str
    typos: int  # edit distance tolerated
    prefix: str | None = None  # the word being typed, as typed: also matches as a prefix


@dataclass(frozen=True)
class AnalysedQuery:
    terms: tuple[QueryTerm, ...]

    @property
    def is_empty(self) -> bool:
        return not self.terms


def typo_budget(term: str) -> int:
    """Meilisearch's defaults: one typo from 5 characters, two from 9. Thai words are
    matched exactly: a segmented Thai word with an edit is usually another word."""
    if is_thai(term) or not term.isalpha():
        return 0
    return 2 if len(term) >= 9 else 1 if len(term) >= 5 else 0


MAX_QUERY_TERMS = 12


def analyse_query(text: str) -> AnalysedQuery:
    """Query terms with their typo budget. The last Latin word, unless followed by a space,
    is still being typed: it also matches as a prefix of the word as typed (``elec`` finds
    ``electric``; ``buses`` does not become the prefix ``bus`` of ``business``). Thai stop
    words are dropped when other words remain, so ``ลูกชิ้นใน`` does not demand ``ใน``."""
    text = unicodedata.normalize("NFC", text)
    tokens = list({t.term: t for t in tokenize(text)}.values())[:MAX_QUERY_TERMS]
    stopwords = thai_stopword_set()
    meaningful = [t for t in tokens if t.term not in stopwords] or tokens
    typing = bool(text) and not text[-1].isspace()
    result = []
    for index, token in enumerate(meaningful):
        last = index == len(meaningful) - 1
        typed = text[token.start : token.end].casefold().replace("-", "")
        prefix = typed if last and typing and not token.thai else None
        result.append(QueryTerm(token.term, typo_budget(token.term), prefix))
    return AnalysedQuery(tuple(result))
