"""The investor's workplace: joining, the profile (with a live count of what passes its
hard limits), matches with reasons and what would widen them, and interest expressed in
one click, followed and taken back."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from babel import Locale
from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from api import i18n
from api.deps import (
    JobsDep,
    LimiterDep,
    PasswordsDep,
    ScoringDep,
    SessionDep,
    SettingsDep,
    StoreDep,
    run_db,
    writes,
)
from api.errors import Rejected
from api.i18n import Lang
from api.portal.choices import province_choices, sector_choices
from api.portal.profile_form import LISTS, TEXTS, ProfileForm
from api.portal.rendering import (
    CSRF_FIELD,
    PortalInvestor,
    PortalPrincipal,
    check_csrf,
    csrf_token,
    page,
    render,
)
from api.portal.signin import start_session
from api.routes.accounts import client_address
from catalog import service as catalog_service
from catalog.accounts import mail as account_mail
from catalog.accounts import service as accounts
from catalog.accounts.models import Person
from catalog.models import Organisation
from catalog.taxonomy import (
    MODEL_LABELS,
    REGION_LABELS,
    STAGE_LABELS,
    InvestmentModel,
    Region,
    Stage,
)
from core.errors import AppError, Conflict, NotFound, PreconditionFailed
from core.principal import Principal, Role
from core.ratelimit import Rule
from core.schemas import reason_of
from core.settings import ScoringSettings
from matching import ranking, widening
from matching import service as matching
from matching.matrix import MatrixStore
from matching.models import InvestorProfile
from matching.schemas import (
    InterestCreate,
    InvestorRegistration,
    InvestorType,
    MatchFilters,
)

router = APIRouter()

LANGUAGES = ("th", "en", "zh", "ja", "ko", "ms", "vi", "id", "de", "fr", "ar", "hi")
PAGE_SIZE = 10
REGISTRATION_FIELDS = (
    "organisation_name",
    "investor_type",
    "home_country",
    "name",
    "email",
    "password",
)


def countries(lang: Lang) -> list[tuple[str, str]]:
    """Every country Babel names in the reader's language, by name."""
    names = Locale.parse(lang.value).territories
    return sorted(
        ((code, name) for code, name in names.items() if len(code) == 2 and code.isalpha()),
        key=lambda item: item[1],
    )


def language_names(lang: Lang) -> list[tuple[str, str]]:
    names = Locale.parse(lang.value).languages
    return [(code, names.get(code, code)) for code in LANGUAGES]


def _choices(request: Request) -> dict[str, Any]:
    """What the forms offer, in the reader's language."""
    lang = i18n.choose_language(request)
    return {
        "investor_types": [(t.value, f"investor_type_{t.value}") for t in InvestorType],
        "countries": countries(lang),
        "languages": language_names(lang),
        "sectors": sector_choices(lang),
        "regions": [(r.value, i18n.pick(REGION_LABELS[r], lang)) for r in Region],
        "models": [(m.value, i18n.pick(MODEL_LABELS[m], lang)) for m in InvestmentModel],
        "stages": [(s.value, i18n.pick(STAGE_LABELS[s], lang)) for s in Stage],
    }


# --- joining ------------------------------------------------------------------------------


def _register_page(
    request: Request,
    principal: Principal | None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "register.html",
        {
            "values": values or {"home_country": "TH"},
            "errors": errors or {},
            "csrf": csrf_token(request),
            **_choices(request),
        },
        status_code=status_code,
        principal=principal,
    )


@router.get("/register", response_class=HTMLResponse)
def register_form(request: Request, principal: PortalPrincipal) -> HTMLResponse:
    return _register_page(request, principal)


