"""What every portal page shares: templates and the page context, the signed-in
principal, CSRF tokens, links, and ``page``: one decorator that runs a page's work in
place or in a worker thread."""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, ParamSpec, TypeVar
from urllib.parse import quote_plus

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from api import i18n
from api.deps import SessionDep, name_actor, run_db, run_search
from api.i18n import Lang
from api.messages import MESSAGES
from api.portal.reader import Reader, remember_currency
from catalog.accounts.service import principal_for_session
from catalog.organisations import principal_for_key_id
from catalog.schemas import SearchParams
from catalog.taxonomy import (
    CHECKPOINT_LABELS,
    KIND_LABELS,
    MODEL_LABELS,
    SECTOR_LABELS,
    STAGE_LABELS,
    CheckpointState,
    InvestmentModel,
    ListingKind,
    Sector,
    Stage,
)
from core.errors import AppError, Unauthorized
from core.formatting import short_date
from core.principal import Principal, Role
from core.settings import PROJECT_ROOT
from matching.schemas import LEAD_LABELS, LeadStatus

P = ParamSpec("P")
R = TypeVar("R")

templates = Jinja2Templates(directory=str(PROJECT_ROOT / "templates"))
i18n.install(templates.env)
CSRF_FIELD = "csrf_token"
SESSION_KEY = "api_key_id"
PERSON_SESSION = "person_session"  # a person's session token; the row is the truth
HOME_BY_ROLE = {  # where each role's work starts: after sign-in, and the header's link
    Role.publisher: "/dashboard",
    Role.admin: "/admin/organisations",
    Role.organiser: "/events",
    Role.investor: "/investor",
}


async def _principal(request: Request, session: SessionDep) -> Principal | None:
    # Async so that an anonymous visitor (most of them) costs no trip to a worker thread.
    token = request.session.get(PERSON_SESSION)
    principal: Principal | None = None
    if isinstance(token, str):
        principal = await run_db(session, principal_for_session, session, token)
    elif isinstance(key_id := request.session.get(SESSION_KEY), int):
        principal = await run_db(session, principal_for_key_id, session, key_id)
    name_actor(session, principal)
    return principal


PortalPrincipal = Annotated[Principal | None, Depends(_principal)]


async def _publisher(principal: PortalPrincipal) -> Principal:
    if principal is None or not principal.has_role(Role.publisher):
        raise Unauthorized("sign in with a publisher key", field="session")
    return principal


PortalPublisher = Annotated[Principal, Depends(_publisher)]


async def _investor(principal: PortalPrincipal) -> Principal:
    if principal is None or not principal.has_role(Role.investor):
        raise Unauthorized("sign in as an investor", field="session")
    return principal


PortalInvestor = Annotated[Principal, Depends(_investor)]


async def _person(principal: PortalPrincipal) -> Principal:
    """Someone signed in with their own account (not an API key): what a person keeps
    for themselves (saved searches, a shortlist) needs a person."""
    if principal is None or principal.person_id is None:
        raise Unauthorized("sign in with your e-mail and password", field="session")
    return principal


PortalPerson = Annotated[Principal, Depends(_person)]


def page(
    *, worker_thread_for: Callable[[Principal | None], bool] | None = None
) -> Callable[[Callable[P, R]], Callable[P, Awaitable[R]]]:
    """Serve a page written as a plain function: run it in place when it only reads
    SQLite (and the embedded index), else in a worker thread (``api.deps.run_db``); and
    always in a worker thread when ``worker_thread_for(principal)`` says so (work that may
    rebuild the matching matrix must not hold up the event loop, whatever the database).
    The function's parameters are its dependencies, by name: ``session`` always,
    ``principal`` and ``index`` when it has them."""

    def decorate(work: Callable[P, R]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(work)
        async def endpoint(*args: P.args, **kwargs: P.kwargs) -> R:
            principal: Any = kwargs.get("principal")
            if worker_thread_for is not None and worker_thread_for(principal):
                return await run_in_threadpool(work, *args, **kwargs)
            session: Any = kwargs["session"]
            index: Any = kwargs.get("index")
            if index is not None:
                return await run_search(session, index, work, *args, **kwargs)
            return await run_db(session, work, *args, **kwargs)

        return endpoint

    return decorate


def require_sign_in(principal: Principal | None, why: str = "sign in first") -> Principal:
    """The person (or key) signed in, or 401 naming the session: ``why`` says what for."""
    if principal is None:
        raise Unauthorized(why, field="session")
    return principal


def csrf_token(request: Request) -> str:
    token = request.session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[CSRF_FIELD] = token
    return token


def check_csrf(request: Request, submitted: str) -> None:
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


def facets(
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
        facets.append(Facet(name, i18n.say(name, lang), options))
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
    reader = Reader(request, lang, principal)  # currency and shortlist, read if asked
    base = {
        "lang": lang,
        "other_lang": Lang.en if lang is Lang.th else Lang.th,
        "t": lambda code, **values: i18n.say(code, lang, **values),
        "pick": lambda label: i18n.pick(label, lang),
        "text": lambda th, en: i18n.text_in(th, en, lang),
        "thb": lambda amount: i18n.thb(amount, lang),
        "thb_range": lambda low, high: i18n.thb_range(low, high, lang),
        "long_date": lambda value: i18n.long_date(value, lang),
        "short_date": lambda value: short_date(value, lang),
        "url": _link_maker(request),
        "sector_label": lambda s: i18n.pick(SECTOR_LABELS[Sector(s)], lang),
        "stage_label": lambda s: i18n.pick(STAGE_LABELS[Stage(s)], lang),
        "model_label": lambda m: i18n.pick(MODEL_LABELS[InvestmentModel(m)], lang),
        "kind_label": lambda k: i18n.pick(KIND_LABELS[ListingKind(k)], lang),
        "checkpoint_label": lambda s: i18n.pick(CHECKPOINT_LABELS[CheckpointState(s)], lang),
        "lead_label": lambda s: i18n.pick(LEAD_LABELS[LeadStatus(s)], lang),
        "principal": principal,
        "home": HOME_BY_ROLE[principal.role] if principal is not None else None,
        "request": request,
        "reader": reader,
        "indicative": reader.indicative,
        "form_token": lambda: csrf_token(request),
    }
    response = templates.TemplateResponse(
        request, template, base | context, status_code=status_code
    )
    chosen = request.query_params.get("lang")
    if chosen in Lang.__members__ and request.cookies.get(i18n.LANG_COOKIE) != chosen:
        response.set_cookie(i18n.LANG_COOKIE, lang.value, max_age=365 * 86400, samesite="lax")
    remember_currency(request, response)
    return response


def render_error(request: Request, status_code: int, code: str) -> HTMLResponse:
    """The error page for an error ``code`` (``not_found``, ``forbidden``, ...)."""
    lang = i18n.choose_language(request)
    known = f"error_{code}" if f"error_{code}" in MESSAGES else "error_bad_request"
    return render(
        request, "error.html", {"message": i18n.say(known, lang)}, status_code=status_code
    )
