"""A person's saved searches: saving the catalogue's current query or a profile's matches
from a score up, the list with what is new in each, its feed address and digest, renaming
and deleting (each form carries the version it was made from: a stale one changes
nothing and says so), and one search's listings with the new ones flagged (seeing them
marks them seen)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool

from api import i18n
from api.deps import JobsDep, SessionDep, SettingsDep, services_of, writes
from api.errors import Rejected
from api.i18n import Lang
from api.portal.rendering import CSRF_FIELD, PortalPerson, check_csrf, csrf_token, page, render
from api.routes.alerts import SourcesDep, public_base
from catalog import geography
from catalog.models import SmartBlock
from catalog.schemas import SearchParams
from catalog.taxonomy import KIND_LABELS, MODEL_LABELS, SECTOR_LABELS, STAGE_LABELS
from core.errors import AppError, Conflict, PreconditionFailed
from core.jobs import JobQueue
from core.principal import Principal
from core.schemas import reason_of
from core.settings import Settings
from matching import alerts
from matching.models import InvestorProfile, SavedSearch
from matching.schemas import DigestFrequency, SavedSearchCreate, SavedSearchKind, SavedSearchUpdate

router = APIRouter()
Csrf = Annotated[str, Form(max_length=100, alias=CSRF_FIELD)]
SavedId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Version = Annotated[int, Form(ge=1, le=2**31 - 1)]
# Longer than any valid value, so that a name too long comes back beside its field.
TypedName = Annotated[str, Form(max_length=2_000)]
TypedNumber = Annotated[str, Form(max_length=30)]
NOTICES = frozenset(
    {"saved_search_created", "saved_search_updated", "saved_search_deleted", "feed_replaced"}
)
# The catalogue's query as its page sends it (hidden fields of the "Save this search" form).
PARAM_NAMES = (
    "q",
    "kind",
    "sector",
    "province",
    "city",
    "smart_block",
    "stage",
    "model",
    "capital_min",
    "capital_max",
    "sort",
)


def _always(_principal: Principal | None) -> bool:
    return True  # a saved search's listings may rebuild the matching matrix


@dataclass
class Draft:
    """A save that was refused, shown again with what was typed and each error."""

    kind: str
    name: str
    params: dict[str, str] = field(default_factory=dict)  # kind search: the query
    profile_id: str = ""
    min_score: str = ""
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class Edit:
    """A change to one saved search that was refused: what was typed, and why."""

    saved_id: int
    typed: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    conflict: str | None = None  # a message code: the form was made from an older version


@dataclass(frozen=True)
class Row:
    """One saved search on the list page."""

    saved: SavedSearch
    describe: list[str]  # kind search: the filters, in the reader's language
    profile_name: str  # kind matches
    catalogue_href: str | None
    count: int
    new_count: int
    feed_url: str
    form: dict[str, str]
    errors: dict[str, str]
    conflict: str | None


def _errors_of(exc: ValidationError) -> dict[str, str]:
    """Each field's first error, as a message key."""
    found: dict[str, str] = {}
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "name"
        found.setdefault(name, reason_of(error["type"]))
    return found


def _describe(session: Session, params: SearchParams, lang: Lang) -> list[str]:
    """A catalogue query's filters in words, in the reader's language (its text, typed by
    the person, is shown apart, as typed)."""
    provinces, cities = geography.place_names(session)
    parts = []
    if params.kind:
        parts.append(i18n.pick(KIND_LABELS[params.kind], lang))
    if params.sector:
        parts.append(i18n.pick(SECTOR_LABELS[params.sector], lang))
    for code, names in ((params.province, provinces), (params.city, cities)):
        if code:
            label = names.get(code)
            parts.append(i18n.pick(label, lang) if label else code)
    if params.smart_block:
        block = session.exec(
            select(SmartBlock).where(SmartBlock.slug == params.smart_block)
        ).first()
        parts.append(i18n.text_in(block.name_th, block.name_en, lang) if block else "…")
    if params.stage:
        parts.append(i18n.pick(STAGE_LABELS[params.stage], lang))
    if params.model:
        parts.append(i18n.pick(MODEL_LABELS[params.model], lang))
    if params.capital_min is not None or params.capital_max is not None:
        low = i18n.thb(params.capital_min, lang) if params.capital_min is not None else "…"
        high = i18n.thb(params.capital_max, lang) if params.capital_max is not None else "…"
        parts.append(f"{low} – {high}")
    return parts


