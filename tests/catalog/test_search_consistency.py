"""The database is the truth; the index is a replica that catches up from the change log."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import httpx
from sqlmodel import Session, select

from catalog import service
from catalog.models import Listing
from catalog.schemas import ListingCreate
from catalog.search.base import SearchQuery
from catalog.search.positions import settled_position
from catalog.search.sync import catch_up, catch_up_quietly, rebuild
from catalog.search.tantivy_engine import TantivyIndex
from catalog.taxonomy import ListingStatus
from core.db import for_writing, make_engine, unit_of_work, utcnow
from tests.factories import World, auth, build_world, listing_payload, publisher_of, with_version

HOLD_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from catalog.search.tantivy_engine import TantivyIndex
    writer = TantivyIndex(Path(sys.argv[1]))._writer()
    print("locked", flush=True)
    sys.stdin.read()
    writer.wait_merging_threads()
    """
)


async def test_publish_survives_a_busy_engine_and_search_catches_up(
    client: httpx.AsyncClient,
    world: World,
    session: Session,
    tantivy_index: TantivyIndex,
    tmp_path: Path,
) -> None:
    key = auth(world.nakhon_sawan_key)
    assert (
        await client.post("/v1/listings", json=listing_payload(), headers=key)
    ).status_code == 201
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITER, str(tmp_path / "search")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        published = await client.post(
            "/v1/listings/fish-ball-factory/publish",
            headers=await with_version(client, "/v1/listings/fish-ball-factory", key),
        )
        assert published.status_code == 200  # the engine's failure is not the publisher's
        stored = session.exec(select(Listing).where(Listing.slug == "fish-ball-factory")).one()
        assert stored.status == ListingStatus.published
        assert tantivy_index.search(SearchQuery(text="ลูกชิ้น")).total == 0
    finally:
        holder.communicate("", timeout=30)
    catch_up(session, tantivy_index)
    hits = tantivy_index.search(SearchQuery(text="ลูกชิ้น")).hits
    assert [hit.slug for hit in hits] == ["fish-ball-factory"]


def test_catch_up_is_idempotent(
    session: Session, world: World, tantivy_index: TantivyIndex
) -> None:
    publisher = publisher_of(session)
    listing = service.create_listing(
        session, data=ListingCreate.model_validate(listing_payload()), principal=publisher
    )
    service.publish_listing(
        session, listing=listing, principal=publisher, expected_version=listing.version
    )
    session.flush()
    catch_up(session, tantivy_index)
    tantivy_index.apply([], [], 0)  # forget the position: everything is applied again
    catch_up(session, tantivy_index)
    assert tantivy_index.count() == 1
    assert rebuild(session, tantivy_index) == 1
    assert tantivy_index.count() == 1


def test_position_waits_below_a_young_gap() -> None:
    now = utcnow()
    young = [(i, now) for i in (1, 2, 4)]
    assert settled_position(0, young, now) == 2
    old = [(i, now - timedelta(minutes=5)) for i in (1, 2, 4)]
    assert settled_position(0, old, now) == 4


WORKER_LISTINGS = 12


def _worker(url: str, index_dir: str, worker: int) -> list[str]:
    """One app process: publishes listings, catches up after each commit, searches."""
    engine = make_engine(url)
    index = TantivyIndex(Path(index_dir))
    errors: list[str] = []
    for i in range(WORKER_LISTINGS):
        word = f"zq{worker}x{i}"
        payload = listing_payload(slug=f"w{worker}-{i}", title_en=f"Factory {word}")
        with unit_of_work(for_writing(engine)) as session:
            publisher = publisher_of(session)
            listing = service.create_listing(
                session, data=ListingCreate.model_validate(payload), principal=publisher
            )
            service.publish_listing(
                session, listing=listing, principal=publisher, expected_version=listing.version
            )
        with Session(engine) as session:
            catch_up_quietly(session, index)
        try:
            index.search(SearchQuery(text="factory", limit=5))
        except Exception as exc:  # noqa: BLE001 - any error is what this test looks for
            errors.append(repr(exc))
    engine.dispose()
    return errors


def test_two_processes_write_and_search_one_index(scratch_database: str, tmp_path: Path) -> None:
    engine = make_engine(scratch_database)
    with unit_of_work(engine) as session:
        build_world(session)
    index_dir = str(tmp_path / "shared-index")
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        results = pool.starmap(_worker, [(scratch_database, index_dir, w) for w in (0, 1)])
    assert results == [[], []]

    index = TantivyIndex(Path(index_dir))
    with Session(engine) as session:
        catch_up(session, index)  # whatever a busy writer skipped last
    assert index.count() == 2 * WORKER_LISTINGS
    everything = index.search(SearchQuery(text="factory", limit=100))
    ids = [hit.id for hit in everything.hits]
    assert len(ids) == len(set(ids)) == everything.total == 2 * WORKER_LISTINGS
    for worker in (0, 1):
        for i in range(WORKER_LISTINGS):
            found = index.search(SearchQuery(text=f"zq{worker}x{i} "))
            assert [hit.slug for hit in found.hits] == [f"w{worker}-{i}"]
    engine.dispose()
