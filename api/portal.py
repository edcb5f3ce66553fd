"""The portal: server-rendered pages in Thai and English over the same services as the API.

Every page state is a plain URL. Publishers sign in with their API key; the session
cookie is signed and holds only the key's id, so any app process can serve any request.
"""

from __future__ import annotations

import hmac
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote_plus

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from api import i18n
from api.auth import principal_for_key_id, resolve_key
from api.deps import SearchDep, SessionDep, run_db, run_search, sync_search_after_commit
from api.i18n import Lang
from catalog import service as catalog_service
from catalog.models import City, Listing
from catalog.schemas import ListingUpdate, OwnListingFilters, SearchParams
from catalog.search.base import SearchIndex
from catalog.taxonomy import (
    KIND_LABELS,
    MODEL_LABELS,
    SECTOR_LABELS,
    STAGE_LABELS,
    CheckpointStatus,
    InvestmentModel,
    ListingKind,
    ListingStatus,
    Sector,
    Stage,
)
from core.errors import AppError, Unauthorized
from core.principal import Principal, Role
from core.settings import PROJECT_ROOT
from matching import service as matching_service
from matching.models import InvestorProfile
from matching.pitchday import service as pitchday_service
from matching.pitchday.models import PitchEvent
from matching.pitchday.schemas import DEFAULT_MIN_SCORE, slot_start
from matching.routes import ScoringDep, StoreDep
from matching.schemas import ProfileFit
from matching.scoring import ScoringSettings
from matching.service import MatrixStore

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(PROJECT_ROOT / "templates"))
CSRF_FIELD = "csrf_token"
SESSION_KEY = "api_key_id"
# Where a signed-in key lands: publishers manage listings, organisers their pitch days,
# investors browse the catalogue (pitch pages then show their fit).
HOME_BY_ROLE = {
    Role.publisher: "/dashboard",
    Role.admin: "/dashboard",
    Role.organiser: "/events",
    Role.investor: "/",
}


class PortalSearch(SearchParams):
    """The catalogue page's query: the search API's parameters, the language, and any
    other parameter a shared link may carry (ignored)."""

    model_config = ConfigDict(extra="ignore")

    lang: Lang | None = None


async def _principal(request: Request, session: SessionDep) -> Principal | None:
    # Async so that an anonymous visitor (most of them) costs no trip to a worker thread.
    key_id = request.session.get(SESSION_KEY)
    if not isinstance(key_id, int):
        return None
    return await run_db(session, principal_for_key_id, session, key_id)


PortalPrincipal = Annotated[Principal | None, Depends(_principal)]


def _csrf_token(request: Request) -> str:
    token = request.session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[CSRF_FIELD] = token
    return token


def _check_csrf(request: Request, submitted: str) -> None:
    expected = request.session.get(CSRF_FIELD)
    if not isinstance(expected, str) or not hmac.compare_digest(expected, submitted):
        raise AppError("the form has expired; reload the page and try again", field="csrf")


def _link_maker(request: Request) -> Callable[..., str]:
    """``url(**changes)``: the current URL with some query parameters changed (None or ""
    removes one). Each parameter is encoded once per page, not once per link: a catalogue
    page has dozens of facet links."""
    path = request.url.path
    encoded = {
        name: f"{quote_plus(name)}={quote_plus(value)}"
        for name, value in request.query_params.items()
    }

    def url(**changes: Any) -> str:
        pairs = dict(encoded)
        for name, value in changes.items():
            if value is None or value == "":
                pairs.pop(name, None)
            else:
                pairs[name] = f"{quote_plus(name)}={quote_plus(str(value))}"
        return f"{path}?{'&'.join(pairs.values())}" if pairs else path

    return url


@dataclass(frozen=True, slots=True)
class FacetOption:
    value: str
    label: str
    count: int
    href: str  # the page with this value chosen, or unchosen when it is the current one
    selected: bool


@dataclass(frozen=True, slots=True)
class Facet:
    name: str
    title: str
    options: list[FacetOption]


