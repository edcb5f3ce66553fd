"""What would widen an investor's matches: each change to the profile that one rescoring
proves would add listings ("accept concessions: +6 listings"), most gained first."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np

from catalog.schemas import MAX_THB
from catalog.taxonomy import (
    MODEL_LABELS,
    SECTOR_LABELS,
    STAGE_LABELS,
    InvestmentModel,
    Sector,
    Stage,
)
from core.formatting import Lang, thb
from core.settings import ScoringSettings
from matching.schemas import Widening
from matching.scoring import BoolArray, ListingMatrix, Preferences, score_listings

SCORE_STEP = 10.0
HORIZON_STEP = 5


@dataclasses.dataclass(frozen=True)
class _Change:
    code: str
    th: str
    en: str
    prefs: Preferences
    min_score: float


def count_matches(
    matrix: ListingMatrix,
    prefs: Preferences,
    settings: ScoringSettings,
    *,
    candidates: BoolArray,
    min_score: float,
) -> int:
    """Listings among ``candidates`` that pass the hard constraints and score ``min_score``."""
    scored = score_listings(matrix, prefs, settings)
    return int((candidates & scored.passed & (scored.score >= min_score)).sum())


def _changes(prefs: Preferences, min_score: float) -> Iterator[_Change]:
    def change(code: str, th: str, en: str, **fields: object) -> _Change:
        return _Change(code, th, en, dataclasses.replace(prefs, **fields), min_score)  # type: ignore[arg-type]

    if prefs.stages:
        for stage in Stage:
            if stage not in prefs.stages:
                label = STAGE_LABELS[stage]
                yield change(
                    f"stage:{stage}",
                    f"รับโครงการระยะ{label.th}",
                    f"accept the stage {label.en.lower()}",
                    stages=(*prefs.stages, stage.value),
                )
    if prefs.models:
        for model in InvestmentModel:
            if model not in prefs.models:
                label = MODEL_LABELS[model]
                yield change(
                    f"model:{model}",
                    f"รับรูปแบบ{label.th}",
                    f"accept {label.en.lower()}",
                    models=(*prefs.models, model.value),
                )
    for sector in prefs.excluded_sectors:
        label = SECTOR_LABELS[Sector(sector)]
        kept = tuple(s for s in prefs.excluded_sectors if s != sector)
        yield change(
            f"include-sector:{sector}",
            f"ไม่ตัดภาค{label.th}ออก",
            f"stop excluding {label.en.lower()}",
            excluded_sectors=kept,
        )
    for model_name in prefs.excluded_models:
        label = MODEL_LABELS[InvestmentModel(model_name)]
        kept = tuple(m for m in prefs.excluded_models if m != model_name)
        yield change(
            f"include-model:{model_name}",
            f"ไม่ตัดรูปแบบ{label.th}ออก",
            f"stop excluding {label.en.lower()}",
            excluded_models=kept,
        )
    if prefs.ticket_max < MAX_THB:
        wider = min(MAX_THB, prefs.ticket_max * 2)
        yield change(
            "ticket-max",
            f"เพิ่มวงเงินสูงสุดเป็น {thb(wider, Lang.th)}",
            f"raise your ticket to {thb(wider, Lang.en)}",
            ticket_max=wider,
        )
    if prefs.ticket_min > 0:
        lower = prefs.ticket_min // 2
        yield change(
            "ticket-min",
            f"ลดวงเงินขั้นต่ำเป็น {thb(lower, Lang.th)}",
            f"lower your minimum ticket to {thb(lower, Lang.en)}",
            ticket_min=lower,
        )
    if not prefs.anywhere:
        yield change(
            "anywhere", "รับโครงการทุกจังหวัด", "accept anywhere in Thailand", provinces=(), regions=()
        )
    if prefs.horizon_years is not None:
        longer = prefs.horizon_years + HORIZON_STEP
        yield change(
            "horizon",
            f"ขยายกรอบเวลาเป็น {longer} ปี",
            f"extend your horizon to {longer} years",
            horizon_years=longer,
        )
    if prefs.min_irr_pct is not None and prefs.min_irr_pct > 0:
        yield change("min-irr", "ไม่กำหนดผลตอบแทนขั้นต่ำ", "drop your minimum IRR", min_irr_pct=None)
    if min_score > SCORE_STEP:
        lower_score = min_score - SCORE_STEP
        yield _Change(
            "min-score",
            f"แสดงโครงการที่คะแนนตั้งแต่ {lower_score:g}",
            f"show matches from a score of {lower_score:g}",
            prefs,
            lower_score,
        )


def widenings(
    matrix: ListingMatrix,
    prefs: Preferences,
    settings: ScoringSettings,
    *,
    candidates: BoolArray,
    min_score: float,
    limit: int = 5,
) -> list[Widening]:
    """The changes that would add the most listings, each proven by rescoring."""
    if len(matrix) == 0:
        return []
    candidates = np.asarray(candidates, dtype=np.bool_)
    now = count_matches(matrix, prefs, settings, candidates=candidates, min_score=min_score)
    found = []
    for change in _changes(prefs, min_score):
        gained = (
            count_matches(
                matrix, change.prefs, settings, candidates=candidates, min_score=change.min_score
            )
            - now
        )
        if gained > 0:
            found.append(
                Widening(change=change.code, th=change.th, en=change.en, listings_gained=gained)
            )
    found.sort(key=lambda w: (-w.listings_gained, w.change))
    return found[:limit]
