"""Untrusted query text is data: any string gets results or a clear 422, never a 500."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.search.analysis import MAX_QUERY_TERMS, analyse_query, terms, tokenize
from tests.factories import World, create_and_publish

NASTY = [
    '"',
    "'",
    "(",
    ")))",
    "[",
    "{",
    "\\",
    "AND",
    "OR NOT",
    "NEAR(a b)",
    "title:fish",
    "id:1 OR 1=1",
    "*",
    "fish*",
    "?",
    "~2",
    "^5",
    "+-",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "🐟🍢",
    "ลูกชิ้น fish 🐟 ball",
    "١٢٣",
    "ﬁsh",
    "\u200b",
    " ",
    "a" * 999,
    "ก" * 999,
]


@pytest.fixture
async def published(client: httpx.AsyncClient, world: World) -> httpx.AsyncClient:
    await create_and_publish(client, world.nakhon_sawan_key)
    return client


@pytest.mark.parametrize("q", NASTY)
async def test_query_syntax_is_never_interpreted(published: httpx.AsyncClient, q: str) -> None:
    response = await published.get("/v1/search", params={"q": q})
    assert response.status_code == 200, response.text
    for hit in response.json()["hits"]:
        for html in hit["highlights"].values():
            assert "<script>" not in html


async def test_query_operators_are_plain_words(published: httpx.AsyncClient) -> None:
    near = await published.get("/v1/search", params={"q": "ลูกชิ้น XOR "})
    assert near.json()["count"] == 0  # "xor" is a word the listing lacks, not an operator
    negated = (await published.get("/v1/search", params={"q": "ลูกชิ้น NOT "})).json()
    assert negated["count"] == 1  # "not" is an English stop word: left out, and said so
    assert (negated["words"], negated["dropped_words"]) == (["ลูกชิ้น"], ["not"])
    fish = await published.get("/v1/search", params={"q": "fish:ball"})  # not field syntax
    assert [h["listing"]["slug"] for h in fish.json()["hits"]] == ["fish-ball-factory"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": "a" * 10_000}, "q"),
        ({"q": "fish\x00"}, "q"),
        ({"city": "atlantis"}, "city"),
        ({"sector": "space"}, "sector"),
        ({"province": "99"}, "province"),
        ({"sort": "random"}, "sort"),
        ({"limit": "0"}, "limit"),
        ({"capital_min": "10", "capital_max": "5"}, "capital_max"),
        ({"smart_block": "nowhere"}, "smart_block"),
    ],
)
async def test_bad_search_parameters_are_422(
    client: httpx.AsyncClient, world: World, params: dict[str, str], field: str
) -> None:
    response = await client.get("/v1/search", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(q=st.text(max_size=300))
async def test_any_text_gets_an_answer(published: httpx.AsyncClient, q: str) -> None:
    response = await published.get("/v1/search", params={"q": q})
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert response.json()["field"] == "q"


@given(text=st.text(max_size=200))
def test_analysis_is_total(text: str) -> None:
    for term in terms(text):
        assert term
        assert not term.isspace()
    query = analyse_query(text)
    assert len(query.terms) <= MAX_QUERY_TERMS


@given(
    text=st.text(
        alphabet=st.sampled_from(list("กขคงจฉชซญดตถทนบปผพฟมยรลวสหอฮะาิีึืุูเแโใไ่้๊๋็์ abcXYZ-059., ")),
        max_size=120,
    )
)
def test_fast_terms_match_the_positional_tokenizer(text: str) -> None:
    assert Counter(terms(text)) == Counter(token.term for token in tokenize(text))
