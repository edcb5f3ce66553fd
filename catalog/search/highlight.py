"""Highlighted snippets: the listing's own text, HTML-escaped, with ``<mark>`` around the
words that matched. Engine-independent, so every engine's hits look the same.

The words of each displayed field and their spans are computed once, when the listing
is indexed (``Spans``); a search only compares terms.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from rapidfuzz.distance import OSA

from catalog.search.analysis import AnalysedQuery, word_spans

SNIPPET_CHARS = 180
# (terms, starts, ends) of one text: parallel lists, compact to store with the document.
Spans = tuple[list[str], list[int], list[int]]


class Matcher:
    """Decides whether an indexed term matched the query, remembering each answer."""

    def __init__(self, query: AnalysedQuery) -> None:
        self.query = query
        self._seen: dict[str, bool] = {}

    def __call__(self, term: str) -> bool:
        known = self._seen.get(term)
        if known is None:
            known = self._seen[term] = self._decide(term)
        return known

    def _decide(self, term: str) -> bool:
        for q in self.query.terms:
            if term == q.term or (q.prefix and term.startswith(q.prefix)):
                return True
            # Optimal string alignment: a swap of two letters is one typo, as in the engines.
            if q.typos and abs(len(term) - len(q.term)) <= q.typos:
                if OSA.distance(term, q.term, score_cutoff=q.typos) <= q.typos:
                    return True
        return False


def highlight(text: str, spans: Spans, matcher: Matcher, *, crop: int | None = None) -> str | None:
    """``text`` escaped with matches marked; ``None`` when nothing matched.

    With ``crop``, a window of about that many characters around the first match.
    """
    words, starts, ends = spans
    hits = [(starts[i], ends[i]) for i, word in enumerate(words) if matcher(word)]
    if not hits:
        return None
    start, end = 0, len(text)
    if crop is not None and len(text) > crop:
        start = max(0, hits[0][0] - crop // 4)
        end = min(len(text), start + crop)
    pieces, cursor = [], start
    for hit_start, hit_end in hits:
        if hit_start < cursor or hit_end > end:
            continue
        pieces.append(escape(text[cursor:hit_start]))
        pieces.append(f"<mark>{escape(text[hit_start:hit_end])}</mark>")
        cursor = hit_end
    pieces.append(escape(text[cursor:end]))
    return ("…" if start > 0 else "") + "".join(pieces) + ("…" if end < len(text) else "")


def highlights_for(
    fields: Mapping[str, str],
    query: AnalysedQuery,
    spans: Mapping[str, Spans] | None = None,
    matcher: Matcher | None = None,
) -> dict[str, str]:
    """Highlighted titles (whole) and summaries (cropped) that contain a match."""
    if query.is_empty:
        return {}
    matcher = matcher or Matcher(query)
    result = {}
    for name, text in fields.items():
        field_spans = spans[name] if spans and name in spans else word_spans(text)
        crop = SNIPPET_CHARS if name.startswith("summary") else None
        marked = highlight(text, field_spans, matcher, crop=crop)
        if marked is not None:
            result[name] = marked
    return result
