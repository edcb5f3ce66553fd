"""HTTP routes of matching: investor profiles, rankings both ways, interest and leads."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from api.deps import (
    IfMatchDep,
    LimiterDep,
    OptionalPrincipalDep,
    PrincipalDep,
    PublisherDep,
    ScoringDep,
    SessionDep,
    StoreDep,
    etag,
    writes,
)
from api.errors import error_responses
from api.routes.catalog import EverPublicListingDep, ListingDep
from core.ratelimit import Rule
from matching import gaps, ranking, service
from matching.schemas import (
    InterestCreate,
    InterestPublic,
    InterestsPublic,
    InvestorProfileCreate,
    InvestorProfilePublic,
    InvestorProfilesPublic,
    InvestorProfileUpdate,
    LeadPublic,
    LeadsPublic,
    LeadUpdate,
    ListingInvestors,
    ListingMatches,
    MatchFilters,
    TryMatchRequest,
)
from matching.scoring import ListingMatrix

router = APIRouter(prefix="/v1")


def get_catalogue_matrix(session: SessionDep, store: StoreDep) -> ListingMatrix:
    return store.matrix(session)


CatalogueDep = Annotated[ListingMatrix, Depends(get_catalogue_matrix)]
ProfileId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post(
    "/investors",
    tags=["investors"],
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 403, 409, 422),
)
@writes
def create_investor(
    data: InvestorProfileCreate, session: SessionDep, principal: PrincipalDep, response: Response
) -> InvestorProfilePublic:
    """Create an investor profile (investor key; organisers and admins for an event)."""
    profile = service.create_profile(session, data=data, principal=principal)
    response.headers["Location"] = f"/v1/investors/{profile.id}"
    response.headers["ETag"] = etag(profile.version)
    return service.profile_public(session, profile)


@router.get("/investors", tags=["investors"], responses=error_responses(401))
def list_investors(session: SessionDep, principal: PrincipalDep) -> InvestorProfilesPublic:
    """Your organisation's investor profiles."""
    profiles = service.list_profiles(session, principal=principal)
    return InvestorProfilesPublic(
        data=[service.profile_public(session, p) for p in profiles], count=len(profiles)
    )


@router.get("/investors/{profile_id}", tags=["investors"], responses=error_responses(404))
def get_investor(
    profile_id: ProfileId, session: SessionDep, viewer: OptionalPrincipalDep, response: Response
) -> InvestorProfilePublic:
    """One profile: discoverable ones for everyone; a hidden one for its organisation,
    admins, and organisers of an event it attends."""
    profile = service.get_profile(session, profile_id=profile_id, viewer=viewer)
    response.headers["ETag"] = etag(profile.version)
    return service.profile_public(session, profile)


@router.patch(
    "/investors/{profile_id}",
    tags=["investors"],
    responses=error_responses(401, 403, 404, 412, 422, 428),
)
@writes
def update_investor(
    profile_id: ProfileId,
    data: InvestorProfileUpdate,
    session: SessionDep,
    principal: PrincipalDep,
    expected_version: IfMatchDep,
    response: Response,
) -> InvestorProfilePublic:
    """Change your own profile. Requires `If-Match` with the ETag you read (412 if stale)."""
    profile = service.get_profile(session, profile_id=profile_id, viewer=principal)
    profile = service.update_profile(
        session,
        profile=profile,
        data=data,
        expected_version=expected_version,
        principal=principal,
    )
    response.headers["ETag"] = etag(profile.version)
    return service.profile_public(session, profile)


@router.get(
    "/investors/{profile_id}/matches", tags=["matching"], responses=error_responses(404, 422)
)
def investor_matches(
    profile_id: ProfileId,
    filters: Annotated[MatchFilters, Query()],
    session: SessionDep,
    viewer: OptionalPrincipalDep,
    catalogue: CatalogueDep,
    settings: ScoringDep,
) -> ListingMatches:
    """The listings that fit a profile best, each with its score, components and reasons."""
    profile = service.get_profile(session, profile_id=profile_id, viewer=viewer)
    return ranking.match_listings(
        session,
        matrix=catalogue,
        fields=profile,
        settings=settings,
        **filters.model_dump(mode="json"),
    )


