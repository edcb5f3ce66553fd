"""Choosing who pitches, in the portal (the event's organiser): the candidate pool (added
by catalogue filters or listing addresses, each pinned or excluded), the rules, the plan
with its reasons, what changed since the last run, and the objective against the
solver's bound. Every form carries the version it was made from: a stale one changes
nothing and says so; a refused one comes back with what was typed and each error beside
its field."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from api import i18n
from api.deps import JobsDep, ScoringDep, SearchDep, SessionDep, SettingsDep, StoreDep, writes
from api.errors import Rejected
from api.portal.choices import province_choices, sector_choices
from api.portal.rendering import CSRF_FIELD, PortalPrincipal, check_csrf, csrf_token, page, render
from api.routes.alerts import public_base
from catalog.models import City
from catalog.search.base import SearchIndex
from catalog.taxonomy import KIND_LABELS, ListingKind
from core.errors import AppError, PreconditionFailed, Unauthorized
from core.jobs import JobQueue
from core.principal import Principal, Role
from core.schemas import reason_of
from core.settings import ScoringSettings, Settings
from matching.access import ensure_may_organise
from matching.matrix import MatrixStore
from matching.pitchday import agenda_mail, pool, selection
from matching.pitchday import service as pitchday
from matching.pitchday.models import PitchEvent
from matching.pitchday.schemas import (
    PoolUpdate,
    SelectionPublic,
    SelectionRequest,
)
from matching.pitchday.selection_reasons import points

router = APIRouter()
RULES = ("threshold", "max_per_city", "max_per_publisher", "min_per_kind", "min_per_investor")
FILTERS = ("q", "kind", "sector", "province", "city")
NOTICES = frozenset({"pool_saved", "plan_made"})
# An address pasted from the catalogue, or a bare slug.
LISTING_ADDRESS = re.compile(r"(?:/listings/)?([a-z0-9][a-z0-9-]*)/?(?:[?#].*)?$")


@dataclass
class Typed:
    """A refused form, shown again: what was typed and why it was refused."""

    rules: dict[str, str] = field(default_factory=dict)
    filters: dict[str, str] = field(default_factory=dict)
    slugs: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    bad_listing: str = ""
    conflict: bool = False


def _organiser(principal: Principal | None) -> Principal:
    if principal is None or not principal.has_role(Role.organiser):
        raise Unauthorized("sign in as an organiser", field="session")
    return principal


def _event(session: Session, principal: Principal, slug: str) -> PitchEvent:
    event = pitchday.get_event(session, slug=slug)
    ensure_may_organise(event, principal)
    return event


def _rules_shown(event: PitchEvent, settings: ScoringSettings) -> dict[str, str]:
    """The rules form as the last run left it (or the defaults)."""
    rules = selection.selection_rules(event, None, settings, check=False)
    return {
        name: "" if value is None else f"{value:g}" for name, value in rules.model_dump().items()
    }


def _page(
    request: Request,
    session: Session,
    principal: Principal,
    event: PitchEvent,
    settings: ScoringSettings,
    typed: Typed | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    lang = i18n.choose_language(request)
    typed = typed or Typed()
    cities = session.exec(select(City).order_by(col(City.name_en))).all()
    plan = (
        SelectionPublic.model_validate(event.selection | {"version": event.version})
        if event.selection is not None
        else None
    )
    notice = request.query_params.get("notice")
    return render(
        request,
        "event_selection.html",
        {
            "event": event,
            "candidates": pool.candidates_public(session, event=event, principal=principal),
            "plan": plan,
            "rules": typed.rules or _rules_shown(event, settings),
            "filters": typed.filters,
            "slugs": typed.slugs,
            "errors": typed.errors,
            "bad_listing": typed.bad_listing,
            "conflict": typed.conflict,
            "notice": notice if notice in NOTICES else None,
            "sectors": sector_choices(lang),
            "kinds": [(k.value, i18n.pick(KIND_LABELS[k], lang)) for k in ListingKind],
            "provinces": province_choices(session, lang),
            "cities": [(c.slug, i18n.text_in(c.name_th, c.name_en, lang)) for c in cities],
            "points": points,
            "csrf": csrf_token(request),
        },
        status_code=status_code,
        principal=principal,
    )


@router.get("/events/{slug}/selection", response_class=HTMLResponse)
@page()
def selection_page(
    slug: str,
    request: Request,
    session: SessionDep,
    principal: PortalPrincipal,
    settings: ScoringDep,
) -> HTMLResponse:
    organiser = _organiser(principal)
    return _page(request, session, organiser, _event(session, organiser, slug), settings)


async def _form(request: Request) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The posted fields (stripped) and the repeated ones, after the CSRF check."""
    form = await request.form()
    check_csrf(request, str(form.get(CSRF_FIELD, "")))
    single = {k: str(v).strip() for k, v in form.items() if isinstance(v, str)}
    repeated = {
        k: [str(v) for v in form.getlist(k)] for k in ("listed", "pin", "exclude", "remove")
    }
    return single, repeated