def _facets(
    request: Request,
    params: SearchParams,
    counts: dict[str, dict[str, int]],
    labellers: dict[str, Callable[[str], str]],
    lang: Lang,
) -> list[Facet]:
    """The catalogue's facet links, built here rather than in the template: a page has
    dozens of them and Python builds each link several times faster than Jinja."""
    path = request.url.path
    facets = []
    for name, label in labellers.items():
        if not counts.get(name):
            continue
        kept = "&".join(
            f"{quote_plus(key)}={quote_plus(value)}"
            for key, value in request.query_params.items()
            if key not in (name, "offset")
        )
        prefix = f"{path}?{kept}&" if kept else f"{path}?"
        current = getattr(params, name)
        options = []
        for value, count in sorted(counts[name].items(), key=lambda item: (-item[1], item[0])):
            selected = current == value
            href = (
                (f"{path}?{kept}" if kept else path)
                if selected
                else (f"{prefix}{quote_plus(name)}={quote_plus(value)}")
            )
            options.append(FacetOption(value, label(value), count, href, selected))
        facets.append(Facet(name, i18n.translate(name, lang), options))
    return facets


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    principal: Principal | None = None,
) -> HTMLResponse:
    lang = i18n.choose_language(request)
    base = {
        "lang": lang,
        "other_lang": Lang.en if lang is Lang.th else Lang.th,
        "t": lambda key, **values: i18n.translate(key, lang, **values),
        "pick": lambda label: i18n.pick(label, lang),
        "text": lambda th, en: i18n.text_in(th, en, lang),
        "thb": lambda amount: i18n.thb(amount, lang),
        "thb_range": lambda low, high: i18n.thb_range(low, high, lang),
        "long_date": lambda value: i18n.long_date(value, lang),
        "url": _link_maker(request),
        "sector_label": lambda s: i18n.pick(SECTOR_LABELS[Sector(s)], lang),
        "stage_label": lambda s: i18n.pick(STAGE_LABELS[Stage(s)], lang),
        "model_label": lambda m: i18n.pick(MODEL_LABELS[InvestmentModel(m)], lang),
        "kind_label": lambda k: i18n.pick(KIND_LABELS[ListingKind(k)], lang),
        "principal": principal,
        "request": request,
    }
    response = templates.TemplateResponse(
        request, template, base | context, status_code=status_code
    )
    chosen = request.query_params.get("lang")
    if chosen in Lang.__members__ and request.cookies.get(i18n.LANG_COOKIE) != chosen:
        response.set_cookie(i18n.LANG_COOKIE, lang.value, max_age=365 * 86400, samesite="lax")
    return response


def render_error(request: Request, status_code: int, message: str) -> HTMLResponse:
    return render(request, "error.html", {"message": message}, status_code=status_code)


# --- public pages ------------------------------------------------------------------------


# The public pages are async and hand their work to ``run_db`` (``run_search``): reading
# SQLite (and the embedded index) it runs in place rather than in a worker thread.


@router.get("/", response_class=HTMLResponse)
async def catalogue(
    request: Request,
    session: SessionDep,
    index: SearchDep,
    params: Annotated[PortalSearch, Query()],
    principal: PortalPrincipal,
) -> HTMLResponse:
    return await run_search(session, index, _catalogue, request, session, index, params, principal)


def _catalogue(
    request: Request,
    session: Session,
    index: SearchIndex,
    params: PortalSearch,
    principal: Principal | None,
) -> HTMLResponse:
    result = catalog_service.search_catalogue(session, index=index, params=params)
    provinces, cities = catalog_service.place_names(session)
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
            "facets": _facets(request, params, result.facets, labellers, lang),
            "page": params.offset // params.limit + 1,
            "pages": pages,
            "sorts": ["relevance", "newest", "capital_asc", "capital_desc"],
        },
        principal=principal,
    )


@router.get("/listings/{slug}", response_class=HTMLResponse)
async def pitch_page(
    slug: str,
    request: Request,
    session: SessionDep,
    principal: PortalPrincipal,
    store: StoreDep,
    settings: ScoringDep,
) -> HTMLResponse:
    args = (slug, request, session, principal, store, settings)
    if principal is not None and principal.role is Role.investor:
        # Its match may rebuild the catalogue matrix (seconds at 100,000 listings): that
        # must not hold up the event loop, whatever the database.
        return await run_in_threadpool(_pitch_page, *args)
    return await run_db(session, _pitch_page, *args)


