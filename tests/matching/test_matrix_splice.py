"""A change to a few listings is spliced into the catalogue's matrix: the result is the
matrix a build of the whole catalogue (with the same vocabulary) would give."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from sqlmodel import Session

from catalog import service
from catalog.models import Listing
from catalog.schemas import ListingCreate
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