def _version(values: dict[str, str]) -> int:
    typed = values.get("version", "")
    return int(typed) if typed.isdigit() and len(typed) < 10 else 0


def _refused(
    request: Request,
    session: Session,
    principal: Principal,
    event: PitchEvent,
    settings: ScoringSettings,
    typed: Typed,
) -> Rejected:
    status_code = 412 if typed.conflict else 422
    return Rejected(_page(request, session, principal, event, settings, typed, status_code))


# --- the pool ----------------------------------------------------------------------------


@router.post("/events/{slug}/selection/pool", response_model=None)
@writes
async def save_pool(
    slug: str,
    request: Request,
    session: SessionDep,
    principal: PortalPrincipal,
    settings: ScoringDep,
    index: SearchDep,
) -> Response:
    """Keep the pool's listings with their pins and exclusions as ticked, less those
    ticked for removal."""
    organiser = _organiser(principal)
    values, repeated = await _form(request)
    pins, exclusions, removed = (set(repeated[name]) for name in ("pin", "exclude", "remove"))
    entries = [
        {"slug": listed, "pinned": listed in pins, "excluded": listed in exclusions}
        for listed in dict.fromkeys(repeated["listed"])
        if listed not in removed
    ]
    return await run_in_threadpool(
        _replace_pool,
        request,
        session,
        organiser,
        slug,
        settings,
        index,
        _version(values),
        {"listings": entries},
        Typed(),
    )


@router.post("/events/{slug}/selection/add", response_model=None)
@writes
async def add_to_pool(
    slug: str,
    request: Request,
    session: SessionDep,
    principal: PortalPrincipal,
    settings: ScoringDep,
    index: SearchDep,
) -> Response:
    """Add to the pool the published listings the catalogue filters find now, and those
    whose addresses (or slugs) were typed, one per line."""
    organiser = _organiser(principal)
    values, _repeated = await _form(request)
    typed = Typed(
        filters={name: values.get(name, "") for name in FILTERS}, slugs=values.get("slugs", "")
    )
    filters = {name: value for name, value in typed.filters.items() if value}
    named: list[str] = []
    for line in re.split(r"[\s,]+", typed.slugs):
        if not line:
            continue
        found = LISTING_ADDRESS.search(line.lower())
        if found is None:
            typed.errors["slugs"] = "not_a_published_listing"
            typed.bad_listing = line[:100]
            break
        named.append(found.group(1))
    if not filters and not named and not typed.errors:
        typed.errors["slugs"] = "nothing_to_add"
    return await run_in_threadpool(
        _add,
        request,
        session,
        organiser,
        slug,
        settings,
        index,
        _version(values),
        filters,
        named,
        typed,
    )


def _add(
    request: Request,
    session: Session,
    principal: Principal,
    slug: str,
    settings: ScoringSettings,
    index: SearchIndex,
    version: int,
    filters: dict[str, str],
    named: list[str],
    typed: Typed,
) -> Response:
    event = _event(session, principal, slug)
    if typed.errors:
        raise _refused(request, session, principal, event, settings, typed)
    current = pool.candidates_public(session, event=event, principal=principal).data
    entries = [
        {"slug": c.listing.slug, "pinned": c.pinned, "excluded": c.excluded} for c in current
    ]
    known = {c.listing.slug for c in current}
    entries += [{"slug": s} for s in dict.fromkeys(named) if s not in known]
    body: dict[str, Any] = {"listings": entries}
    if filters:
        body["filters"] = filters
    return _replace_pool(request, session, principal, slug, settings, index, version, body, typed)