def _pitch_page(
    slug: str,
    request: Request,
    session: Session,
    principal: Principal | None,
    store: MatrixStore,
    settings: ScoringSettings,
) -> HTMLResponse:
    listing = catalog_service.find_public_listing(session, ref=slug, viewer=principal)
    return render(
        request,
        "listing.html",
        {
            "listing": listing,
            "related": catalog_service.published_summaries(
                session, catalog_service.related_listing_ids(session, listing=listing)
            ),
            "fit": _investor_fit(session, slug, principal, store, settings),
        },
        principal=principal,
    )


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
    profile = session.exec(
        select(InvestorProfile)
        .where(InvestorProfile.organisation_id == principal.organisation_id)
        .order_by(col(InvestorProfile.id))
    ).first()
    if profile is None:
        return None
    return matching_service.fit_for_listing(
        session,
        listing=catalog_service.find_listing(session, ref=slug, viewer=principal),
        profile=profile,
        catalogue=store.matrix(session),
        settings=settings,
    )


@router.get("/cities/{slug}", response_class=HTMLResponse)
async def city_page(
    slug: str, request: Request, session: SessionDep, principal: PortalPrincipal
) -> HTMLResponse:
    return await run_db(session, _city_page, slug, request, session, principal)


def _city_page(
    slug: str, request: Request, session: Session, principal: Principal | None
) -> HTMLResponse:
    city = catalog_service.city_public(session, slug=slug)
    ids = [
        listing_id or 0
        for listing_id in session.exec(
            select(Listing.id)
            .join(City, col(City.id) == Listing.city_id)
            .where(City.slug == slug, Listing.status == ListingStatus.published)
            .order_by(col(Listing.kind), col(Listing.stage), col(Listing.id))
        )
    ]
    listings = catalog_service.listings_public(session, ids)
    checkpoints = Counter(c.status for listing in listings for c in listing.checkpoints)
    return render(
        request,
        "city.html",
        {
            "city": city,
            "listings": listings,
            "checkpoints": {status: checkpoints.get(status, 0) for status in CheckpointStatus},
            "kinds": list(ListingKind),
        },
        principal=principal,
    )


@router.get("/events", response_class=HTMLResponse)
async def events_page(
    request: Request, session: SessionDep, principal: PortalPrincipal
) -> HTMLResponse:
    return await run_db(session, _events_page, request, session, principal)


def _events_page(request: Request, session: Session, principal: Principal | None) -> HTMLResponse:
    events = [
        pitchday_service.event_public(session, event, principal)
        for event in pitchday_service.list_events(session)
    ]
    return render(request, "events.html", {"events": events}, principal=principal)


@router.get("/events/{slug}", response_class=HTMLResponse)
async def event_page(
    slug: str,
    request: Request,
    session: SessionDep,
    principal: PortalPrincipal,
    store: StoreDep,
    settings: ScoringDep,
) -> HTMLResponse:
    if principal is not None and principal.role in pitchday_service.ORGANISERS:
        # The organiser's view adds the shortlist, which may rebuild the catalogue matrix.
        return await run_in_threadpool(
            _organiser_event_page, slug, request, session, principal, store, settings
        )
    return await run_db(
        session, _public_event_page, slug, request, session, principal, "event.html"
    )


def _organiser_event_page(
    slug: str,
    request: Request,
    session: Session,
    principal: Principal,
    store: MatrixStore,
    settings: ScoringSettings,
) -> HTMLResponse:
    event = pitchday_service.get_event(session, slug=slug)
    if not pitchday_service.may_organise(event, principal):
        return _event_page(request, session, principal, event, "event.html")
    shortlist = pitchday_service.shortlist(
        session,
        event=event,
        principal=principal,
        catalogue=store.matrix(session),
        settings=settings,
        min_score=DEFAULT_MIN_SCORE,
    )
    extra = {"shortlist": shortlist, "csrf": _csrf_token(request), "min_score": DEFAULT_MIN_SCORE}
    return _event_page(request, session, principal, event, "event.html", extra)