@router.post("/register", response_class=HTMLResponse, response_model=None)
@writes
def register(
    request: Request,
    session: SessionDep,
    jobs: JobsDep,
    passwords: PasswordsDep,
    settings: SettingsDep,
    csrf_token_sent: Annotated[str, Form(max_length=100, alias=CSRF_FIELD)],
    organisation_name: Annotated[str, Form(max_length=400)] = "",
    investor_type: Annotated[str, Form(max_length=40)] = "",
    home_country: Annotated[str, Form(max_length=10)] = "",
    name: Annotated[str, Form(max_length=400)] = "",
    email: Annotated[str, Form(max_length=400)] = "",
    password: Annotated[str, Form(max_length=400)] = "",
    password_again: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    check_csrf(request, csrf_token_sent)
    lang = i18n.choose_language(request)
    typed = {
        "organisation_name": organisation_name,
        "investor_type": investor_type,
        "home_country": home_country,
        "name": name,
        "email": email,
    }
    errors: dict[str, str] = {}
    data = None
    try:
        data = InvestorRegistration(
            **typed, password=password, languages=[lang.value, *({"en"} - {lang.value})]
        )
    except ValidationError as exc:
        for error in exc.errors():
            where = str(error["loc"][0]) if error["loc"] else "form"
            errors.setdefault(where, "bad_email" if where == "email" else reason_of(error["type"]))
    if password != password_again:
        errors.setdefault("password_again", "passwords_differ")
    if errors or data is None:
        return _register_page(request, None, typed, errors, status_code=422)
    try:
        person, _profile = matching.register_investor(session, data=data, passwords=passwords)
    except Conflict:
        raise Rejected(
            _register_page(request, None, typed, {"email": "email_taken"}, status_code=409)
        ) from None
    account_mail.confirm_by_mail(
        session, person, jobs=jobs, base_url=str(request.base_url), settings=settings.accounts
    )
    signed_in = accounts.start_session(
        session, person, address=client_address(request), settings=settings.accounts
    )
    start_session(request, token=signed_in.token)
    return RedirectResponse("/investor/profile?notice=welcome", status_code=303)


@router.get("/verify-email/{token}", response_class=HTMLResponse, response_model=None)
@writes
def confirm_email(
    request: Request, session: SessionDep, principal: PortalPrincipal, token: str
) -> Response:
    """The link mailed at registration: following it confirms the address."""
    if len(token) > 100:
        raise NotFound("this link is not valid", field="token")
    accounts.confirm_email(session, token=token)
    return render(request, "email_confirmed.html", {}, principal=principal)


# --- home -----------------------------------------------------------------------------------


def _profile_of(session: Session, principal: Principal) -> InvestorProfile:
    profile = matching.first_profile_of(session, organisation_id=principal.organisation_id)
    if profile is None:
        raise NotFound("your organisation keeps no investor profile", field="investor")
    return profile


@router.get("/investor", response_class=HTMLResponse)
@page(worker_thread_for=lambda _principal: True)
def investor_home(
    request: Request,
    session: SessionDep,
    principal: PortalInvestor,
    store: StoreDep,
    settings: ScoringDep,
) -> HTMLResponse:
    profile = _profile_of(session, principal)
    matches = ranking.match_listings(
        session, matrix=store.matrix(session), fields=profile, settings=settings, k=5
    )
    interests = matching.interests_of(session, principal=principal)[:5]
    return render(
        request,
        "investor_home.html",
        {
            "profile": profile,
            "matches": matches,
            "interests": [matching.interest_public(session, i) for i in interests],
            "standing": _standing(session, principal),
        },
        principal=principal,
    )


def _standing(session: Session, principal: Principal) -> dict[str, bool]:
    """What still waits: the organisation's verification, the person's address."""
    organisation = session.get(Organisation, principal.organisation_id)
    person = session.get(Person, principal.person_id) if principal.person_id else None
    return {
        "verified": organisation is not None and organisation.verified_at is not None,
        "email_confirmed": person is None or person.email_verified_at is not None,
    }


# --- the profile --------------------------------------------------------------------------


def _counts(
    session: Session,
    store: MatrixStore,
    settings: ScoringSettings,
    profile: InvestorProfile | Any,
    min_score: float,
) -> dict[str, int]:
    """Published listings that pass the profile's hard limits, and those that score."""
    matrix = store.matrix(session)
    prefs = ranking.preferences(profile)
    everything = np.ones(len(matrix), dtype=np.bool_)
    return {
        "passing": widening.count_matches(
            matrix, prefs, settings, candidates=everything, min_score=0
        ),
        "matching": widening.count_matches(
            matrix, prefs, settings, candidates=everything, min_score=min_score
        ),
    }


def _profile_page(
    request: Request,
    session: Session,
    principal: Principal,
    profile: InvestorProfile,
    form: ProfileForm,
    counts: dict[str, int] | None,
    *,
    version: int,
    status_code: int = 200,
    notice: str | None = None,
    settings: ScoringSettings,
) -> HTMLResponse:
    lang = i18n.choose_language(request)
    return render(
        request,
        "investor_profile.html",
        {
            "profile": profile,
            "form": form,
            "version": version,
            "counts": counts,
            "threshold": settings.match_threshold,
            "notice": notice or request.query_params.get("notice"),
            "standing": _standing(session, principal),
            "csrf": csrf_token(request),
            "provinces": province_choices(session, lang),
            **_choices(request),
        },
        status_code=status_code,
        principal=principal,
    )


def _lists(request_form: Any) -> dict[str, list[str]]:
    return {name: [str(v) for v in request_form.getlist(name)] for name in LISTS}


@router.get("/investor/profile", response_class=HTMLResponse)
@page(worker_thread_for=lambda _principal: True)
def profile_form(
    request: Request,
    session: SessionDep,
    principal: PortalInvestor,
    store: StoreDep,
    settings: ScoringDep,
) -> HTMLResponse:
    profile = _profile_of(session, principal)
    counts = _counts(
        session, store, settings, profile, ranking.minimum_score(profile, settings, None)
    )
    return _profile_page(
        request,
        session,
        principal,
        profile,
        ProfileForm.of(profile),
        counts,
        version=profile.version,
        settings=settings,
    )


@router.post("/investor/profile", response_class=HTMLResponse, response_model=None)
@writes
async def save_profile(
    request: Request,
    session: SessionDep,
    principal: PortalInvestor,
    store: StoreDep,
    settings: ScoringDep,
) -> Response:
    posted = await request.form()
    check_csrf(request, str(posted.get(CSRF_FIELD, "")))
    form = ProfileForm.posted(posted, _lists(posted))
    action = str(posted.get("action", "save"))
    version_sent = str(posted.get("version", ""))
    return await run_db(
        session,
        _save_profile,
        request,
        session,
        principal,
        store,
        settings,
        form,
        action,
        version_sent,
    )


def _save_profile(
    request: Request,
    session: Session,
    principal: Principal,
    store: MatrixStore,
    settings: ScoringSettings,
    form: ProfileForm,
    action: str,
    version_sent: str,
) -> Response:
    profile = _profile_of(session, principal)
    version = int(version_sent) if version_sent.isdigit() else 0
    update = form.update()

    def again(status_code: int, notice: str | None = None, new_version: int = version) -> Response:
        counts = None
        if update is not None:
            candidate = ranking_fields(profile, update)
            counts = _counts(
                session,
                store,
                settings,
                candidate,
                ranking.minimum_score(candidate, settings, None),
            )
        return _profile_page(
            request,
            session,
            principal,
            profile,
            form,
            counts,
            version=new_version,
            status_code=status_code,
            notice=notice,
            settings=settings,
        )

    if update is None:
        raise Rejected(again(422))
    if action == "count":
        return again(200)
    try:
        matching.update_profile(
            session, profile=profile, data=update, expected_version=version, principal=principal
        )
    except PreconditionFailed:
        # Someone saved meanwhile: keep what was typed, say so; saving again is a choice.
        session.rollback()
        current = _profile_of(session, principal)
        raise Rejected(
            again(412, notice="profile_changed_meanwhile", new_version=current.version)
        ) from None
    except AppError as exc:
        form.errors[exc.field or "form"] = "bad_value"
        raise Rejected(again(422)) from None
    return RedirectResponse("/investor/profile?notice=saved", status_code=303)


class _Candidate:
    """The stored profile with the posted changes laid over it, for counting only."""

    def __init__(self, profile: InvestorProfile, changes: dict[str, Any]) -> None:
        self._profile = profile
        self._changes = changes

    def __getattr__(self, name: str) -> Any:
        if name in self._changes:
            return self._changes[name]
        return getattr(self._profile, name)


def ranking_fields(profile: InvestorProfile, update: Any) -> Any:
    return _Candidate(profile, update.model_dump(exclude_unset=True, mode="json"))


@router.get("/investor/profile/count")
async def count_for_form(
    request: Request,
    session: SessionDep,
    principal: PortalInvestor,
    store: StoreDep,
    settings: ScoringDep,
) -> Response:
    """The live count beside the form: listings passing the limits as typed so far."""
    params = request.query_params
    form = ProfileForm.posted(params, {name: params.getlist(name) for name in LISTS})

    def work() -> Response:
        profile = _profile_of(session, principal)
        stored = ProfileForm.of(profile).values
        # Only what shapes the count need be sent; the rest is as stored.
        form.values |= {name: stored[name] for name in TEXTS if name not in params}
        update = form.update()
        if update is None:
            return JSONResponse({"errors": form.errors}, status_code=422)
        candidate = ranking_fields(profile, update)
        counts = _counts(
            session, store, settings, candidate, ranking.minimum_score(candidate, settings, None)
        )
        lang = i18n.choose_language(request)
        return JSONResponse(counts | {"text": i18n.say("live_count", lang, **counts)})

    return await run_db(session, work)


# --- matches --------------------------------------------------------------------------------


@router.get("/investor/matches", response_class=HTMLResponse)
@page(worker_thread_for=lambda _principal: True)
def my_matches(
    request: Request,
    session: SessionDep,
    principal: PortalInvestor,
    store: StoreDep,
    settings: ScoringDep,
    kind: Annotated[str | None, Query(max_length=20)] = None,
    sector: Annotated[str | None, Query(max_length=60)] = None,
    province: Annotated[str | None, Query(max_length=2)] = None,
    min_score: Annotated[str | None, Query(max_length=6)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> HTMLResponse:
    profile = _profile_of(session, principal)
    asked = {
        "kind": kind or None,
        "sector": sector or None,
        "province": province or None,
        "min_score": min_score or None,
        "offset": offset,
        "k": PAGE_SIZE,
    }
    errors: dict[str, str] = {}
    try:
        filters = MatchFilters.model_validate(asked)
    except ValidationError as exc:
        for error in exc.errors():
            errors[str(error["loc"][0])] = reason_of(error["type"])
        filters = MatchFilters.model_validate({k: v for k, v in asked.items() if k not in errors})
    result = ranking.match_listings(
        session,
        matrix=store.matrix(session),
        fields=profile,
        settings=settings,
        widen=True,
        **filters.model_dump(mode="json", exclude={"widen", "explain"}),
    )
    lang = i18n.choose_language(request)
    return render(
        request,
        "investor_matches.html",
        {
            "profile": profile,
            "result": result,
            "filters": filters,
            "typed": {k: ("" if v is None else str(v)) for k, v in asked.items()},
            "errors": errors,
            "page": offset // PAGE_SIZE + 1,
            "pages": max(1, -(-result.count // PAGE_SIZE)),
            "page_size": PAGE_SIZE,
            "provinces": province_choices(session, lang),
            **_choices(request),
        },
        status_code=200,
        principal=principal,
    )


# --- interest -------------------------------------------------------------------------------


@router.get("/investor/interests", response_class=HTMLResponse)
@page()
def my_interests(request: Request, session: SessionDep, principal: PortalInvestor) -> HTMLResponse:
    interests = matching.interests_of(session, principal=principal)
    return render(
        request,
        "investor_interests.html",
        {
            "interests": [matching.interest_public(session, i) for i in interests],
            "notice": request.query_params.get("notice"),
            "csrf": csrf_token(request),
        },
        principal=principal,
    )


@router.post("/listings/{slug}/interest", response_model=None)
@writes
def express_interest(
    request: Request,
    session: SessionDep,
    principal: PortalInvestor,
    limiter: LimiterDep,
    slug: str,
    csrf_token_sent: Annotated[str, Form(max_length=100, alias=CSRF_FIELD)],
    message: Annotated[str, Form(max_length=4_000)] = "",
    contact: Annotated[str, Form(max_length=600)] = "",
) -> Response:
    check_csrf(request, csrf_token_sent)
    limiter.hit_organisation(Rule.interest, principal)
    listing = catalog_service.find_listing(session, ref=slug, viewer=principal)
    try:
        data = InterestCreate(message=message, contact=contact)
    except ValidationError as exc:
        field = str(exc.errors()[0]["loc"][0])
        return RedirectResponse(
            f"/listings/{listing.slug}?interest_error={field}#interest", status_code=303
        )
    matching.express_interest(session, listing=listing, data=data, principal=principal)
    return RedirectResponse(
        f"/listings/{listing.slug}?notice=interest_sent#interest", status_code=303
    )


@router.post("/investor/interests/{interest_id}/withdraw", response_model=None)
@writes
def withdraw(
    request: Request,
    session: SessionDep,
    principal: PortalInvestor,
    interest_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    csrf_token_sent: Annotated[str, Form(max_length=100, alias=CSRF_FIELD)],
) -> Response:
    check_csrf(request, csrf_token_sent)
    matching.withdraw_interest(session, interest_id=interest_id, principal=principal)
    return RedirectResponse("/investor/interests?notice=interest_withdrawn", status_code=303)


def interest_on(
    session: Session, principal: Principal | None, listing_id: int
) -> dict[str, Any] | None:
    """For the pitch page: the investor's interest in the listing, and how it would reach
    them (their address, to start the form with)."""
    if principal is None or principal.role is not Role.investor:
        return None
    mine = next(
        iter(matching.interests_of(session, principal=principal, listing_id=listing_id)), None
    )
    person = session.get(Person, principal.person_id) if principal.person_id else None
    return {
        "interest": matching.interest_public(session, mine) if mine else None,
        "contact": person.email if person else "",
    }
