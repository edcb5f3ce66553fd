"""Text analysis shared by every search engine and by matching's text fit.

Thai is written without spaces between words, so Thai runs are segmented with a
dictionary (nlpo3, the Rust implementation of pythainlp's newmm, loaded with
pythainlp's word list). Other scripts are split on non-word characters, case-folded and
reduced by a light plural rule (``factories`` -> ``factory``), deliberately not a full
stemmer: an unstemmed index keeps as-you-type prefixes such as ``hospita`` working.
"""

from __future__ import annotations

import bisect
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


_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
# Sara am typed as nikhahit + sara aa (a tone mark may sit on either side of nikhahit).
_TRANSLATED = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad\u3000\uff01-\uff5e]")
_DECOMPOSED_AM = re.compile("([\u0e48-\u0e4b]?)\u0e4d([\u0e48-\u0e4b]?)\u0e32")
_REPEATED_MARK = re.compile("([\u0e31\u0e34-\u0e3a\u0e47-\u0e4e])\\1+")


def normalise_text(text: str) -> str:
    """One spelling of the same text, applied at index and at query time: NFC, composed
    sara am (U+0E33, not U+0E4D U+0E32), no zero-width characters or soft hyphens, ASCII
    for full-width Latin, and no doubled Thai marks."""
    if _TRANSLATED.search(text):  # rare: most text has nothing to translate
        text = text.translate(_ZERO_WIDTH).translate(_FULL_WIDTH)
    if "\u0e4d" in text:
        text = _DECOMPOSED_AM.sub(lambda m: f"{m.group(1)}{m.group(2)}\u0e33", text)
    return _REPEATED_MARK.sub(r"\1", unicodedata.normalize("NFC", text))


# Marks a Thai reader often leaves out or confuses: tone marks dropped, and vowels
# confused with their long or short pair (and the two ai letters) folded into one.
_SKELETON = str.maketrans(
    {
        "\u0e48": None,
        "\u0e49": None,
        "\u0e4a": None,
        "\u0e4b": None,
        "\u0e4c": None,
        "\u0e35": "\u0e34",
        "\u0e37": "\u0e36",
        "\u0e39": "\u0e38",
        "\u0e43": "\u0e44",
    }
)


def thai_skeleton(term: str) -> str:
    """``term`` without tone marks and with confusable vowels folded: ``ลูกชิ้น`` and
    ``ลูกชิน`` (tone mark missing) share ``ลุกชิน``. Matched below exact words."""
    return term.translate(_SKELETON)


@cache
def _load_thai_dictionary() -> str:
    words = Path(pythainlp.__file__).parent / "corpus" / "words_th.txt"
    nlpo3.load_dict(str(words), _DICT_NAME)
    return _DICT_NAME


@cache
def _thai_words() -> tuple[frozenset[str], list[str]]:
    path = Path(pythainlp.__file__).parent / "corpus" / "words_th.txt"
    words = {w.strip() for w in path.read_text(encoding="utf-8").splitlines() if w.strip()}
    return frozenset(words), sorted(words)


def is_thai_word(text: str) -> bool:
    return text in _thai_words()[0]


def starts_a_thai_word(text: str) -> bool:
    """Whether some dictionary word starts with ``text`` (``ลูกชิ้`` starts ``ลูกชิ้น``)."""
    ordered = _thai_words()[1]
    at = bisect.bisect_left(ordered, text)
    return at < len(ordered) and ordered[at].startswith(text)


MIN_PART_CHARS = 2


@lru_cache(maxsize=100_000)
def thai_parts(term: str) -> tuple[str, ...]:
    """The dictionary words a compound word is made of (``โรงสีข้าว``: ``โรงสี``,
    ``ข้าว``), in the fewest pieces; empty if it is not a compound of dictionary words."""
    if len(term) < 2 * MIN_PART_CHARS or not is_thai(term):
        return ()
    words = _thai_words()[0]
    # best[i]: the fewest words that spell term[:i], with the last word's start
    best: list[tuple[int, int] | None] = [(0, 0)] + [None] * len(term)
    for end in range(MIN_PART_CHARS, len(term) + 1):
        for start in range(0, end - MIN_PART_CHARS + 1):
            before = best[start]
            piece = term[start:end]
            if before is None or piece == term or piece not in words:
                continue
            if best[end] is None or before[0] + 1 < best[end][0]:  # type: ignore[index]
                best[end] = (before[0] + 1, start)
    if best[len(term)] is None:
        return ()
    parts: list[str] = []
    end = len(term)
    while end > 0:
        _count, start = best[end]  # type: ignore[misc]
        parts.append(term[start:end])
        end = start
    return tuple(reversed(parts))


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


_SPACED = re.compile("( )")


def _segment_thai(text: str) -> tuple[list[re.Match[str]], str, list[str]] | None:
    """The Thai runs of ``text``, joined by spaces, and the segmenter's pieces of that.

    One segmenter call per text, on the Thai alone (spaces are word boundaries anyway).
    ``None`` if the segmenter's pieces do not add up to its input: its "safe" mode was
    seen garbling long texts, so no result is trusted unchecked.
    """
    runs = list(_THAI_LETTERS.finditer(text))
    joined = " ".join(run.group() for run in runs)
    found = nlpo3.segment(joined, _load_thai_dictionary()) if runs else []
    # The word list has entries with a space (``ต่าง ๆ``, ``มหาตมะ คานธี``): split them,
    # so that a space always separates two runs and no term holds one.
    pieces = [
        part
        for piece in found
        for part in (_SPACED.split(piece) if " " in piece and piece != " " else (piece,))
        if part
    ]
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