@router.post("/match", tags=["matching"], responses=error_responses(400, 413, 422))
def try_match(
    request: TryMatchRequest, session: SessionDep, catalogue: CatalogueDep, settings: ScoringDep
) -> ListingMatches:
    """Rank listings for a profile sent in the body; nothing is saved."""
    options = request.model_dump(mode="json", include=set(MatchFilters.model_fields))
    return ranking.match_listings(
        session, matrix=catalogue, fields=request, settings=settings, **options
    )


@router.get(
    "/listings/{ref}/investors", tags=["matching"], responses=error_responses(401, 403, 404, 422)
)
def listing_investors(
    listing: ListingDep,
    session: SessionDep,
    principal: PublisherDep,
    catalogue: CatalogueDep,
    settings: ScoringDep,
    k: Annotated[int, Query(ge=1, le=100)] = 10,
) -> ListingInvestors:
    """For the listing's publisher: discoverable investors who fit, and a gap report."""
    return gaps.investors_for_listing(
        session,
        listing=listing,
        principal=principal,
        catalogue=catalogue,
        settings=settings,
        k=k,
    )


@router.post(
    "/listings/{ref}/interest",
    tags=["leads"],
    responses={
        200: {"description": "Interest already recorded"},
        **error_responses(401, 403, 404, 409, 422),
    },
    status_code=status.HTTP_201_CREATED,
)
@writes
def express_interest(
    listing: EverPublicListingDep,
    data: InterestCreate,
    session: SessionDep,
    principal: PrincipalDep,
    limiter: LimiterDep,
    response: Response,
) -> InterestPublic:
    """Tell the publisher you are interested, with a short message and how to reach you;
    repeating it changes nothing (after withdrawing, it is new interest again)."""
    limiter.hit_organisation(Rule.interest, principal)
    interest, created = service.express_interest(
        session, listing=listing, data=data, principal=principal
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return service.interest_public(session, interest)


@router.get("/interests", tags=["leads"], responses=error_responses(401))
def my_interests(session: SessionDep, principal: PrincipalDep) -> InterestsPublic:
    """The interest your organisation expressed, with the status each city gave it."""
    interests = service.interests_of(session, principal=principal)
    return InterestsPublic(
        data=[service.interest_public(session, i) for i in interests], count=len(interests)
    )


@router.post(
    "/interests/{interest_id}/withdrawal", tags=["leads"], responses=error_responses(401, 404)
)
@writes
def withdraw_interest(
    interest_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    session: SessionDep,
    principal: PrincipalDep,
) -> InterestPublic:
    """Take your interest back: the city sees it withdrawn."""
    interest = service.withdraw_interest(session, interest_id=interest_id, principal=principal)
    return service.interest_public(session, interest)


@router.get("/leads", tags=["leads"], responses=error_responses(401, 403))
def list_leads(session: SessionDep, principal: PublisherDep) -> LeadsPublic:
    """Investors interested in your listings."""
    leads = service.list_leads(session, principal=principal)
    return LeadsPublic(
        data=[service.lead_public(session, lead) for lead in leads], count=len(leads)
    )


@router.patch("/leads/{lead_id}", tags=["leads"], responses=error_responses(401, 403, 404, 422))
@writes
def update_lead(
    lead_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    data: LeadUpdate,
    session: SessionDep,
    principal: PublisherDep,
) -> LeadPublic:
    """Move a lead along: contacted, meeting, letter of intent, won or lost."""
    interest = service.update_lead(session, lead_id=lead_id, data=data, principal=principal)
    return service.lead_public(session, interest)
