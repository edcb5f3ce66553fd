"""Two editors holding the same version: exactly one write wins, the other changes nothing."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from catalog import service
from catalog.models import Listing, ListingChange
from catalog.schemas import ListingCreate, ListingUpdate
from core.db import for_writing, make_engine, unit_of_work
from core.errors import PreconditionFailed
from tests.factories import build_world, listing_payload, publisher_of


def _world_with_a_draft(engine: Engine) -> int:
    """Commit the test world and one draft listing; returns the listing's id."""
    with unit_of_work(engine) as session:
        build_world(session)
        listing = service.create_listing(
            session,
            data=ListingCreate.model_validate(listing_payload()),
            principal=publisher_of(session),
        )
        assert listing.id is not None
        return listing.id


def test_concurrent_stale_write_is_refused(scratch_database: str) -> None:
    engine = make_engine(scratch_database)
    listing_id = _world_with_a_draft(engine)

    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def edit(title: str) -> None:
        # Both editors read version 1 earlier and now save at the same moment. On
        # PostgreSQL the two transactions race to the conditional UPDATE; SQLite
        # serialises writers, so the second sees the new version when it starts.
        barrier.wait(timeout=10)
        try:
            with unit_of_work(for_writing(engine)) as session:
                listing = session.get(Listing, listing_id)
                assert listing is not None
                service.update_listing(
                    session,
                    listing=listing,
                    data=ListingUpdate.model_validate({"title_en": title}),
                    expected_version=1,
                    principal=publisher_of(session),
                )
            outcomes[title] = "saved"
        except PreconditionFailed:
            outcomes[title] = "refused"

    threads = [threading.Thread(target=edit, args=(t,)) for t in ("Editor A", "Editor B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes.values()) == ["refused", "saved"]
    winner = next(title for title, outcome in outcomes.items() if outcome == "saved")
    with Session(engine) as session:
        stored = session.get(Listing, listing_id)
        assert stored is not None
        assert stored.title_en == winner
        assert stored.version == 2
        versions = session.exec(
            select(ListingChange.version).where(ListingChange.listing_id == listing_id)
        ).all()
        assert sorted(versions) == [1, 2]
    engine.dispose()


@pytest.mark.parametrize("attempts", [5])
def test_sequential_edits_each_bump_the_version(scratch_database: str, attempts: int) -> None:
    engine = make_engine(scratch_database)
    listing_id = _world_with_a_draft(engine)
    for expected in range(1, attempts + 1):
        with unit_of_work(engine) as session:
            stored = session.get(Listing, listing_id)
            assert stored is not None
            service.update_listing(
                session,
                listing=stored,
                data=ListingUpdate.model_validate({"payback_years": expected}),
                expected_version=expected,
                principal=publisher_of(session),
            )
    with Session(engine) as session:
        stored = session.get(Listing, listing_id)
        assert stored is not None
        assert stored.version == attempts + 1
    engine.dispose()


def test_write_based_on_an_old_read_is_refused_by_the_database(scratch_database: str) -> None:
    """Both editors hold version 1 in memory, so only the conditional UPDATE can catch
    the second one: the case the in-memory version check cannot see."""
    if scratch_database.startswith("sqlite"):
        pytest.skip("SQLite takes the write lock at BEGIN; two open writers cannot interleave")
    engine = make_engine(scratch_database)
    listing_id = _world_with_a_draft(engine)
    first, second = Session(engine), Session(engine)
    mine, theirs = first.get(Listing, listing_id), second.get(Listing, listing_id)
    assert mine is not None
    assert theirs is not None
    service.update_listing(
        first,
        listing=mine,
        data=ListingUpdate.model_validate({"title_en": "First"}),
        expected_version=1,
        principal=publisher_of(first),
    )
    first.commit()
    with pytest.raises(PreconditionFailed):
        service.update_listing(
            second,
            listing=theirs,
            data=ListingUpdate.model_validate({"title_en": "Second"}),
            expected_version=1,
            principal=publisher_of(second),
        )
    second.rollback()
    with Session(engine) as session:
        stored = session.get(Listing, listing_id)
        assert stored is not None
        assert (stored.title_en, stored.version) == ("First", 2)
    first.close()
    second.close()
    engine.dispose()
