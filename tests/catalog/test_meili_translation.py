"""Our queries in Meilisearch's syntax, checked without a server."""

from __future__ import annotations

import pytest

from catalog.search.base import SearchFilters, SearchQuery, SearchSort, SearchUnavailable
from catalog.search.meili_engine import (
    INDEX_SETTINGS,
    MeiliIndex,
    filter_expression,
    hybrid_parameters,
    quote,
    search_parameters,
    sort_expression,
)


def test_filters_become_quoted_clauses() -> None:
    filters = SearchFilters(
        kind="trade",
        sector="transport",
        city="nakhon-sawan",
        model="ppp",
        capital_min=5_000_000,
        capital_max=90_000_000,
    )
    assert filter_expression(filters) == [
        'kind = "trade"',
        'sector_path = "transport"',
        'city = "nakhon-sawan"',
        'models = "ppp"',
        "capital_min <= 90000000",
        "capital_max >= 5000000",
    ]


def test_quotes_cannot_be_escaped_from() -> None:
    assert quote('a" OR kind = "x') == '"a\\" OR kind = \\"x"'
    assert quote("back\\slash") == '"back\\\\slash"'


@pytest.mark.parametrize(
    ("sort", "has_text", "expected"),
    [
        (SearchSort.relevance, True, []),
        (SearchSort.relevance, False, ["published_ts:desc"]),
        (SearchSort.newest, True, ["published_ts:desc"]),
        (SearchSort.capital_asc, True, ["capital_min:asc"]),
        (SearchSort.capital_desc, False, ["capital_max:desc"]),
    ],
)
def test_sorts(sort: SearchSort, has_text: bool, expected: list[str]) -> None:
    assert sort_expression(sort, has_text) == expected


def test_query_text_is_analysed_like_the_index() -> None:
    text, options = search_parameters(
        SearchQuery(text="โรงงานลูกชิ้นปลาใน Factories", limit=5, offset=10)
    )
    assert text == "โรงงาน ลูกชิ้น ปลา factory"
    assert options["limit"] == 5
    assert options["offset"] == 10
    assert options["matchingStrategy"] == "frequency"  # four words: the most-matched first
    assert search_parameters(SearchQuery(text="ลูกชิ้นปลา"))[1]["matchingStrategy"] == "all"
    assert options["facets"] == ["kind", "sector", "province", "city", "stage", "models"]


def test_settings_rank_title_first_and_tolerate_typos_like_the_contract() -> None:
    assert INDEX_SETTINGS["searchableAttributes"][0] == "title_terms"
    assert INDEX_SETTINGS["searchableAttributes"][-2:] == ["parts_terms", "skeleton_terms"]
    assert INDEX_SETTINGS["typoTolerance"]["minWordSizeForTypos"] == {"oneTypo": 5, "twoTypos": 9}
    assert set(INDEX_SETTINGS["sortableAttributes"]) == {
        "published_ts",
        "capital_min",
        "capital_max",
    }


def test_unreachable_server_is_reported_as_unavailable() -> None:
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    index = MeiliIndex("http://127.0.0.1:9", None)
    with pytest.raises(SearchUnavailable):
        index.applied_position()
    with pytest.raises(SearchUnavailable):
        index.search(SearchQuery(text="fish"))


def test_a_hybrid_search_sends_the_vector_to_the_user_provided_embedder() -> None:
    import numpy as np

    _text, options = search_parameters(SearchQuery(text="electric bus"))
    vector = np.full(384, 0.05, dtype=np.float32)
    english = hybrid_parameters(options, vector, english=True)
    assert english["hybrid"] == {"embedder": "e5", "semanticRatio": 0.85}
    assert len(english["vector"]) == 384
    assert english["filter"] == options["filter"]  # the same filters hold for both halves
    assert hybrid_parameters(options, vector, english=False)["hybrid"]["semanticRatio"] == 0.5
    embedders = INDEX_SETTINGS["embedders"]
    assert embedders == {"e5": {"source": "userProvided", "dimensions": 384}}
