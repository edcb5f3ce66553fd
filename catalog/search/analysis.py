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
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import nlpo3
import pythainlp
from pythainlp.corpus import thai_stopwords

_DICT_NAME = "citydeal-th"
_THAI_RUN = r"[\u0E01-\u0E3A\u0E40-\u0E4E]+"
_RUNS = re.compile(rf"(?P<thai>{_THAI_RUN})|(?P<word>[^\W_]+)")
_THAI = re.compile(_THAI_RUN)
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
    word = word.casefold()
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


def _thai_tokens(run: str, offset: int) -> list[Token]:
    tokens = []
    position = offset
    for piece in nlpo3.segment(run, _load_thai_dictionary()):
        if piece.strip():
            tokens.append(Token(piece[:MAX_TOKEN_CHARS], position, position + len(piece), True))
        position += len(piece)
    return tokens


def tokenize(text: str) -> list[Token]:
    """Words of ``text`` with their character spans in the original string.

    A hyphenated compound also yields its joined form (``fish-ball`` adds ``fishball``),
    so that either spelling finds it.
    """
    text = unicodedata.normalize("NFC", text)
    tokens: list[Token] = []
    for match in _RUNS.finditer(text):
        if match.lastgroup == "thai":
            tokens.extend(_thai_tokens(match.group(), match.start()))
            continue
        token = Token(
            normalise_word(match.group()[:MAX_TOKEN_CHARS]), match.start(), match.end(), False
        )
        previous = tokens[-1] if tokens else None
        if (
            previous is not None
            and not previous.thai
            and previous.end + 1 == token.start
            and text[previous.end] == "-"
        ):
            joined = (previous.term + token.term)[:MAX_TOKEN_CHARS]
            tokens.append(Token(joined, previous.start, token.end, False))
        tokens.append(token)
    return tokens


def terms(text: str) -> list[str]:
    """The index terms of ``text``, in order, duplicates kept (they carry term frequency)."""
    return [token.term for token in tokenize(text)]


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
