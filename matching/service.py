"""Matching rules: profiles, both directions of ranking, gap reports, leads."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import ValidationError
from sqlalchemy import func
from sqlmodel import Session, col, select

from catalog.models import City, Listing, ListingChange, ListingModel, Organisation
from catalog.service import listings_public
from catalog.taxonomy import (
    MODEL_LABELS,
    STAGE_LABELS,
    InvestmentModel,
    ListingStatus,
    Sector,
    Stage,
    sector_family_down,
)
from core.db import unique_slug, utcnow
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.principal import Principal, Role
from matching.models import Interest, InvestorProfile
from matching.reasons import range_en, range_th, reasons_for, removal_reason
from matching.schemas import (
    Components,
    ExcludedListing,
    GapSuggestion,
    InterestCreate,
    InvestorMatch,
    InvestorProfileCreate,
    InvestorProfilePublic,
    InvestorProfileUpdate,
    LeadPublic,
    LeadStatus,
    LeadUpdate,
    ListingInvestors,
    ListingMatch,
    ListingMatches,
    ProfileFields,
    ProfileFit,
)
from matching.scoring import (
    COMPONENTS,
    SECTOR_INDEX,
    ListingMatrix,
    ListingRow,
    Preferences,
    Scored,
    ScoringSettings,
    score_listings,
    top_k,
)

PROFILE_EDITORS = (Role.investor, Role.organiser, Role.admin)
MAX_EXPLAINED = 100


# --- profiles ----------------------------------------------------------------------------


def profile_public(session: Session, profile: InvestorProfile) -> InvestorProfilePublic:
    organisation = session.get(Organisation, profile.organisation_id)
    assert organisation is not None
    return InvestorProfilePublic.model_validate(
        {**profile.model_dump(), "organisation": organisation.slug}
    )


def create_profile(
    session: Session, *, data: InvestorProfileCreate, principal: Principal
) -> InvestorProfile:
    """A profile owned by the principal's organisation (an investor's own, or one an
    organiser or admin keeps for an event)."""
    if principal.role not in PROFILE_EDITORS:
        raise Forbidden("an investor, organiser or admin key is needed", field="authorization")
    if (
        data.slug
        and session.exec(
            select(InvestorProfile.id).where(InvestorProfile.slug == data.slug)
        ).first()
    ):
        raise Conflict(f"slug '{data.slug}' is taken", field="slug")
    profile = InvestorProfile(
        **data.model_dump(mode="json", exclude={"slug"}),
        slug=data.slug
        or unique_slug(session, col(InvestorProfile.slug), data.name, fallback="investor"),
        organisation_id=principal.organisation_id,
    )
    session.add(profile)
    session.flush()
    return profile


def get_profile(session: Session, *, profile_id: int, viewer: Principal | None) -> InvestorProfile:
    """A profile its owner, organisers and admins can read; others only if discoverable."""
    profile = session.get(InvestorProfile, profile_id)
    if profile is None:
        raise NotFound(f"no investor profile {profile_id}", field="investor")
    owner = viewer is not None and viewer.organisation_id == profile.organisation_id
    staff = viewer is not None and viewer.role in (Role.admin, Role.organiser)
    if not (owner or staff or profile.discoverable):
        raise NotFound(f"no investor profile {profile_id}", field="investor")
    return profile


def list_profiles(session: Session, *, principal: Principal) -> list[InvestorProfile]:
    """The principal organisation's profiles (all of them for an admin)."""
    stmt = select(InvestorProfile).order_by(col(InvestorProfile.id))
    if not principal.is_admin:
        stmt = stmt.where(InvestorProfile.organisation_id == principal.organisation_id)
    return list(session.exec(stmt))


def update_profile(
    session: Session,
    *,
    profile: InvestorProfile,
    data: InvestorProfileUpdate,
    principal: Principal,
) -> InvestorProfile:
    """Change the fields sent; only the owning organisation (or an admin) may."""
    if not principal.is_admin and principal.organisation_id != profile.organisation_id:
        raise Forbidden("this profile belongs to another organisation", field="investor")
    changes = data.model_dump(exclude_unset=True, mode="json")
    nullable = {"min_irr_pct"}
    for name, value in changes.items():
        if value is None and name not in nullable:
            raise InvalidInput(f"{name} may be omitted but not set to null", field=name)
    current = profile.model_dump(include=set(ProfileFields.model_fields))
    try:
        ProfileFields.model_validate(  # the change must hold together with what is stored
            current | {k: v for k, v in changes.items() if k in ProfileFields.model_fields}
        )
    except ValidationError as exc:  # the change is valid alone but not with what is stored
        error = exc.errors()[0]
        raise InvalidInput(error["msg"], field=".".join(map(str, error["loc"]))) from exc
    for name, value in changes.items():
        setattr(profile, name, value)
    profile.version += 1
    profile.updated_at = utcnow()
    session.add(profile)
    session.flush()
    return profile


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


