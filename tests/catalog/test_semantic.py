"""Semantic vectors: an English question finds a listing written only in Thai, through the
real embedding model, the vector table, the change-log follower and the HTTP API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from sqlalchemy import Connection
from sqlmodel import Session, col, select

from catalog.models import ListingVector
from catalog.search.base import SearchQuery, SemanticScope, fuse, semantic_scope
from catalog.search.semantic import (
    VECTORS_CURSOR,
    Embedder,
    VectorMatrix,
    VectorRow,
    claim_cursor,
    embed_all,
    embed_changes,
    pack,
    unpack,
)
from catalog.search.sync import catch_up
from catalog.search.tantivy_engine import TantivyIndex
from core.db import Database, utcnow
from tests.catalog.test_search_people import document
from tests.factories import World, auth, listing_payload, with_version

THAI_ONLY_BUS = listing_payload(
    sector="transport",
    title_th="ระบบรถโดยสารไฟฟ้าในเมือง",
    title_en="",
    summary_th="รถเมล์ไฟฟ้าสิบสองคันวิ่งรอบเมือง พร้อมสถานีชาร์จที่อู่จอดรถ เปิดให้เอกชนร่วมลงทุน",
    summary_en="",
    description_th="สัมปทานเดินรถสิบห้าปี",
    description_en="",
)
FISH_BALLS = listing_payload()  # Thai and English


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture
def database(connection: Connection) -> Database:
    return Database(connection, join_transaction_mode="create_savepoint")


async def publish(client: httpx.AsyncClient, key: dict[str, str], payload: dict[str, Any]) -> str:
    created = await client.post("/v1/listings", json=payload, headers=key)
    assert created.status_code == 201, created.text
    slug: str = created.json()["slug"]
    url = f"/v1/listings/{slug}"
    done = await client.post(f"{url}/publish", headers=await with_version(client, url, key))
    assert done.status_code == 200, done.text
    return slug


def follow(database: Database, embedder: Embedder, index: TantivyIndex) -> None:
    """What the app's followers do in the background: embed, then catch the replica up."""
    while embed_changes(database, embedder, "test-process"):
        pass
    with database.reading() as session:
        catch_up(session, index)


async def test_an_english_query_finds_a_listing_written_only_in_thai(
    client: httpx.AsyncClient,
    world: World,
    database: Database,
    embedder: Embedder,
    tantivy_index: TantivyIndex,
) -> None:
    key = auth(world.nakhon_sawan_key)
    bus = await publish(client, key, THAI_ONLY_BUS)
    fish = await publish(client, key, FISH_BALLS)

    before = (await client.get("/v1/search", params={"q": "electric bus"})).json()
    assert before["count"] == 0  # words alone: no English text holds them
    assert not before["semantic"]  # no vectors yet, and search did not wait for them

    follow(database, embedder, tantivy_index)
    after = (await client.get("/v1/search", params={"q": "electric bus"})).json()
    assert after["semantic"]
    assert [hit["listing"]["slug"] for hit in after["hits"]][0] == bus
    assert after["count"] == len(after["hits"])  # counts and hits agree

    page = await client.get("/", params={"q": "electric bus", "lang": "en"})
    assert "including listings close in meaning" in page.text
    assert THAI_ONLY_BUS["title_th"] in page.text
    thai_page = await client.get("/", params={"q": "electric bus", "lang": "th"})
    assert "รวมโครงการที่มีความหมายใกล้เคียง" in thai_page.text

    # An English query a listing's English text answers stays precise: vectors may only
    # add listings without English text, and the Thai bus is not about fish.
    precise = (await client.get("/v1/search", params={"q": "fish ball"})).json()
    assert [hit["listing"]["slug"] for hit in precise["hits"]][0] == fish


async def test_a_thai_word_query_stays_precise_with_vectors(
    client: httpx.AsyncClient,
    world: World,
    database: Database,
    embedder: Embedder,
    tantivy_index: TantivyIndex,
) -> None:
    key = auth(world.nakhon_sawan_key)
    await publish(client, key, THAI_ONLY_BUS)
    fish = await publish(client, key, FISH_BALLS)
    follow(database, embedder, tantivy_index)
    result = (await client.get("/v1/search", params={"q": "ลูกชิ้น"})).json()
    assert [hit["listing"]["slug"] for hit in result["hits"]] == [fish]
    assert not result["semantic"]


async def test_filters_hold_for_listings_found_by_meaning(
    client: httpx.AsyncClient,
    world: World,
    database: Database,
    embedder: Embedder,
    tantivy_index: TantivyIndex,
) -> None:
    await publish(client, auth(world.nakhon_sawan_key), THAI_ONLY_BUS)
    follow(database, embedder, tantivy_index)
    elsewhere = await client.get("/v1/search", params={"q": "electric bus", "city": "rayong"})
    assert elsewhere.json()["count"] == 0
    assert elsewhere.json()["hits"] == []


