"""Pages for every reader: the catalogue with search and facets, pitch pages, cities."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import ConfigDict
from sqlmodel import Session

from api import i18n
from api.deps import QueryEmbedderDep, ScoringDep, SearchDep, SessionDep, StoreDep, TallyDep
from api.i18n import Lang
from api.portal.rendering import PortalPrincipal, facets, page, render
from catalog import browse, geography, readmodel
from catalog import service as catalog_service
from catalog.analytics import Activity
from catalog.schemas import ListingPublic, SearchParams
from catalog.taxonomy import (
    KIND_LABELS,
    MODEL_LABELS,
    SECTOR_LABELS,
    STAGE_LABELS,
    CheckpointState,
    InvestmentModel,
    ListingKind,
    ListingStatus,
    Sector,
    Stage,
)
from core.principal import Principal, Role
from core.settings import ScoringSettings
from matching import ranking
from matching import service as matching_service
from matching.matrix import MatrixStore
from matching.schemas import ProfileFit

router = APIRouter()


class PortalSearch(SearchParams):
    """The catalogue page's query: the search API's parameters, the language, and any
    other parameter a shared link may carry (ignored)."""

    model_config = ConfigDict(extra="ignore")

    lang: Lang | None = None


@router.get("/", response_class=HTMLResponse)
@page()
def catalogue(
    request: Request,
    session: SessionDep,
    index: SearchDep,
    embed: QueryEmbedderDep,
    params: Annotated[PortalSearch, Query()],
    principal: PortalPrincipal,
    tally: TallyDep,
) -> HTMLResponse:
    result = browse.search_catalogue(session, index=index, params=params, embed=embed)
    if tally is not None and result.hits:
        tally.count([hit.listing.id for hit in result.hits], Activity.impression)
    provinces, cities = geography.place_names(session)
    lang = i18n.choose_language(request)
    labellers: dict[str, Callable[[str], str]] = {
        "kind": lambda k: i18n.pick(KIND_LABELS[ListingKind(k)], lang),
        "sector": lambda s: i18n.pick(SECTOR_LABELS[Sector(s)], lang),
        "province": lambda code: i18n.pick(provinces[code], lang) if code in provinces else code,
        "city": lambda slug: i18n.pick(cities[slug], lang) if slug in cities else slug,
        "stage": lambda s: i18n.pick(STAGE_LABELS[Stage(s)], lang),
        "model": lambda m: i18n.pick(MODEL_LABELS[InvestmentModel(m)], lang),
    }
    pages = max(1, -(-result.count // params.limit))
    return render(
        request,
        "catalogue.html",
        {
            "params": params,
            "result": result,
            "facets": facets(request, params, result.facets, labellers, lang),
            "page": params.offset // params.limit + 1,
            "pages": pages,
            "sorts": ["relevance", "newest", "capital_asc", "capital_desc"],
        },
        principal=principal,
    )


def _is_investor(principal: Principal | None) -> bool:
    # An investor's fit may rebuild the catalogue matrix (seconds at 100,000 listings).
    return principal is not None and principal.role is Role.investor


@router.get("/listings/{slug}", response_class=HTMLResponse)
@page(worker_thread_for=_is_investor)
def pitch_page(
    slug: str,
    request: Request,
    session: SessionDep,
    principal: PortalPrincipal,
    store: StoreDep,
    settings: ScoringDep,
    tally: TallyDep,
) -> HTMLResponse:
    listing = readmodel.find_public_listing(session, ref=slug, viewer=principal)
    counted = listing.status is ListingStatus.published and not _own(principal, listing)
    if tally is not None and counted:
        tally.count(listing.id, Activity.view)  # a counter in memory: no database write
    return render(
        request,
        "listing.html",
        {
            "listing": listing,
            "related": readmodel.published_summaries(
                session, readmodel.related_listing_ids(session, listing=listing)
            ),
            "fit": _investor_fit(session, slug, principal, store, settings),
        },
        principal=principal,
    )


def _own(principal: Principal | None, listing: ListingPublic) -> bool:
    """The city's own staff looking at its listing: not an audience to count."""
    return principal is not None and principal.organisation_slug == listing.organisation.slug


def _investor_fit(
    session: Session,
    slug: str,
    principal: Principal | None,
    store: MatrixStore,
    settings: ScoringSettings,
) -> ProfileFit | None:
    """How the signed-in investor's first profile fits the listing, if it has one."""
    if principal is None or principal.role is not Role.investor:
        return None
    profile = matching_service.first_profile_of(session, organisation_id=principal.organisation_id)
    if profile is None:
        return None
    return ranking.fit_for_listing(
        session,
        listing=catalog_service.find_listing(session, ref=slug, viewer=principal),
        profile=profile,
        catalogue=store.matrix(session),
        settings=settings,
    )


@router.get("/cities/{slug}", response_class=HTMLResponse)
@page()
def city_page(
    slug: str, request: Request, session: SessionDep, principal: PortalPrincipal
) -> HTMLResponse:
    city = geography.city_public(session, slug=slug)
    listings = readmodel.listings_public(session, browse.published_ids_in_city(session, slug=slug))
    checkpoints = Counter(c.state for listing in listings for c in listing.checkpoints)
    return render(
        request,
        "city.html",
        {
            "city": city,
            "listings": listings,
            "checkpoints": {state: checkpoints.get(state, 0) for state in CheckpointState},
            "kinds": list(ListingKind),
        },
        principal=principal,
    )