# --- the listing matrix, derived from the catalogue ----------------------------------------


def listing_rows(session: Session, listings: Sequence[Listing]) -> list[ListingRow]:
    ids = [listing.id for listing in listings]
    provinces = dict(session.exec(select(City.id, City.province_code)).all())
    models: dict[int, list[str]] = {}
    for link in session.exec(select(ListingModel).where(col(ListingModel.listing_id).in_(ids))):
        models.setdefault(link.listing_id, []).append(link.model)
    return [
        ListingRow(
            id=listing.id or 0,
            slug=listing.slug,
            kind=listing.kind,
            sector=listing.sector,
            province=provinces[listing.city_id],
            stage=listing.stage,
            models=tuple(sorted(models.get(listing.id or 0, []))),
            capital_min=listing.capital_min_thb,
            capital_max=listing.capital_max_thb,
            irr=listing.expected_irr_pct,
            payback=listing.payback_years,
            text=" ".join(
                [
                    listing.title_th,
                    listing.title_en,
                    listing.summary_th,
                    listing.summary_en,
                    listing.description_th,
                    listing.description_en,
                ]
            ),
        )
        for listing in listings
    ]


class MatrixStore:
    """The published catalogue as a ``ListingMatrix``, rebuilt when the change log moves.

    A per-process cache of data the database holds: a second host builds its own.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[Any, ...] | None = None
        self._matrix: ListingMatrix | None = None

    def matrix(self, session: Session) -> ListingMatrix:
        key = tuple(
            session.exec(
                select(
                    func.max(ListingChange.id),
                    func.max(ListingChange.changed_at),
                    func.count(col(ListingChange.id)),
                )
            ).one()
        )
        with self._lock:
            if self._matrix is None or key != self._key:
                published = session.exec(
                    select(Listing).where(Listing.status == ListingStatus.published)
                ).all()
                self._matrix = ListingMatrix.build(listing_rows(session, published))
                self._key = key
            return self._matrix


# --- investor -> listings -----------------------------------------------------------------


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
    explain: bool = False,
) -> ListingMatches:
    """The best listings for a profile, with components, reasons and (if asked) removals."""
    prefs = preferences(fields)
    scored = score_listings(matrix, prefs, settings)
    candidates = np.ones(len(matrix), dtype=np.bool_)
    if kind:
        candidates &= matrix.kind_trade == (kind == "trade")
    if province:
        candidates &= matrix.province == int(province)
    if sector:
        family = [SECTOR_INDEX[s] for s in sector_family_down(Sector(sector))]
        candidates &= np.isin(matrix.sector, family)
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
        removed_rows = np.flatnonzero(candidates & ~scored.passed)[:MAX_EXPLAINED]
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
        excluded=excluded,
    )


# --- listing -> investors, and what would bring more ---------------------------------------


@dataclasses.dataclass(frozen=True)
class _Variant:
    change: str
    th: str
    en: str
    rows: tuple[ListingRow, ...]  # an investor fits the variant if it fits any of these


def _variants(row: ListingRow) -> list[_Variant]:
    variants = []
    for stage in list(Stage)[list(Stage).index(Stage(row.stage)) + 1 :]:
        label = STAGE_LABELS[stage]
        variants.append(
            _Variant(
                f"stage:{stage}",
                f"ไปถึงระยะ{label.th}",
                f"reach stage {label.en.lower()}",
                (dataclasses.replace(row, stage=stage.value),),
            )
        )
    for model in InvestmentModel:
        if model not in row.models:
            label = MODEL_LABELS[model]
            variants.append(
                _Variant(
                    f"model:{model}",
                    f"เปิดรับรูปแบบ{label.th}",
                    f"also offer {label.en.lower()}",
                    (dataclasses.replace(row, models=(*row.models, model)),),
                )
            )
    if row.capital_max > row.capital_min:
        middle = (row.capital_min + row.capital_max) // 2
        low = dataclasses.replace(row, capital_max=middle)
        high = dataclasses.replace(row, capital_min=middle)
        variants.append(
            _Variant(
                "split-capital",
                f"แบ่งเงินลงทุนเป็นสองส่วน {range_th(row.capital_min, middle)} และ "
                f"{range_th(middle, row.capital_max)}",
                f"split the capital into {range_en(row.capital_min, middle)} and "
                f"{range_en(middle, row.capital_max)} tranches",
                (low, high),
            )
        )
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
    if not principal.is_admin and principal.organisation_id != listing.organisation_id:
        raise Forbidden("only the listing's publisher sees its investors", field="listing")
    row = listing_rows(session, [listing])[0]
    base = ListingMatrix.build([row], reference=catalogue)
    profiles = session.exec(
        select(InvestorProfile)
        .where(col(InvestorProfile.discoverable).is_(True))
        .order_by(col(InvestorProfile.id))
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


# --- expressions of interest and leads ----------------------------------------------------


def _investor_profile_for(
    session: Session, principal: Principal, slug: str | None
) -> InvestorProfile:
    stmt = select(InvestorProfile).where(
        InvestorProfile.organisation_id == principal.organisation_id
    )
    if slug:
        stmt = stmt.where(InvestorProfile.slug == slug)
    profiles = session.exec(stmt.order_by(col(InvestorProfile.id))).all()
    if not profiles:
        raise InvalidInput(
            "create an investor profile first (POST /v1/investors)", field="investor_profile"
        )
    if len(profiles) > 1:
        raise InvalidInput("you have several profiles: name one", field="investor_profile")
    return profiles[0]


def express_interest(
    session: Session, *, listing: Listing, data: InterestCreate, principal: Principal
) -> tuple[Interest, bool]:
    """Record interest once per investor and listing; returns it and whether it is new."""
    if principal.role is not Role.investor:
        raise Forbidden("an investor key is needed to express interest", field="authorization")
    if listing.status != ListingStatus.published:
        raise Conflict(f"listing is {listing.status} and takes no new interest", field="listing")
    profile = _investor_profile_for(session, principal, data.investor_profile)
    existing = session.exec(
        select(Interest).where(
            Interest.listing_id == listing.id, Interest.investor_profile_id == profile.id
        )
    ).first()
    if existing is not None:
        return existing, False
    assert listing.id is not None
    assert profile.id is not None
    interest = Interest(
        listing_id=listing.id,
        investor_profile_id=profile.id,
        message=data.message,
        status=LeadStatus.new,
    )
    session.add(interest)
    session.flush()
    return interest, True


def lead_public(session: Session, interest: Interest) -> LeadPublic:
    listing = session.get(Listing, interest.listing_id)
    profile = session.get(InvestorProfile, interest.investor_profile_id)
    assert listing is not None
    assert profile is not None
    return LeadPublic(
        id=interest.id or 0,
        listing_slug=listing.slug,
        investor=profile_public(session, profile),
        message=interest.message,
        status=LeadStatus(interest.status),
        created_at=interest.created_at,
        updated_at=interest.updated_at,
    )


def list_leads(session: Session, *, principal: Principal) -> list[Interest]:
    """Interest in the principal organisation's listings, newest first."""
    own = select(Listing.id).where(Listing.organisation_id == principal.organisation_id)
    return list(
        session.exec(
            select(Interest)
            .where(col(Interest.listing_id).in_(own))
            .order_by(col(Interest.created_at).desc(), col(Interest.id).desc())
        )
    )


def update_lead(
    session: Session, *, lead_id: int, data: LeadUpdate, principal: Principal
) -> Interest:
    """Move a lead along: contacted, meeting, declined, closed."""
    interest = session.get(Interest, lead_id)
    listing = session.get(Listing, interest.listing_id) if interest else None
    if (
        interest is None
        or listing is None
        or (not principal.is_admin and listing.organisation_id != principal.organisation_id)
    ):
        raise NotFound(f"no lead {lead_id}", field="lead")
    interest.status = data.status
    interest.updated_at = utcnow()
    session.add(interest)
    session.flush()
    return interest


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