async def test_vectors_follow_the_text_and_only_changed_text_is_embedded_again(
    client: httpx.AsyncClient,
    world: World,
    session: Session,
    database: Database,
    embedder: Embedder,
    tantivy_index: TantivyIndex,
) -> None:
    key = auth(world.nakhon_sawan_key)
    slug = await publish(client, key, FISH_BALLS)
    follow(database, embedder, tantivy_index)
    first = {row.lang: row.id for row in session.exec(select(ListingVector))}
    assert set(first) == {"th", "en"}

    url = f"/v1/listings/{slug}"
    changed = await client.patch(
        url,
        json={"summary_en": "A small factory making fish balls for night markets."},
        headers=await with_version(client, url, key),
    )
    assert changed.status_code == 200, changed.text
    follow(database, embedder, tantivy_index)
    second = {row.lang: row.id for row in session.exec(select(ListingVector))}
    assert second["th"] == first["th"]  # the Thai text did not change: no new work
    assert second["en"] != first["en"]
    assert embed_all(database, embedder) == 0  # nothing is stale


def test_one_process_at_a_time_holds_the_follower(session: Session) -> None:
    assert claim_cursor(session, VECTORS_CURSOR, "host-a:1") == 0
    assert claim_cursor(session, VECTORS_CURSOR, "host-b:2") is None  # a held lease
    assert claim_cursor(session, VECTORS_CURSOR, "host-a:1") == 0  # renewed by its holder


def test_vectors_survive_storage_as_float16(embedder: Embedder) -> None:
    vector = embedder.query("electric bus")
    assert vector.shape == (384,)
    assert float(np.linalg.norm(vector)) == pytest.approx(1.0, abs=1e-3)
    assert float(unpack(pack(vector)) @ vector) == pytest.approx(1.0, abs=1e-3)


def test_the_matrix_keeps_one_vector_per_listing_and_language() -> None:
    matrix = VectorMatrix()
    one_hot = np.eye(384, dtype=np.float32)
    now = utcnow()
    matrix.apply([VectorRow(1, 7, "th", one_hot[0], now)], 1)
    matrix.apply(
        [VectorRow(2, 7, "th", one_hot[1], now), VectorRow(3, 8, "en", one_hot[0], now)], 3
    )
    assert len(matrix) == 2
    assert matrix.position == 3
    assert matrix.nearest(one_hot[1], 5)[0] == (7, 1.0)  # the replaced vector
    assert matrix.nearest(one_hot[0], 5, lacking="en") == [(7, 0.0)]  # 8 has English


def test_fusion_counts_words_less_for_listings_in_another_language() -> None:
    lexical = {1: 10.0, 2: 8.0, 3: 0.0}
    meaning = {1: 0.80, 2: 0.90, 3: 0.85}
    assert [key for key, _ in fuse(lexical, meaning)] == [2, 1, 3]
    # Listing 1's words matched by chance (a name, a number) in a text not in the
    # query's language: its closeness in meaning decides.
    assert [key for key, _ in fuse(lexical, meaning, cross={1})] == [2, 3, 1]


@pytest.mark.parametrize(
    ("text", "total", "all_words", "expected"),
    [
        ("ลูกชิ้น", 1, True, SemanticScope(lacking="th")),  # only listings without Thai
        ("fish ball", 1, True, SemanticScope(lacking="en")),  # only listings without English
        ("electric bus", 0, True, SemanticScope(lacking=None)),  # nothing found: any
        ("where do electric buses charge", 3, False, SemanticScope(lacking=None)),  # a question
        ("ลูกชิ้น fish", 1, True, None),  # both languages, both found: words alone
    ],
)
def test_when_vectors_join_a_search(
    text: str, total: int, all_words: bool, expected: SemanticScope | None
) -> None:
    assert semantic_scope(SearchQuery(text=text).analysed(), total, all_words) == expected


@pytest.fixture
def vector_index(tmp_path: Path, embedder: Embedder) -> Iterator[TantivyIndex]:
    index = TantivyIndex(tmp_path / "search")
    index.apply(
        [
            document(1, "โรงงานผลิตลูกชิ้นปลา", "", "แปรรูปปลาจากแม่น้ำเจ้าพระยาเป็นลูกชิ้น"),
            document(2, "โรงงานชิ้นส่วนยานยนต์", "", "ผลิตชิ้นส่วนสำหรับรถยนต์ไฟฟ้า"),
        ],
        [],
        1,
    )
    texts = ["โรงงานผลิตลูกชิ้นปลา", "โรงงานชิ้นส่วนยานยนต์"]
    now = utcnow()
    vectors = embedder.passages(texts)
    index.apply_vectors(
        [VectorRow(i + 1, i + 1, "th", vectors[i], now) for i in range(len(texts))], 2
    )
    yield index
    index.close()


def test_the_query_is_embedded_only_when_words_are_not_enough(
    vector_index: TantivyIndex, embedder: Embedder
) -> None:
    calls: list[str] = []

    def embed(text: str) -> Any:
        calls.append(text)
        return embedder.query(text)

    vector_index.search(SearchQuery(text="ลูกชิ้น", embed=embed))
    assert calls == []  # a Thai word found in Thai listings
    result = vector_index.search(SearchQuery(text="car parts factory", embed=embed))
    assert calls == ["car parts factory"]
    assert result.semantic
    assert [hit.id for hit in result.hits][0] == 2


def test_vectors_are_stored_for_published_listings_only(
    session: Session, database: Database, embedder: Embedder, world: World
) -> None:
    from catalog import service
    from catalog.schemas import ListingCreate
    from tests.factories import publisher_of

    draft = service.create_listing(
        session,
        data=ListingCreate.model_validate(listing_payload()),
        principal=publisher_of(session),
    )
    session.commit()
    assert embed_all(database, embedder) == 0
    assert not session.exec(
        select(ListingVector).where(col(ListingVector.listing_id) == draft.id)
    ).all()