def _replace_pool(
    request: Request,
    session: Session,
    principal: Principal,
    slug: str,
    settings: ScoringSettings,
    index: SearchIndex,
    version: int,
    body: dict[str, Any],
    typed: Typed,
) -> Response:
    event = _event(session, principal, slug)
    try:
        data = PoolUpdate.model_validate(body)
    except ValidationError as exc:
        for error in exc.errors():
            where = [str(part) for part in error["loc"]]
            name = where[1] if where[0] == "filters" and len(where) > 1 else "slugs"
            typed.errors.setdefault(name, reason_of(error["type"]))
        raise _refused(request, session, principal, event, settings, typed) from None
    try:
        pool.replace_pool(
            session,
            event=event,
            principal=principal,
            data=data,
            expected_version=version,
            index=index,
        )
    except PreconditionFailed:
        typed.conflict = True
        raise _refused(request, session, principal, event, settings, typed) from None
    except AppError as exc:
        name, code = _pool_problem(exc)
        typed.errors[name] = code
        typed.bad_listing = _quoted(exc.message) if name == "slugs" else ""
        raise _refused(request, session, principal, event, settings, typed) from None
    return RedirectResponse(f"/events/{slug}/selection?notice=pool_saved#pool", status_code=303)


def _quoted(message: str) -> str:
    found = re.search(r"'([^']*)'", message)
    return found.group(1) if found else ""


def _pool_problem(exc: AppError) -> tuple[str, str]:
    """Where a refused pool's error shows, and what it says."""
    if exc.field == "filters":
        return "filters", "pool_too_large"
    if exc.field and exc.field.startswith("filters."):
        name = exc.field.removeprefix("filters.")
        return name, "unknown_city" if name == "city" else "choose_from_list"
    if "both pinned and excluded" in exc.message:
        return "pool", "pinned_and_excluded"
    if "at most" in exc.message:
        return "slugs", "pool_too_large"
    return "slugs", "not_a_published_listing"


# --- choosing ---------------------------------------------------------------------------------


def _rules_body(values: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    """The rules typed as the API's body: an empty quota means no limit, any other empty
    rule stays as it was."""
    body: dict[str, Any] = {}
    for name in RULES:
        text = values.get(name, "").replace(",", ".")
        if not text:
            if name in ("max_per_city", "max_per_publisher"):
                body[name] = None
            continue
        try:
            number = float(text)
        except ValueError:
            errors[name] = "not_a_number"
            continue
        if name != "threshold" and not number.is_integer():
            errors[name] = "not_a_whole_number"
            continue
        body[name] = number if name == "threshold" else int(number)
    return body


@router.post("/events/{slug}/selection", response_model=None)
@writes
async def choose_who_pitches(
    slug: str,
    request: Request,
    session: SessionDep,
    principal: PortalPrincipal,
    settings: ScoringDep,
    app_settings: SettingsDep,
    store: StoreDep,
    jobs: JobsDep,
) -> Response:
    """Run the selection with the rules typed (the solver may take a moment: it runs in a
    worker thread)."""
    organiser = _organiser(principal)
    values, _repeated = await _form(request)
    typed = Typed(rules={name: values.get(name, "") for name in RULES})
    return await run_in_threadpool(
        _choose,
        request,
        session,
        organiser,
        slug,
        settings,
        app_settings,
        store,
        jobs,
        _version(values),
        typed,
    )


def _choose(
    request: Request,
    session: Session,
    principal: Principal,
    slug: str,
    settings: ScoringSettings,
    app_settings: Settings,
    store: MatrixStore,
    jobs: JobQueue | None,
    version: int,
    typed: Typed,
) -> Response:
    event = _event(session, principal, slug)
    body = _rules_body(typed.rules, typed.errors)
    try:
        data = SelectionRequest.model_validate(body)
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "rules"
            typed.errors.setdefault(name, reason_of(error["type"]))
    if typed.errors:
        raise _refused(request, session, principal, event, settings, typed)
    try:
        base = public_base(request, app_settings)
        with agenda_mail.mailing_changes(session, event, jobs=jobs, base_url=base):
            selection.select_pitches(
                session,
                event=event,
                principal=principal,
                request=data,
                expected_version=version,
                catalogue=store.matrix(session),
                settings=settings,
            )
    except PreconditionFailed:
        typed.conflict = True
        raise _refused(request, session, principal, event, settings, typed) from None
    except AppError as exc:
        name = exc.field if exc.field in RULES else "rules"
        typed.errors[name] = "too_many_pinned" if exc.field == "pinned" else "rule_needs_more_slots"
        raise _refused(request, session, principal, event, settings, typed) from None
    return RedirectResponse(f"/events/{slug}/selection?notice=plan_made#plan", status_code=303)
