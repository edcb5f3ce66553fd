"""Listing -> investors: the discoverable investors who fit a listing, and the gap
report (which single change to the listing would bring in how many more)."""

from __future__ import annotations

import dataclasses

from sqlmodel import Session, col, select

from catalog.models import Listing
from catalog.taxonomy import InvestmentModel, Stage
from core.principal import Principal
from core.settings import ScoringSettings
from matching.access import ensure_may_see_investors_of, shown_to_publishers
from matching.matrix import listing_rows
from matching.models import InvestorProfile
from matching.ranking import component_scores, preferences
from matching.reasons import model_gap, reasons_for, split_capital_gap, stage_gap
from matching.schemas import Components, GapSuggestion, InvestorMatch, ListingInvestors
from matching.scoring import ListingMatrix, ListingRow, Preferences, Scored, score_listings
from matching.service import profile_public


@dataclasses.dataclass(frozen=True)
class _Variant:
    change: str
    th: str
    en: str
    rows: tuple[ListingRow, ...]  # an investor fits the variant if it fits any of these


def _variants(row: ListingRow) -> list[_Variant]:
    variants = []
    for stage in list(Stage)[list(Stage).index(Stage(row.stage)) + 1 :]:
        th, en = stage_gap(stage)
        variants.append(
            _Variant(f"stage:{stage}", th, en, (dataclasses.replace(row, stage=stage.value),))
        )
    for model in InvestmentModel:
        if model not in row.models:
            th, en = model_gap(model)
            variants.append(
                _Variant(
                    f"model:{model}",
                    th,
                    en,
                    (dataclasses.replace(row, models=(*row.models, model)),),
                )
            )
    if row.capital_max > row.capital_min:
        middle = (row.capital_min + row.capital_max) // 2
        th, en = split_capital_gap(row.capital_min, middle, row.capital_max)
        low = dataclasses.replace(row, capital_max=middle)
        high = dataclasses.replace(row, capital_min=middle)
        variants.append(_Variant("split-capital", th, en, (low, high)))
    return variants


def _fit_score(matrix: ListingMatrix, prefs: Preferences, settings: ScoringSettings) -> float:
    """The best score over the rows of ``matrix`` that pass the hard constraints, or -1."""
    scored = score_listings(matrix, prefs, settings)
    passing = scored.score[scored.passed]
    return float(passing.max()) if len(passing) else -1.0


def investors_for_listing(
    session: Session,
    *,
    listing: Listing,
    principal: Principal,
    catalogue: ListingMatrix,
    settings: ScoringSettings,
    k: int = 10,
) -> ListingInvestors:
    """Discoverable investors who fit the listing, and the single changes that would
    bring in more of those just below the threshold."""
    ensure_may_see_investors_of(principal, listing.organisation_id)
    row = listing_rows(session, [listing])[0]
    base = ListingMatrix.build([row], reference=catalogue)
    profiles = session.exec(
        select(InvestorProfile).where(shown_to_publishers()).order_by(col(InvestorProfile.id))
    ).all()
    threshold = settings.match_threshold
    fits: list[tuple[float, InvestorProfile, Scored]] = []
    near: list[Preferences] = []
    for profile in profiles:
        prefs = preferences(profile)
        scored = score_listings(base, prefs, settings)
        score = round(float(scored.score[0]), 2) if scored.passed[0] else -1.0
        if score >= threshold:
            fits.append((score, profile, scored))
        elif score >= threshold - settings.gap_margin or not scored.passed[0]:
            near.append(prefs)
    fits.sort(key=lambda item: (-item[0], item[1].id or 0))
    gaps = []
    for variant in _variants(row):
        matrix = ListingMatrix.build(list(variant.rows), reference=catalogue)
        gained = sum(_fit_score(matrix, prefs, settings) >= threshold for prefs in near)
        if gained:
            gaps.append(
                GapSuggestion(
                    change=variant.change, th=variant.th, en=variant.en, investors_gained=gained
                )
            )
    gaps.sort(key=lambda gap: (-gap.investors_gained, gap.change))
    return ListingInvestors(
        data=[
            InvestorMatch(
                investor=profile_public(session, profile),
                score=score,
                components=Components(**component_scores(scored, 0)),
                reasons=reasons_for(row, preferences(profile), component_scores(scored, 0)),
            )
            for score, profile, scored in fits[:k]
        ],
        count=len(fits),
        threshold=threshold,
        gaps=gaps,
    )
