"""The scorer's arithmetic on hand-made rows: each component and each hard constraint."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from catalog.taxonomy import Sector
from core.settings import ScoringSettings
from matching.scoring import (
    SECTOR_INDEX,
    ListingMatrix,
    ListingRow,
    Preferences,
    score_listings,
    sector_fit_table,
    top_k,
)

ROW = ListingRow(
    id=1,
    slug="a",
    kind="trade",
    sector="agri-food-processing",
    province="60",
    stage="ready-for-investment",
    models=("equity",),
    capital_min=10_000_000,
    capital_max=20_000_000,
    irr=12.0,
    payback=5.0,
    text="โรงงานลูกชิ้นปลา",
)
PREFS = Preferences(
    sectors=("agri-food",),
    provinces=(),
    regions=("north",),
    ticket_min=5_000_000,
    ticket_max=15_000_000,
    models=("equity",),
    stages=("ready-for-investment",),
    horizon_years=4,
    min_irr_pct=15.0,
    thesis="",
    excluded_sectors=(),
    excluded_models=(),
)
SETTINGS = ScoringSettings()


def _score(row: ListingRow = ROW, prefs: Preferences = PREFS) -> dict[str, Any]:
    scored = score_listings(ListingMatrix.build([row]), prefs, SETTINGS)
    return {name: float(values[0]) for name, values in scored.components.items()} | {
        "score": float(scored.score[0]),
        "removed": scored.constraint(0) or "",
    }


def test_components() -> None:
    result = _score()
    assert result["sector"] == 1.0  # a parent sector covers its children
    assert result["geography"] == 1.0  # Nakhon Sawan is in the north
    assert result["ticket"] == pytest.approx(0.5)  # half of 10-20M lies in 5-15M
    assert result["horizon"] == pytest.approx(0.8)  # payback 5 against a 4-year horizon
    assert result["irr"] == pytest.approx(0.8)  # 12% against a 15% minimum
    assert result["text"] == 0.0
    assert result["removed"] == ""


def test_sector_levels() -> None:
    table = sector_fit_table(
        dataclasses.replace(PREFS, sectors=("agri-food-processing",)), SETTINGS
    )
    assert table[SECTOR_INDEX[Sector.agri_food_processing]] == 1.0
    assert table[SECTOR_INDEX[Sector.agri_food]] == SETTINGS.sector_child_fit
    assert table[SECTOR_INDEX[Sector.agriculture]] == SETTINGS.sector_sibling_fit
    assert table[SECTOR_INDEX[Sector.energy]] == 0.0


@pytest.mark.parametrize(
    ("change", "constraint"),
    [
        ({"excluded_sectors": ("agri-food",)}, "excluded_sector"),
        ({"excluded_models": ("equity",)}, "excluded_model"),
        ({"ticket_min": 30_000_000, "ticket_max": 50_000_000}, "ticket"),
        ({"stages": ("operating",)}, "stage"),
    ],
)
def test_hard_constraints(change: dict[str, Any], constraint: str) -> None:
    assert _score(prefs=dataclasses.replace(PREFS, **change))["removed"] == constraint


def test_ticket_tolerance() -> None:
    # 10-20M against a 21-30M ticket misses by 1M, within 25% of 21M: kept, ticket fit 0.
    near = _score(prefs=dataclasses.replace(PREFS, ticket_min=21_000_000, ticket_max=30_000_000))
    assert near["removed"] == ""
    assert near["ticket"] == 0.0


def test_top_k_is_a_deterministic_partial_sort() -> None:
    rows = [
        dataclasses.replace(ROW, id=i, slug=str(i), capital_min=c, capital_max=c)
        for i, c in [(5, 9_000_000), (3, 9_000_000), (4, 40_000_000), (1, 12_000_000)]
    ]
    matrix = ListingMatrix.build(rows)
    scored = score_listings(matrix, PREFS, SETTINGS)
    order = top_k(scored, matrix.ids, np.ones(len(matrix), dtype=np.bool_), k=2, offset=0)
    assert [int(matrix.ids[i]) for i in order] == [1, 3]  # 40M removed; equal scores by id
    rest = top_k(scored, matrix.ids, np.ones(len(matrix), dtype=np.bool_), k=2, offset=2)
    assert [int(matrix.ids[i]) for i in rest] == [5]
