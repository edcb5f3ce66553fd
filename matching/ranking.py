"""Investor -> listings: the listings that fit a profile best, each with its score,
components and reasons, and how one listing fits one profile."""

from __future__ import annotations

import numpy as np
from sqlmodel import Session

from catalog.models import Listing
from catalog.readmodel import listings_public
from catalog.taxonomy import Sector, sector_family_down
from core.settings import ScoringSettings
from matching.matrix import listing_rows
from matching.models import InvestorProfile
from matching.reasons import reasons_for, removal_reason
from matching.schemas import (
    Components,
    ExcludedListing,
    ListingMatch,
    ListingMatches,
    ProfileFields,
    ProfileFit,
)
from matching.scoring import (
    COMPONENTS,
    SECTOR_INDEX,
    ListingMatrix,
    Preferences,
    Scored,
    score_listings,
    top_k,
)
from matching.widening import widenings

MAX_EXPLAINED = 100


def preferences(fields: ProfileFields | InvestorProfile) -> Preferences:
    return Preferences(
        sectors=tuple(fields.sectors),
        provinces=tuple(fields.provinces),
        regions=tuple(fields.regions),
        ticket_min=fields.ticket_min_thb,
        ticket_max=fields.ticket_max_thb,
        models=tuple(fields.models),
        stages=tuple(fields.stages),
        horizon_years=fields.horizon_years,
        min_irr_pct=fields.min_irr_pct,
        thesis=fields.thesis,
        excluded_sectors=tuple(fields.excluded_sectors),
        excluded_models=tuple(fields.excluded_models),
    )


def component_scores(scored: Scored, row: int) -> dict[str, float]:
    return {name: round(float(scored.components[name][row]), 3) for name in COMPONENTS}


def match_listings(
    session: Session,
    *,
    matrix: ListingMatrix,
    fields: ProfileFields | InvestorProfile,
    settings: ScoringSettings,
    kind: str | None = None,
    province: str | None = None,
    sector: str | None = None,
    k: int = 10,
    offset: int = 0,
    min_score: float | None = None,
    explain: bool = False,
    widen: bool = False,
) -> ListingMatches:
    """The best listings for a profile scoring at least ``min_score`` (else the profile's
    own minimum, else the match threshold: weak fits are not padding), with components,
    reasons and, if asked, removals and what would widen the list."""
    prefs = preferences(fields)
    threshold = minimum_score(fields, settings, min_score)
    scored = score_listings(matrix, prefs, settings)
    filtered = np.ones(len(matrix), dtype=np.bool_)
    if kind:
        filtered &= matrix.kind_trade == (kind == "trade")
    if province:
        filtered &= matrix.province == int(province)
    if sector:
        family = [SECTOR_INDEX[s] for s in sector_family_down(Sector(sector))]
        filtered &= np.isin(matrix.sector, family)
    candidates = filtered & (scored.score >= np.float32(threshold))
    rows = top_k(scored, matrix.ids, candidates, k, offset)
    chosen = [matrix.rows[i] for i in rows]
    public = {item.id: item for item in listings_public(session, [r.id for r in chosen])}
    data = [
        ListingMatch(
            listing=public[matrix.rows[i].id],
            score=round(float(scored.score[i]), 2),
            components=Components(**component_scores(scored, i)),
            reasons=reasons_for(matrix.rows[i], prefs, component_scores(scored, i)),
        )
        for i in rows
        if matrix.rows[i].id in public
    ]
    excluded = None
    if explain:
        removed_rows = np.flatnonzero(filtered & ~scored.passed)[:MAX_EXPLAINED]
        excluded = []
        for i in removed_rows:
            constraint = scored.constraint(int(i)) or ""
            excluded.append(
                ExcludedListing(
                    listing_slug=matrix.rows[i].slug,
                    constraint=constraint,
                    reason=removal_reason(matrix.rows[i], prefs, constraint),
                )
            )
    return ListingMatches(
        data=data,
        count=int((candidates & scored.passed).sum()),
        limit=k,
        offset=offset,
        min_score=threshold,
        excluded=excluded,
        widenings=widenings(matrix, prefs, settings, candidates=filtered, min_score=threshold)
        if widen
        else None,
    )


def minimum_score(
    fields: ProfileFields | InvestorProfile, settings: ScoringSettings, asked: float | None
) -> float:
    """The score from which a listing is a match: asked, else the profile's, else the
    service's threshold."""
    if asked is not None:
        return asked
    own = getattr(fields, "min_score", None)
    return float(own) if own is not None else settings.match_threshold


def fit_for_listing(
    session: Session,
    *,
    listing: Listing,
    profile: InvestorProfile,
    catalogue: ListingMatrix,
    settings: ScoringSettings,
) -> ProfileFit:
    """Score one listing for one profile, as the catalogue-wide ranking would."""
    row = listing_rows(session, [listing])[0]
    prefs = preferences(profile)
    scored = score_listings(ListingMatrix.build([row], reference=catalogue), prefs, settings)
    constraint = scored.constraint(0)
    if constraint is not None:
        return ProfileFit(
            profile_name=profile.name,
            score=None,
            reasons=[],
            excluded_because=removal_reason(row, prefs, constraint),
        )
    components = component_scores(scored, 0)
    return ProfileFit(
        profile_name=profile.name,
        score=round(float(scored.score[0]), 2),
        reasons=reasons_for(row, prefs, components),
        excluded_because=None,
    )
