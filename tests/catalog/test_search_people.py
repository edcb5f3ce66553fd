"""Search as people type it: half-typed Thai, Thai typos, words inside Thai compounds,
the same word spelt with other code points, and long questions. Every engine behind the
one interface is held to it (Meilisearch parts are skipped without a server)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.search.analysis import analyse_query, normalise_text, thai_parts
from catalog.search.base import SearchDocument, SearchIndex, SearchQuery
from catalog.search.documents import ListingText, Place, search_document
from catalog.taxonomy import Region
from tests.factories import ENGINES, new_search_index

LISTINGS = {
    1: ("โรงงานผลิตลูกชิ้นปลา", "Fish-ball factory", "แปรรูปปลาจากแม่น้ำเจ้าพระยาเป็นลูกชิ้น"),
    2: ("โรงงานชิ้นส่วนยานยนต์", "Car parts plant", "ผลิตชิ้นส่วนสำหรับรถยนต์ไฟฟ้า"),
    3: ("โรงสีข้าวชุมชน", "Community rice mill", "สีข้าวหอมมะลิของเกษตรกรในจังหวัด"),
    4: ("ระบบบำบัดน้ำเสีย", "Wastewater treatment", "บำบัดน้ำเสียของเทศบาลก่อนปล่อยลงแม่น้ำ"),
    5: (
        "สถานีชาร์จรถโดยสารไฟฟ้า",
        "Electric bus charging depot",
        "A depot where the city's electric buses charge overnight, with solar panels "
        "on the roof and a battery store that feeds the grid at the evening peak.",
    ),
}


def document(listing_id: int, title_th: str, title_en: str, text: str) -> SearchDocument:
    return search_document(
        ListingText(
            id=listing_id,
            slug=f"listing-{listing_id}",
            kind="trade",
            sector="agri-food",
            stage="idea",
            models=("equity",),
            capital_min=1_000_000,
            capital_max=2_000_000,
            published_ts=listing_id,
            title_th=title_th,
            title_en=title_en,
            summary_th=text,
            summary_en="",
            description_th="",
            description_en="",
        ),
        Place(province="60", region=Region.north, city="nakhon-sawan", smart_block=None, names=()),
    )


@pytest.fixture(params=ENGINES)
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchIndex]:
    engine = new_search_index(request.param, tmp_path / "search")
    engine.apply([document(i, *fields) for i, fields in LISTINGS.items()], [], 1)
    yield engine
    engine.close()


def found(index: SearchIndex, text: str) -> list[int]:
    return [hit.id for hit in index.search(SearchQuery(text=text)).hits]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("ลูกชิ้", [1]),  # half-typed: the start of ลูกชิ้น, not ลูก + ชิ้
        ("ลูกชิ้น", [1]),  # a finished word stays precise: not ชิ้นส่วน (parts)
        ("ลูกชิน", [1]),  # tone mark missing
        ("โรงสี", [3]),  # a word inside the compound โรงสีข้าว
        ("ลูก\u200bชิ้น", [1]),  # a zero-width space inside the word
        ("ｆｉｓｈ ｂａｌｌ", [1]),  # full-width Latin
        ("น\u0e49\u0e4d\u0e32เสีย", [4]),  # sara am decomposed (U+0E4D U+0E32)
    ],
)
def test_thai_as_people_type_it(index: SearchIndex, typed: str, expected: list[int]) -> None:
    assert found(index, typed) == expected


def test_exact_words_rank_above_their_misspellings(index: SearchIndex, tmp_path: Path) -> None:
    index.apply([document(6, "ลูกชินแก้ว", "Glass beads", "ลูกปัดแก้ว")], [], 2)
    assert found(index, "ลูกชิ้น") == [1]  # the exact word alone
    assert found(index, "ลูกชิน")[-1] == 1  # the skeleton match ranks below


def test_a_long_question_finds_the_listing_with_most_of_its_words(index: SearchIndex) -> None:
    question = "where do the city's electric buses charge at night with solar power"
    result = index.search(SearchQuery(text=question))
    assert result.hits[0].id == 5
    assert not result.all_words  # "power" and "night" are in no listing together with all
    assert "the" in result.dropped  # stop words are left out, and said so
    assert "where" in result.dropped


def test_two_words_stay_a_request_for_both(index: SearchIndex) -> None:
    assert found(index, "รถยนต์ไฟฟ้า") == [2]  # not every listing with ไฟฟ้า (electric)
    assert index.search(SearchQuery(text="electric parts")).hits == []


def test_the_index_spells_text_as_the_query_does(tmp_path: Path) -> None:
    engine = new_search_index("tantivy", tmp_path / "search")
    decomposed = "ระบบบำบัดน\u0e49\u0e4d\u0e32เสีย"  # as some keyboards type น้ำ
    engine.apply([document(7, decomposed, "", "")], [], 1)
    assert found(engine, "น้ำเสีย") == [7]
    assert found(engine, "บำบัดน้ำ ") == [7]


def test_compound_parts() -> None:
    assert thai_parts("โรงสีข้าว") == ("โรงสี", "ข้าว")
    assert thai_parts("ปลา") == ()  # not a compound
    assert analyse_query("ลูกชิ้").terms[0].prefix == "ลูกชิ้"
    assert analyse_query("ปลา").terms[0].prefix is None  # ปลา must not match ปลายน้ำ


THAI_TEXT = st.text(
    alphabet=st.sampled_from(
        [chr(c) for c in range(0x0E01, 0x0E3B)]
        + [chr(c) for c in range(0x0E40, 0x0E4F)]
        + ["\u200b", "\ufeff", " ", "a", "Ｆ", "\u0e4d"]
    ),
    max_size=40,
)


@given(THAI_TEXT)
def test_normalising_twice_changes_nothing(text: str) -> None:
    once = normalise_text(text)
    assert normalise_text(once) == once
    assert "\u200b" not in once
    assert once == unicodedata.normalize("NFC", once)


WORDS = st.sampled_from(
    [
        "ลูกชิ้น",
        "ปลา",
        "โรงงาน",
        "ข้าว",
        "ตลาด",
        "ท่องเที่ยว",
        "พลังงาน",
        "แสงอาทิตย์",
        "ขนส่ง",
        "สุขภาพ",
        "harbour",
        "market",
        "solar",
        "clinic",
        "ferry",
    ]
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    titles=st.lists(st.lists(WORDS, min_size=1, max_size=4).map("".join), min_size=1, max_size=6)
)
def test_every_listing_is_found_by_its_own_title(tmp_path: Path, titles: list[str]) -> None:
    directory = tmp_path / f"search-{abs(hash(tuple(titles)))}"
    engine = new_search_index("tantivy", directory)
    engine.apply([document(i, title, "", "") for i, title in enumerate(titles, 1)], [], 1)
    for i, title in enumerate(titles, 1):
        assert i in found(engine, title + " "), title
    engine.close()


def test_dictionary_words_with_a_space_keep_highlights_in_place(tmp_path: Path) -> None:
    """The word list holds entries such as ``ต่าง ๆ``: a term with a space once shifted
    every stored offset after it, and a search for a later word raised IndexError."""
    engine = new_search_index("tantivy", tmp_path / "search")
    title = "สินค้าต่าง ๆ ของมหาตมะ คานธี และโรงงานลูกชิ้นปลา"
    engine.apply([document(8, title, "", "")], [], 1)
    [hit] = engine.search(SearchQuery(text="ลูกชิ้น")).hits
    assert hit.highlights["title_th"].endswith("และโรงงาน<mark>ลูกชิ้น</mark>ปลา")
    engine.close()
