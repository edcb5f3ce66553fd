"""A change to a few listings is spliced into the catalogue's matrix: the result is the
matrix a build of the whole catalogue (with the same vocabulary) would give."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, func, select, update
from sqlmodel import Session, col

from catalog import service
from catalog.models import Listing, ListingChange
from catalog.schemas import ListingCreate
from core.db import Database
from core.errors import MatchingUnavailable
from matching import matrix as matrix_module
from matching.matrix import MatrixStore
from matching.scoring import ListingMatrix, ListingRow, text_similarity
from tests.factories import World, listing_payload, publisher_of

SECTORS = ["agri-food-processing", "transport", "health", "tourism"]
# Each word of the rows' texts, alone and together: the text fit reads the splice's rows.
THESES = ["ลูกชิ้นปลา", "cold chain", "word3", "ห้องเย็น word3 cold", "word7 รถโดยสารไฟฟ้า", "1 2 5 75"]


def _row(i: int, **changes: object) -> ListingRow:
    row = ListingRow(
        id=i,
        slug=f"l{i}",
        kind="trade" if i % 2 else "infrastructure",
        sector=SECTORS[i % len(SECTORS)],
        province=("60", "21", "83")[i % 3],
        stage="ready-for-investment",
        models=("equity",) if i % 3 else ("ppp", "debt"),
        capital_min=1_000_000 * i,
        capital_max=2_000_000 * i,
        irr=None if i % 5 == 0 else float(i % 20),
        payback=None if i % 7 == 0 else float(i % 9),
        text=f"โรงงานลูกชิ้นปลา cold chain {i} รถโดยสารไฟฟ้า word{i % 13}",
    )
    return replace(row, **changes)  # type: ignore[arg-type]


def _same(left: ListingMatrix, right: ListingMatrix) -> None:
    assert [r.id for r in left.rows] == [r.id for r in right.rows]
    assert left.rows == right.rows
    for name in ("ids", "kind_trade", "sector", "province", "region", "stage", "models"):
        assert np.array_equal(getattr(left, name), getattr(right, name)), name
    for name in ("capital_min", "capital_max", "irr", "payback", "inverse_span", "irr_filled"):
        assert np.allclose(getattr(left, name), getattr(right, name), equal_nan=True), name
    assert np.array_equal(left.document_frequency, right.document_frequency)
    for thesis in THESES:
        assert np.allclose(text_similarity(left, thesis), text_similarity(right, thesis)), thesis


def test_a_splice_equals_a_build_with_the_same_vocabulary() -> None:
    start = ListingMatrix.build([_row(i) for i in range(1, 60)])
    edited = _row(7, capital_max=999_000_000, text="ห้องเย็น word3 cold")
    added = _row(75)
    archived = 12
    spliced = start.spliced({7, archived, 75}, [edited, added])

    final = [_row(i) for i in range(1, 60) if i not in (7, archived)] + [edited, added]
    _same(spliced, ListingMatrix.build(final, reference=start))
    assert 12 not in spliced.ids
    assert spliced.capital_max[list(spliced.ids).index(7)] == 999_000_000

    # Splices of a splice: a spliced row edited again, another one archived, a new one.
    again = _row(7, text="รถโดยสารไฟฟ้า word7")
    twice = spliced.spliced({7, 75, 80}, [again, _row(80)]).spliced({3}, [_row(3, text="1 2")])
    final = [r for r in final if r.id not in (7, 75, 3)] + [again, _row(80), _row(3, text="1 2")]
    _same(twice, ListingMatrix.build(final, reference=start))
    assert sorted(twice.ids[twice.text.extra_row].tolist()) == [3, 7, 80]  # only those re-encoded


def test_edits_of_published_listings_keep_every_row_in_place() -> None:
    start = ListingMatrix.build([_row(i) for i in range(1, 60)])
    edits = {7: _row(7, capital_max=999_000_000, text="ห้องเย็น word3 cold"), 40: _row(40, irr=None)}
    edited = start.spliced({7, 40}, list(edits.values()))
    assert edited.ids is start.ids  # no row moved: nothing gathered or sorted again
    final = [edits.get(i, _row(i)) for i in range(1, 60)]
    _same(edited, ListingMatrix.build(final, reference=start))
    # A spliced row edited again; the matrix it was spliced from is untouched (requests
    # in flight still read it).
    again = edited.spliced({7}, [_row(7, text="word7 1 2")])
    final[6] = _row(7, text="word7 1 2")
    _same(again, ListingMatrix.build(final, reference=start))
    _same(start, ListingMatrix.build([_row(i) for i in range(1, 60)]))
    assert sorted(again.ids[again.text.extra_row].tolist()) == [7, 40]


def test_the_store_splices_large_catalogues_and_rebuilds_small_ones(
    session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    publisher = publisher_of(session)
    for n in range(4):
        listing = service.create_listing(
            session, data=ListingCreate(**listing_payload(slug=f"m{n}")), principal=publisher
        )
        service.publish_listing(session, listing=listing, expected_version=1, principal=publisher)
    store = MatrixStore()
    assert len(store.matrix(session)) == 4

    monkeypatch.setattr(matrix_module, "SPLICE_FROM", 1)
    monkeypatch.setattr(matrix_module, "REBUILD_SHARE", 1.0)
    first = session.get(Listing, store.matrix(session).rows[0].id)
    assert first is not None
    service.archive_listing(
        session, listing=first, expected_version=first.version, principal=publisher
    )
    after = store.matrix(session)
    assert len(after) == 3
    assert first.id not in after.ids
    assert after.text.base.shape[0] == 4  # spliced, not rebuilt


def _published(session: Session, count: int) -> list[Listing]:
    publisher = publisher_of(session)
    listings = []
    for n in range(count):
        listing = service.create_listing(
            session, data=ListingCreate(**listing_payload(slug=f"g{n}")), principal=publisher
        )
        service.publish_listing(session, listing=listing, expected_version=1, principal=publisher)
        listings.append(listing)
    return listings


def _late_change(session: Session, listing: Listing, entry_id: int, capital_max: int) -> None:
    """A change whose log entry got ``entry_id``: what a transaction that took its id
    before another's, but committed after it, leaves on PostgreSQL."""
    session.execute(
        update(Listing).where(col(Listing.id) == listing.id).values(capital_max_thb=capital_max)
    )
    session.add(ListingChange(id=entry_id, listing_id=listing.id or 0, version=9, action="updated"))
    session.commit()