def _form_of(saved: SavedSearch) -> dict[str, str]:
    score = "" if saved.min_score is None else f"{saved.min_score:g}"
    return {"name": saved.name, "frequency": saved.frequency, "min_score": score}


def _list_page(
    request: Request,
    session: Session,
    principal: Principal,
    sources: alerts.Sources,
    settings: Settings,
    jobs: JobQueue | None,
    *,
    draft: Draft | None = None,
    edit: Edit | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    lang = i18n.choose_language(request)
    base = public_base(request, settings)
    rows = []
    for saved in alerts.list_saved_searches(session, principal=principal):
        found = alerts.listings_of(session, saved, sources)
        editing = edit if edit is not None and edit.saved_id == saved.id else None
        profile = (
            session.get(InvestorProfile, saved.profile_id) if saved.profile_id is not None else None
        )
        is_search = saved.kind == SavedSearchKind.search
        rows.append(
            Row(
                saved=saved,
                describe=_describe(session, alerts.catalogue_params(saved), lang)
                if is_search
                else [],
                profile_name=profile.name if profile is not None else "",
                catalogue_href=f"/?{urlencode(saved.params)}" if is_search else None,
                count=len(found),
                new_count=sum(alerts.is_new(f, saved.last_seen_at) for f in found),
                feed_url=alerts.feed_url(base, saved.feed_token),
                form=editing.typed if editing is not None else _form_of(saved),
                errors=editing.errors if editing is not None else {},
                conflict=editing.conflict if editing is not None else None,
            )
        )
    notice = request.query_params.get("notice")
    return render(
        request,
        "saved_searches.html",
        {
            "rows": rows,
            "draft": draft,
            "frequencies": [f.value for f in DigestFrequency],
            "mail_on": jobs is not None and jobs.context.mailer is not None,
            "notice": notice if notice in NOTICES else None,
            "csrf": csrf_token(request),
        },
        status_code=status_code,
        principal=principal,
    )


@router.get("/saved-searches", response_class=HTMLResponse)
@page(worker_thread_for=_always)
def saved_searches(
    request: Request,
    session: SessionDep,
    principal: PortalPerson,
    sources: SourcesDep,
    settings: SettingsDep,
    jobs: JobsDep,
) -> HTMLResponse:
    return _list_page(request, session, principal, sources, settings, jobs)


def _refusal(exc: AppError) -> tuple[str, str]:
    """Where a refused save's error shows, and what it says."""
    if isinstance(exc, Conflict):
        return "name", "too_many_saved_searches"
    if exc.field == "profile_id":
        return "profile_id", "not_your_profile"
    if exc.field and exc.field.startswith("params"):
        return "params", "bad_value"  # the query the catalogue page sent
    return exc.field or "name", "bad_value"


def _create(
    request: Request,
    session: Session,
    principal: Principal,
    sources: alerts.Sources,
    settings: Settings,
    jobs: JobQueue | None,
    draft: Draft,
    data: dict[str, Any],
) -> Response:
    """Save ``data`` (a ``SavedSearchCreate``), or show the draft again with its errors."""
    if not draft.errors:
        try:
            saved = alerts.create_saved_search(
                session,
                principal=principal,
                data=SavedSearchCreate.model_validate(data),
                threshold=settings.match.match_threshold,
            )
        except ValidationError as exc:
            draft.errors |= _errors_of(exc)
        except AppError as exc:
            where, code = _refusal(exc)
            draft.errors[where] = code
        else:
            return RedirectResponse(
                f"/saved-searches?notice=saved_search_created#saved-{saved.id}", status_code=303
            )
    page_again = _list_page(
        request, session, principal, sources, settings, jobs, draft=draft, status_code=422
    )
    raise Rejected(page_again)


@router.post("/saved-searches", response_class=HTMLResponse, response_model=None)
@writes
async def save_search(
    request: Request,
    session: SessionDep,
    principal: PortalPerson,
    sources: SourcesDep,
    settings: SettingsDep,
    jobs: JobsDep,
) -> Response:
    """Save the catalogue's current query (the form on the catalogue page) under a name."""
    posted = await request.form()
    check_csrf(request, str(posted.get(CSRF_FIELD, "")))
    typed = {
        name: value.strip()
        for name in PARAM_NAMES
        if isinstance(value := posted.get(name), str) and value.strip()
    }
    name = posted.get("name")
    draft = Draft(kind=SavedSearchKind.search.value, name=name if isinstance(name, str) else "")
    draft.params = typed
    try:
        params = SearchParams.model_validate(typed)
    except ValidationError:
        draft.errors["params"] = "bad_value"  # hidden fields a person did not type
        params = SearchParams()
    data = {"name": draft.name, "params": params, "kind": draft.kind}
    return await run_in_threadpool(
        _create, request, session, principal, sources, settings, jobs, draft, data
    )


def _number(text: str, errors: dict[str, str], name: str) -> float | None:
    if not text.strip():
        return None
    try:
        return float(text.strip().replace(",", "."))
    except ValueError:
        errors[name] = "not_a_number"
        return None


@router.post("/saved-searches/matches", response_class=HTMLResponse, response_model=None)
@writes
def save_matches(
    request: Request,
    session: SessionDep,
    principal: PortalPerson,
    sources: SourcesDep,
    settings: SettingsDep,
    jobs: JobsDep,
    csrf: Csrf,
    name: TypedName = "",
    profile_id: TypedNumber = "",
    min_score: TypedNumber = "",
) -> Response:
    """Save a profile's matches from a score up (the form on the investor's matches page)."""
    check_csrf(request, csrf)
    draft = Draft(
        kind=SavedSearchKind.matches.value, name=name, profile_id=profile_id, min_score=min_score
    )
    score = _number(min_score, draft.errors, "min_score")
    profile = int(profile_id) if profile_id.isdigit() and len(profile_id) < 10 else None
    if profile is None:
        draft.errors["profile_id"] = "not_your_profile"
    data = {"name": name, "kind": draft.kind, "profile_id": profile, "min_score": score}
    return _create(request, session, principal, sources, settings, jobs, draft, data)


@router.get("/saved-searches/{saved_id}", response_class=HTMLResponse)
@page(worker_thread_for=_always)
def saved_search_page(
    saved_id: SavedId,
    request: Request,
    session: SessionDep,
    principal: PortalPerson,
    sources: SourcesDep,
) -> HTMLResponse:
    """One saved search's listings, newest first, those published since the last visit
    flagged new; the visit marks them seen (a GET that writes: seeing is what it records)."""
    saved = alerts.get_saved_search(session, saved_id=saved_id, principal=principal)
    since = saved.last_seen_at
    found = alerts.listings_of(session, saved, sources)
    profile = (
        session.get(InvestorProfile, saved.profile_id) if saved.profile_id is not None else None
    )
    lang = i18n.choose_language(request)
    is_search = saved.kind == SavedSearchKind.search
    response = render(
        request,
        "saved_search.html",
        {
            "saved": saved,
            "found": [(item, alerts.is_new(item, since)) for item in found],
            "new_count": sum(alerts.is_new(item, since) for item in found),
            "since": since,
            "describe": _describe(session, alerts.catalogue_params(saved), lang)
            if is_search
            else [],
            "profile_name": profile.name if profile is not None else "",
            "catalogue_href": f"/?{urlencode(saved.params)}" if is_search else None,
        },
        principal=principal,
    )
    # Seen now: marked in a short unit of work of its own, so that the search above (and
    # a matrix it may rebuild) never holds the write lock.
    with services_of(request).database.writing() as marking:
        alerts.mark_seen(marking, saved_id=saved_id)
    return response


def _refused_edit(
    request: Request,
    session: Session,
    principal: Principal,
    sources: alerts.Sources,
    settings: Settings,
    jobs: JobQueue | None,
    edit: Edit,
) -> Rejected:
    status_code = 409 if edit.conflict else 422
    return Rejected(
        _list_page(
            request, session, principal, sources, settings, jobs, edit=edit, status_code=status_code
        )
    )


@router.post("/saved-searches/{saved_id}", response_class=HTMLResponse, response_model=None)
@writes
def edit_saved_search(
    saved_id: SavedId,
    request: Request,
    session: SessionDep,
    principal: PortalPerson,
    sources: SourcesDep,
    settings: SettingsDep,
    jobs: JobsDep,
    csrf: Csrf,
    version: Version,
    name: TypedName = "",
    frequency: Annotated[str, Form(max_length=20)] = DigestFrequency.none.value,
    min_score: TypedNumber = "",
) -> Response:
    """Rename, change the digest or the minimum score, from the version the form shows."""
    check_csrf(request, csrf)
    saved = alerts.get_saved_search(session, saved_id=saved_id, principal=principal)
    edit = Edit(saved_id, {"name": name, "frequency": frequency, "min_score": min_score})
    changes: dict[str, Any] = {"name": name, "frequency": frequency}
    if saved.kind == SavedSearchKind.matches:
        changes["min_score"] = _number(min_score, edit.errors, "min_score")
    try:
        data = SavedSearchUpdate.model_validate(changes)
    except ValidationError as exc:
        edit.errors = _errors_of(exc) | edit.errors
    if edit.errors:
        raise _refused_edit(request, session, principal, sources, settings, jobs, edit)
    try:
        alerts.update_saved_search(
            session,
            saved=saved,
            data=data,
            expected_version=version,
            threshold=settings.match.match_threshold,
        )
    except PreconditionFailed:
        edit.conflict = "saved_search_conflict"
        raise _refused_edit(request, session, principal, sources, settings, jobs, edit) from None
    return RedirectResponse(
        f"/saved-searches?notice=saved_search_updated#saved-{saved_id}", status_code=303
    )


@router.post("/saved-searches/{saved_id}/delete", response_model=None)
@writes
def delete_saved_search(
    saved_id: SavedId,
    request: Request,
    session: SessionDep,
    principal: PortalPerson,
    sources: SourcesDep,
    settings: SettingsDep,
    jobs: JobsDep,
    csrf: Csrf,
    version: Version,
) -> Response:
    check_csrf(request, csrf)
    saved = alerts.get_saved_search(session, saved_id=saved_id, principal=principal)
    try:
        alerts.delete_saved_search(session, saved=saved, expected_version=version)
    except PreconditionFailed:
        edit = Edit(saved_id, _form_of(saved), conflict="saved_search_gone_conflict")
        raise _refused_edit(request, session, principal, sources, settings, jobs, edit) from None
    return RedirectResponse("/saved-searches?notice=saved_search_deleted", status_code=303)


@router.post("/saved-searches/{saved_id}/feed-token", response_model=None)
@writes
def replace_feed(
    saved_id: SavedId,
    request: Request,
    session: SessionDep,
    principal: PortalPerson,
    sources: SourcesDep,
    settings: SettingsDep,
    jobs: JobsDep,
    csrf: Csrf,
    version: Version,
) -> Response:
    """A new secret feed address; the old one stops working."""
    check_csrf(request, csrf)
    saved = alerts.get_saved_search(session, saved_id=saved_id, principal=principal)
    try:
        alerts.rotate_feed_token(session, saved=saved, expected_version=version)
    except PreconditionFailed:
        edit = Edit(saved_id, _form_of(saved), conflict="saved_search_gone_conflict")
        raise _refused_edit(request, session, principal, sources, settings, jobs, edit) from None
    return RedirectResponse(
        f"/saved-searches?notice=feed_replaced#saved-{saved_id}", status_code=303
    )
