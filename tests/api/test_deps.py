"""Where a request's database and search work runs: in place, or in a worker thread."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import create_engine, text

from api.deps import run_db, run_search
from catalog.search.meili_engine import MeiliIndex
from catalog.search.semantic import Embedder, QueryEmbedder
from catalog.search.tantivy_engine import TantivyIndex
from core.db import Database, make_engine, open_session


async def test_reads_run_in_place_only_when_nothing_waits_on_a_network(tmp_path: Path) -> None:
    sqlite = create_engine(f"sqlite:///{tmp_path / 'reads.db'}")
    reading = open_session(sqlite, write=False)
    writing = open_session(sqlite, write=True)
    postgresql = open_session(
        create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none"), write=False
    )
    tantivy = TantivyIndex(tmp_path / "search")
    meilisearch = MeiliIndex("http://127.0.0.1:1", None)  # never contacted
    here = threading.get_ident()

    assert await run_db(reading, threading.get_ident) == here
    assert await run_search(reading, tantivy, threading.get_ident) == here
    assert await run_search(reading, meilisearch, threading.get_ident) != here
    assert await run_db(writing, threading.get_ident) != here
    assert await run_db(postgresql, threading.get_ident) != here
    assert await run_search(postgresql, tantivy, threading.get_ident) != here


async def test_a_search_that_may_embed_its_query_waits_in_place_only_for_a_known_vector(
    tmp_path: Path,
) -> None:
    reading = open_session(create_engine(f"sqlite:///{tmp_path / 'reads.db'}"), write=False)
    tantivy = TantivyIndex(tmp_path / "search")
    embedder = Embedder()
    here = threading.get_ident()

    def where(*, embed: QueryEmbedder) -> int:
        return threading.get_ident()

    unknown = QueryEmbedder(embedder, known=embedder.knows("fish ball factory"))
    assert not unknown.known
    assert await run_search(reading, tantivy, where, embed=unknown) != here  # a model call
    vector = unknown("fish ball factory")
    # The same words again (spaces around them aside): a look-up of the vector just made.
    assert embedder.knows("  fish ball factory ")
    again = QueryEmbedder(embedder, known=embedder.knows("fish ball factory "))
    assert again.known
    assert again("fish ball factory") is vector
    assert await run_search(reading, tantivy, where, embed=again) == here


async def test_reads_leave_the_event_loop_to_a_writer_holding_the_sqlite_lock(
    tmp_path: Path,
) -> None:
    database = Database(make_engine(f"sqlite:///{tmp_path / 'reads.db'}"))
    reading = database.open(write=False)
    here = threading.get_ident()
    assert await run_db(reading, threading.get_ident) == here

    writing = database.open(write=True)
    writing.execute(text("CREATE TABLE note (id INTEGER PRIMARY KEY)"))  # BEGIN IMMEDIATE
    assert await run_db(reading, threading.get_ident) != here  # the writer holds the lock
    writing.commit()
    assert await run_db(reading, threading.get_ident) == here

    writing.execute(text("INSERT INTO note (id) VALUES (1)"))
    assert await run_db(reading, threading.get_ident) != here
    writing.rollback()
    assert await run_db(reading, threading.get_ident) == here