def _capital_max(matrix: ListingMatrix, listing: Listing) -> float:
    return float(matrix.capital_max[list(matrix.ids).index(listing.id)])


def test_an_entry_that_fills_a_gap_later_is_spliced_in(
    session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, _third = _published(session, 3)
    store = MatrixStore()
    store.matrix(session)
    monkeypatch.setattr(matrix_module, "SPLICE_FROM", 1)
    monkeypatch.setattr(matrix_module, "REBUILD_SHARE", 1.0)
    newest = session.execute(select(func.max(ListingChange.id))).scalar_one()

    _late_change(session, first, newest + 2, 777_000_000)  # newest + 1 not committed yet
    assert _capital_max(store.matrix(session), first) == 777_000_000
    _late_change(session, second, newest + 1, 888_000_000)  # ...and now it is
    after = store.matrix(session)
    assert _capital_max(after, second) == 888_000_000
    assert _capital_max(after, first) == 777_000_000
    assert after.text.base.shape[0] == 3  # spliced twice, never rebuilt


def test_matching_answers_503_while_the_first_matrix_is_built(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    real_build = matrix_module._build

    def slow_build(session: Session) -> Any:
        release.wait(10)
        return real_build(session)

    monkeypatch.setattr(matrix_module, "_build", slow_build)
    monkeypatch.setattr(matrix_module, "FIRST_BUILD_WAIT_SECONDS", 0.05)
    database = Database(engine)
    store = MatrixStore(database)
    store.start()
    assert not store.ready
    with database.reading() as session, pytest.raises(MatchingUnavailable) as refused:
        store.matrix(session)
    assert refused.value.code == "matching_unavailable"
    assert refused.value.headers["Retry-After"]
    release.set()
    deadline = time.monotonic() + 10
    while not store.ready and time.monotonic() < deadline:
        time.sleep(0.01)
    assert store.ready
    with database.reading() as session:
        assert isinstance(store.matrix(session), ListingMatrix)