def word_spans(text: str, *, normalised: bool = False) -> tuple[list[str], list[int], list[int]]:
    """The terms of ``text`` with their start and end offsets in ``normalise_text(text)``,
    as three parallel lists (``normalised``: the caller has normalised it already)."""
    words: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for term, start, end, _thai in _scan(text if normalised else normalise_text(text)):
        words.append(term)
        starts.append(start)
        ends.append(end)
    return words, starts, ends


def tokenize(text: str) -> list[Token]:
    """Words of ``text`` with their character spans in the original string."""
    return [Token(*found) for found in _scan(normalise_text(text))]


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
    text = normalise_text(text)
    segmented = _segment_thai(text)
    if segmented is None:
        return [found[0] for found in _words(text, 0, len(text))]
    out = [piece[:MAX_TOKEN_CHARS] for piece in segmented[2] if _THAI_BASE.search(piece)]
    _other_terms(_THAI_LETTERS.sub(" ", text), out)
    return out


@lru_cache(maxsize=200_000)
def _thai_expansion(word: str) -> tuple[str, str]:
    if not is_thai(word):
        return "", ""
    parts = thai_parts(word)
    return " ".join(parts), " ".join((thai_skeleton(word), *map(thai_skeleton, parts)))


def thai_expansions(words: list[str]) -> tuple[str, str]:
    """For indexing: the parts of the Thai compounds among ``words``, and the skeletons of
    the Thai words and their parts, each as space-separated terms (each distinct word
    once: these fields only need to say whether a listing has the word). The indexing hot
    path: one cached lookup per distinct word, joined without a Python loop."""
    expansions = list(zip(*map(_thai_expansion, set(words)), strict=True)) or [(), ()]
    parts, skeletons = expansions
    return " ".join(filter(None, parts)), " ".join(filter(None, skeletons))


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
    thai: bool = False


@dataclass(frozen=True)
class AnalysedQuery:
    terms: tuple[QueryTerm, ...]
    dropped: tuple[str, ...] = ()  # stop words and words beyond the limit, not searched for

    @property
    def is_empty(self) -> bool:
        return not self.terms


def typo_budget(term: str) -> int:
    """Meilisearch's defaults: one typo from 5 characters, two from 9. Thai words get none
    here (a segmented Thai word with an edit is usually another word): their misspellings
    are matched through skeletons and parts instead, below exact words."""
    if is_thai(term) or not term.isalpha():
        return 0
    return 2 if len(term) >= 9 else 1 if len(term) >= 5 else 0


MAX_QUERY_TERMS = 16
ENGLISH_STOPWORDS = frozenset(
    """a about after all also an and any are as at be been before being but by can could
    did do does for from had has have how i if in into is it its may me more most my no
    not of on or other our should so some such than that the their them then there these
    they this those through to under up was we were what when where which while who whom
    whose why will with would you your""".split()
)


def _typed_thai_word(text: str, tokens: list[Token]) -> list[Token]:
    """The Thai word still being typed at the end of ``text`` as one token: the longest
    run of trailing segments that starts a dictionary word (``ลูกชิ้`` is not ``ลูก`` and
    ``ชิ้``: it is the start of ``ลูกชิ้น``). A finished dictionary word is left alone."""
    if not tokens or not tokens[-1].thai:
        return tokens
    first = len(tokens) - 1
    for index in range(len(tokens) - 1, -1, -1):
        if not tokens[index].thai or (index < first and tokens[index].end != tokens[first].start):
            break
        if not starts_a_thai_word(text[tokens[index].start : tokens[-1].end]):
            break
        first = index
    typed = text[tokens[first].start : tokens[-1].end]
    if first == len(tokens) - 1 and is_thai_word(typed):
        return tokens
    return [*tokens[:first], Token(typed, tokens[first].start, tokens[-1].end, True)]


def analyse_query(text: str) -> AnalysedQuery:
    """Query terms with their typo budget. The last word, unless followed by a space, is
    still being typed: it also matches as a prefix of the word as typed (``elec`` finds
    ``electric``, ``ลูกชิ้`` finds ``ลูกชิ้น``; ``buses`` does not become the prefix
    ``bus`` of ``business``). Thai and English stop words are dropped when other words
    remain, so ``ลูกชิ้นใน`` does not demand ``ใน``, nor ``what is the bus`` ``what``."""
    text = normalise_text(text)
    typing = bool(text) and not text[-1].isspace()
    tokens = _typed_thai_word(text, tokenize(text)) if typing else tokenize(text)
    unique = list({t.term: t for t in tokens}.values())
    stopwords = thai_stopword_set() | ENGLISH_STOPWORDS
    meaningful = [t for t in unique if t.term not in stopwords] or unique
    kept = meaningful[:MAX_QUERY_TERMS]
    dropped = tuple(t.term for t in unique if t not in kept)
    result = []
    for token in kept:
        last = token is tokens[-1]
        typed = text[token.start : token.end].casefold().replace("-", "")
        prefix = typed if last and typing else None
        if token.thai and prefix is not None and is_thai_word(token.term):
            prefix = None  # a finished Thai word stays precise: ปลา is not ปลายน้ำ
        result.append(QueryTerm(token.term, typo_budget(token.term), prefix, token.thai))
    return AnalysedQuery(tuple(result), dropped)
