"""Pages for every reader: the catalogue with search and facets, pitch pages, cities."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from pydantic import ConfigDict, TypeAdapter, ValidationError
from sqlmodel import Session

from api import i18n
from api.deps import (
    QueryEmbedderDep,
    ScoringDep,
    SearchDep,
    SessionDep,
    SettingsDep,
    StoreDep,
    TallyDep,
)
from api.i18n import Lang
from api.portal import investor as investor_pages
from api.portal.event_day import checkpoint_evidence
from api.portal.maps import map_view
from api.portal.rendering import PortalPrincipal, facets, page, render
from catalog import browse, geography, maps, readmodel
from catalog import service as catalog_service
from catalog.analytics import Activity
from catalog.schemas import ListingPublic, SearchParams, Thb
from catalog.search import documents
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
from core.errors import NotFound
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


TICKET = ("capital_min", "capital_max")
FILTERS = ("kind", "sector", "province", "city", "smart_block", "stage", "model")
_AMOUNT: TypeAdapter[int] = TypeAdapter(Thb)


@dataclass(frozen=True, slots=True)
class CatalogueQuery:
    params: PortalSearch  # what is searched
    ticket: dict[str, str]  # the ticket range as typed, for the form
    ticket_errors: dict[str, str]  # a ticket field -> the code of what is wrong with it

    @property
    def filters_on(self) -> int:
        """How many filters narrow the search (the ticket range counts as one)."""
        chosen = sum(getattr(self.params, name) is not None for name in FILTERS)
        return chosen + any(getattr(self.params, name) is not None for name in TICKET)


async def catalogue_query(request: Request) -> CatalogueQuery:
    """The catalogue's query from the URL. A ticket range with a mistake (a bound that is
    not an amount, "to" below "from") is left out of the search and named, for the page to
    explain beside its field: the rest of the search still runs. An empty box is no bound.
    Any other bad parameter is a 422, as before."""
    query = dict(request.query_params)
    ticket = {name: query.pop(name, "").strip() for name in TICKET}
    errors: dict[str, str] = {}
    bounds: dict[str, int] = {}
    for name, typed in ticket.items():
        if typed:
            try:
                bounds[name] = _AMOUNT.validate_python(typed)
            except ValidationError:
                errors[name] = "ticket_not_an_amount"
    if len(bounds) == len(TICKET) and bounds["capital_min"] > bounds["capital_max"]:
        errors["capital_max"] = "ticket_range_reversed"
    try:
        params = PortalSearch.model_validate(query | ({} if errors else bounds))
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from exc
    return CatalogueQuery(params, ticket, errors)


@router.get("/", response_class=HTMLResponse)
@page()
def catalogue(
    request: Request,
    session: SessionDep,
    index: SearchDep,
    embed: QueryEmbedderDep,
    query: Annotated[CatalogueQuery, Depends(catalogue_query)],
    principal: PortalPrincipal,
    tally: TallyDep,
    settings: SettingsDep,
) -> HTMLResponse:
    params = query.params
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
            "query_names": ["q", *FILTERS, *TICKET],  # what a form carries on
            "ticket": query.ticket,
            "ticket_errors": query.ticket_errors,
            "filters_on": query.filters_on,
            "place_map": map_view(
                maps.mapped_cities(session, [hit.listing.id for hit in result.hits]),
                lang,
                settings,
            ),
        },
        principal=principal,
        # A mistaken ticket range is bad input even though the rest of the search ran.
        status_code=422 if query.ticket_errors else 200,
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
    app_settings: SettingsDep,
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
            "my_interest": investor_pages.interest_on(session, principal, listing.id),
            "pitch_evidence": checkpoint_evidence(
                request, session, [(listing.slug, c.months, c.due_on) for c in listing.checkpoints]
            ),
            "place_map": map_view(
                maps.mapped_cities(session, [listing.id], boundaries=True),
                i18n.choose_language(request),
                app_settings,
            ),
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
    slug: str,
    request: Request,
    session: SessionDep,
    principal: PortalPrincipal,
    settings: SettingsDep,
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
            "place_map": map_view(
                maps.mapped_cities(session, [listing.id for listing in listings], boundaries=True),
                i18n.choose_language(request),
                settings,
            ),
        },
        principal=principal,
    )


@router.get("/cities", response_class=HTMLResponse)
@page()
def cities_page(request: Request, session: SessionDep, principal: PortalPrincipal) -> HTMLResponse:
    cities = geography.list_cities(session)
    return render(
        request,
        "cities.html",
        {
            # The pilot cities first, then the charter members, then any other.
            "cities": sorted(cities, key=lambda c: (not c.is_pilot, not c.is_charter_member)),
            "published": browse.published_counts_by_city(session),
        },
        principal=principal,
    )


# --- what browsers and crawlers ask every site for ----------------------------------

FAVICON = Path(__file__).resolve().parent / "static" / "favicon.svg"
# Where crawlers have nothing to read: people's own workplaces, sign-in, and the API.
PRIVATE_PATHS = (
    "/dashboard",
    "/organisation",
    "/admin",
    "/investor",
    "/feeds",
    "/signin",
    "/signout",
    "/password-reset",
    "/invitations",
    "/v1/",
)
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
XHTML_NS = "http://www.w3.org/1999/xhtml"
ET.register_namespace("", SITEMAP_NS)  # the sitemap's own elements, unprefixed
ET.register_namespace("xhtml", XHTML_NS)
# Pitch pages per sitemap file (a file may name 50,000 URLs; each page is named twice,
# in Thai and in English): small enough to build in well under a second, in a worker
# thread. With more listings, /sitemap.xml is an index of files.
SITEMAP_LISTINGS = 5_000


def _always(_principal: Principal | None) -> bool:
    return True


@router.get("/favicon.ico")
async def favicon() -> FileResponse:
    # Browsers ask for /favicon.ico whatever the page links to; the SVG serves both.
    return FileResponse(
        FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"}
    )


@router.get("/robots.txt", response_class=PlainTextResponse)
async def robots(settings: SettingsDep) -> PlainTextResponse:
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in PRIVATE_PATHS)]
    lines.append(f"Sitemap: {settings.public_url.rstrip('/')}/sitemap.xml")
    return PlainTextResponse("\n".join(lines) + "\n")


@router.get("/sitemap.xml")
@page(worker_thread_for=_always)
def sitemap(
    session: SessionDep,
    settings: SettingsDep,
    number: Annotated[int | None, Query(alias="page", ge=1, le=10_000)] = None,
) -> Response:
    """The published pitch pages (and the catalogue and city pages), each in Thai and in
    English, linked to each other; an index of such files when there are too many."""
    base = settings.public_url.rstrip("/")
    files = max(1, -(-documents.count_published(session) // SITEMAP_LISTINGS))
    if number is None and files > 1:
        return _xml(_sitemap_index(base, files))
    number = number or 1
    if number > files:
        raise NotFound(f"the sitemap has {files} page(s)", field="page")
    urlset = ET.Element(f"{{{SITEMAP_NS}}}urlset")
    if number == 1:
        for path in [
            "/",
            "/cities",
            *(f"/cities/{c.slug}" for c in geography.list_cities(session)),
        ]:
            _add_page(urlset, base + path)
    offset = (number - 1) * SITEMAP_LISTINGS
    for slug, updated_at in browse.published_slugs(session, offset=offset, limit=SITEMAP_LISTINGS):
        _add_page(urlset, f"{base}/listings/{slug}", lastmod=updated_at.date().isoformat())
    return _xml(urlset)


def _add_page(urlset: ET.Element, address: str, *, lastmod: str | None = None) -> None:
    """The page's Thai and English addresses, each naming both as alternates."""
    in_lang = {lang.value: f"{address}?lang={lang.value}" for lang in Lang}
    for own in in_lang.values():
        url = ET.SubElement(urlset, f"{{{SITEMAP_NS}}}url")
        ET.SubElement(url, f"{{{SITEMAP_NS}}}loc").text = own
        if lastmod is not None:
            ET.SubElement(url, f"{{{SITEMAP_NS}}}lastmod").text = lastmod
        for hreflang, href in in_lang.items():
            ET.SubElement(
                url,
                f"{{{XHTML_NS}}}link",
                {"rel": "alternate", "hreflang": hreflang, "href": href},
            )


def _sitemap_index(base: str, files: int) -> ET.Element:
    index = ET.Element(f"{{{SITEMAP_NS}}}sitemapindex")
    for number in range(1, files + 1):
        entry = ET.SubElement(index, f"{{{SITEMAP_NS}}}sitemap")
        ET.SubElement(entry, f"{{{SITEMAP_NS}}}loc").text = f"{base}/sitemap.xml?page={number}"
    return index


def _xml(root: ET.Element) -> Response:
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return Response(body, media_type="application/xml")