@router.post("/events/{slug}/schedule", response_model=None)
def plan_meetings(
    slug: str,
    request: Request,
    session: SessionDep,
    principal: PortalPrincipal,
    store: StoreDep,
    settings: ScoringDep,
    csrf_token: Annotated[str, Form(max_length=100)],
    min_score: Annotated[float, Form(ge=0, le=100)] = DEFAULT_MIN_SCORE,
) -> Response:
    _check_csrf(request, csrf_token)
    if principal is None:
        raise Unauthorized("sign in with an organiser key", field="session")
    pitchday_service.build_schedule(
        session,
        event=pitchday_service.get_event(session, slug=slug),
        principal=principal,
        catalogue=store.matrix(session),
        settings=settings,
        min_score=min_score,
    )
    return RedirectResponse(f"/events/{slug}?notice=scheduled", status_code=303)


@router.get("/events/{slug}/booklet", response_class=HTMLResponse)
async def event_booklet(
    slug: str, request: Request, session: SessionDep, principal: PortalPrincipal
) -> HTMLResponse:
    return await run_db(
        session, _public_event_page, slug, request, session, principal, "booklet.html"
    )


def _public_event_page(
    slug: str, request: Request, session: Session, principal: Principal | None, template: str
) -> HTMLResponse:
    event = pitchday_service.get_event(session, slug=slug)
    return _event_page(request, session, principal, event, template)


def _event_page(
    request: Request,
    session: Session,
    principal: Principal | None,
    event: PitchEvent,
    template: str,
    extra: dict[str, Any] | None = None,
) -> HTMLResponse:
    """The event's page, or its printable booklet: the same event, the booklet with each
    listing in full."""
    public = pitchday_service.event_public(session, event, principal)
    context: dict[str, Any] = {
        "event": public,
        "meetings": {(m.slot, m.listing_slug): m for m in public.meetings},
        "slot_time": lambda slot: slot_start(public.first_slot, public.slot_minutes, slot),
        "notice": request.query_params.get("notice"),
        "shortlist": None,
    } | (extra or {})
    if template == "booklet.html":
        ids = [listing.id for listing in public.listings]
        context["listings"] = catalog_service.listings_public(session, ids)
    return render(request, template, context, principal=principal)


# --- publisher pages ---------------------------------------------------------------------


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request, principal: PortalPrincipal) -> HTMLResponse:
    return render(
        request, "signin.html", {"csrf": _csrf_token(request), "error": None}, principal=principal
    )


@router.post("/signin", response_class=HTMLResponse, response_model=None)
def signin(
    request: Request,
    session: SessionDep,
    api_key: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form(max_length=100)],
) -> Response:
    _check_csrf(request, csrf_token)
    try:
        principal = resolve_key(session, api_key.strip())
    except Unauthorized as exc:
        return render(
            request,
            "signin.html",
            {"csrf": _csrf_token(request), "error": exc.message},
            status_code=401,
        )
    request.session[SESSION_KEY] = principal.api_key_id
    request.session[CSRF_FIELD] = secrets.token_urlsafe(32)  # a new session, a new token
    return RedirectResponse(HOME_BY_ROLE[principal.role], status_code=303)


@router.post("/signout", response_model=None)
def signout(request: Request, csrf_token: Annotated[str, Form(max_length=100)]) -> Response:
    _check_csrf(request, csrf_token)
    request.session.clear()
    return RedirectResponse("/", status_code=303)


async def _publisher(principal: PortalPrincipal) -> Principal:
    if principal is None or principal.role not in (Role.publisher, Role.admin):
        raise Unauthorized("sign in with a publisher key", field="session")
    return principal


PortalPublisher = Annotated[Principal, Depends(_publisher)]


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, session: SessionDep, principal: PortalPublisher) -> HTMLResponse:
    ids, _ = catalog_service.list_own(
        session, principal=principal, filters=OwnListingFilters(limit=100)
    )
    leads = [
        matching_service.lead_public(session, lead)
        for lead in matching_service.list_leads(session, principal=principal)
    ]
    return render(
        request,
        "dashboard.html",
        {
            "listings": catalog_service.listings_public(session, ids),
            "leads": leads,
            "csrf": _csrf_token(request),
            "notice": request.query_params.get("notice"),
        },
        principal=principal,
    )


