"""Highlighted snippets: the listing's own text, HTML-escaped, with ``<mark>`` around the
words that matched. Engine-independent, so every engine's hits look the same."""

from __future__ import annotations

from html import escape

from rapidfuzz.distance import OSA

from catalog.search.analysis import AnalysedQuery, QueryTerm, tokenize

SNIPPET_CHARS = 180


def _matches(term: str, query_terms: tuple[QueryTerm, ...]) -> bool:
    for q in query_terms:
        if term == q.term or (q.prefix and term.startswith(q.prefix)):
            return True
        # Optimal string alignment: a swap of two letters is one typo, as in the engines.
        if q.typos and abs(len(term) - len(q.term)) <= q.typos:
            if OSA.distance(term, q.term, score_cutoff=q.typos) <= q.typos:
                return True
    return False


def highlight(text: str, query: AnalysedQuery, *, crop: int | None = None) -> str | None:
    """``text`` escaped, matches marked; ``None`` when nothing matched.

    With ``crop``, a window of about that many characters around the first match.
    """
    if query.is_empty or not text:
        return None
    spans = [(t.start, t.end) for t in tokenize(text) if _matches(t.term, query.terms)]
    if not spans:
        return None
    start, end = 0, len(text)
    if crop is not None and len(text) > crop:
        start = max(0, spans[0][0] - crop // 4)
        end = min(len(text), start + crop)
    pieces, cursor = [], start
    for span_start, span_end in spans:
        if span_start < cursor or span_end > end:
            continue
        pieces.append(escape(text[cursor:span_start]))
        pieces.append(f"<mark>{escape(text[span_start:span_end])}</mark>")
        cursor = span_end
    pieces.append(escape(text[cursor:end]))
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    return prefix + "".join(pieces) + suffix


def highlights_for(fields: dict[str, str], query: AnalysedQuery) -> dict[str, str]:
    """Highlighted titles (whole) and summaries (cropped) that contain a match."""
    result = {}
    for name, text in fields.items():
        marked = highlight(text, query, crop=SNIPPET_CHARS if name.startswith("summary") else None)
        if marked is not None:
            result[name] = marked
    return result