def _own_listing(session: SessionDep, slug: str, principal: Principal) -> Listing:
    listing = catalog_service.find_listing(session, ref=slug, viewer=principal)
    catalog_service.ensure_can_edit(listing, principal)
    return listing


@router.get("/dashboard/listings/{slug}/edit", response_class=HTMLResponse)
def edit_form(
    slug: str, request: Request, session: SessionDep, principal: PortalPublisher
) -> HTMLResponse:
    listing = _own_listing(session, slug, principal)
    return _edit_page(request, session, listing, principal)


def _edit_page(
    request: Request,
    session: SessionDep,
    listing: Listing,
    principal: Principal,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    """The edit form: the stored listing, or the values just sent with their errors."""
    return render(
        request,
        "edit_listing.html",
        {
            "listing": catalog_service.listing_public(session, listing.id or 0),
            "values": values,
            "errors": errors or {},
            "csrf": _csrf_token(request),
            "stages": list(Stage),
        },
        status_code=422 if errors else 200,
        principal=principal,
    )


EDITABLE = (
    "title_th",
    "title_en",
    "summary_th",
    "summary_en",
    "description_th",
    "description_en",
    "stage",
    "capital_min_thb",
    "capital_max_thb",
)


class ListingForm(BaseModel):
    """The edit form as posted: raw strings, validated by ``ListingUpdate`` afterwards so
    that a bad value is shown next to its field rather than as an error page."""

    model_config = ConfigDict(extra="ignore")

    csrf_token: Annotated[str, Field(max_length=100)] = ""
    version: Annotated[int, Field(ge=0)] = 0
    title_th: Annotated[str, Field(max_length=25_000)] = ""
    title_en: Annotated[str, Field(max_length=25_000)] = ""
    summary_th: Annotated[str, Field(max_length=25_000)] = ""
    summary_en: Annotated[str, Field(max_length=25_000)] = ""
    description_th: Annotated[str, Field(max_length=25_000)] = ""
    description_en: Annotated[str, Field(max_length=25_000)] = ""
    stage: Annotated[str, Field(max_length=40)] = ""
    capital_min_thb: Annotated[str, Field(max_length=40)] = ""
    capital_max_thb: Annotated[str, Field(max_length=40)] = ""


@router.post(
    "/dashboard/listings/{slug}/edit",
    response_class=HTMLResponse,
    response_model=None,
    dependencies=[Depends(sync_search_after_commit)],
)
def edit_listing(
    slug: str,
    request: Request,
    session: SessionDep,
    principal: PortalPublisher,
    form: Annotated[ListingForm, Form()],
) -> Response:
    _check_csrf(request, form.csrf_token)
    listing = _own_listing(session, slug, principal)
    values = form.model_dump(include=set(EDITABLE))
    errors: dict[str, str] = {}
    try:
        data = ListingUpdate.model_validate(values)
        catalog_service.update_listing(
            session,
            listing=listing,
            data=data,
            expected_version=form.version,
            principal=principal,
        )
    except ValidationError as exc:
        errors = {str(e["loc"][0]): e["msg"] for e in exc.errors()}
    except AppError as exc:
        errors = {exc.field or "form": exc.message}
    if errors:
        session.rollback()  # nothing of a rejected edit may be committed
        return _edit_page(request, session, listing, principal, values, errors)
    return RedirectResponse("/dashboard?notice=saved", status_code=303)


@router.post(
    "/dashboard/listings/{slug}/publish",
    response_model=None,
    dependencies=[Depends(sync_search_after_commit)],
)
def publish(
    slug: str,
    request: Request,
    session: SessionDep,
    principal: PortalPublisher,
    csrf_token: Annotated[str, Form(max_length=100)],
    version: Annotated[int, Form(ge=1)],
) -> Response:
    _check_csrf(request, csrf_token)
    listing = _own_listing(session, slug, principal)
    catalog_service.publish_listing(
        session, listing=listing, principal=principal, expected_version=version
    )
    return RedirectResponse("/dashboard?notice=published_now", status_code=303)
