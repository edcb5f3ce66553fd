"""The organiser's workplace: a pitch day created and edited in the portal (under the
If-Match rule), and the investors invited to it, found by sector, province and ticket."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, col, select

from api import i18n
from api.deps import SessionDep, run_db, services_of, writes
from api.errors import Rejected
from api.portal.choices import province_choices, sector_choices
from api.portal.rendering import (
    CSRF_FIELD,
    PortalPrincipal,
    check_csrf,
    csrf_token,
    page,
    render,
)
from api.routes.alerts import public_base
from catalog.models import City
from catalog.taxonomy import Sector
from core.errors import AppError, PreconditionFailed, Unauthorized
from core.formatting import parse_thb
from core.principal import Principal, Role
from core.schemas import reason_of
from matching.access import ensure_may_organise
from matching.models import InvestorProfile
from matching.pitchday import agenda_mail
from matching.pitchday import service as pitchday
from matching.pitchday.models import PitchEvent
from matching.pitchday.schemas import EventCreate, EventUpdate

router = APIRouter()

FIELDS = (
    "name_th",
    "name_en",
    "city",
    "venue_th",
    "venue_en",
    "held_on",
    "first_slot",
    "slot_minutes",
    "slot_count",
    "round_first",
    "round_minutes",
    "round_count",
    "table_count",
    "registration_deadline",
)
OPTIONAL = {"registration_deadline"}


def _organiser(principal: Principal | None) -> Principal:
    if principal is None or not principal.has_role(Role.organiser):
        raise Unauthorized("sign in as an organiser", field="session")
    return principal


def _values_of(event: PitchEvent, city_slug: str) -> dict[str, str]:
    values = {name: str(getattr(event, name) or "") for name in FIELDS if name != "city"}
    return values | {"city": city_slug}


def _data(values: dict[str, str], *, creating: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """The posted fields as the API's body, and errors by field (every one at once)."""
    body: dict[str, Any] = {
        name: (values.get(name) or None) if name in OPTIONAL else values.get(name, "")
        for name in FIELDS
        if creating or name != "city"
    }
    errors: dict[str, str] = {}
    model = EventCreate if creating else EventUpdate
    try:
        model.model_validate(body)
    except ValidationError as exc:
        for error in exc.errors():
            where = str(error["loc"][0]) if error["loc"] else "form"
            errors.setdefault(where, reason_of(error["type"]))
    return body, errors


def _form_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    event: PitchEvent | None,
    values: dict[str, str],
    errors: dict[str, str],
    version: int | None = None,
    problem: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    lang = i18n.choose_language(request)
    cities = session.exec(select(City).order_by(col(City.name_en))).all()
    return render(
        request,
        "event_form.html",
        {
            "event": event,
            "values": values,
            "errors": errors,
            "problem": problem,
            "version": version if version is not None else (event.version if event else 0),
            "cities": [(c.slug, i18n.text_in(c.name_th, c.name_en, lang)) for c in cities],
            "csrf": csrf_token(request),
        },
        status_code=status_code,
        principal=principal,
    )


DEFAULTS = {
    "first_slot": "13:00",
    "slot_minutes": "10",
    "slot_count": "8",
    "round_first": "14:30",
    "round_minutes": "20",
    "round_count": "6",
    "table_count": "10",
}


@router.get("/events/new", response_class=HTMLResponse)
@page()
def new_event_form(
    request: Request, session: SessionDep, principal: PortalPrincipal
) -> HTMLResponse:
    return _form_page(
        request, session, _organiser(principal), event=None, values=dict(DEFAULTS), errors={}
    )


async def _posted(request: Request) -> dict[str, str]:
    form = await request.form()
    check_csrf(request, str(form.get(CSRF_FIELD, "")))
    return {name: str(value).strip() for name, value in form.items() if isinstance(value, str)}


@router.post("/events/new", response_class=HTMLResponse, response_model=None)
@writes
async def create_event(
    request: Request, session: SessionDep, principal: PortalPrincipal
) -> Response:
    principal = _organiser(principal)
    values = await _posted(request)
    return await run_db(session, _create, request, session, principal, values)


def _create(
    request: Request, session: Session, principal: Principal, values: dict[str, str]
) -> Response:
    body, errors = _data(values, creating=True)
    if errors:
        raise Rejected(
            _form_page(
                request,
                session,
                principal,
                event=None,
                values=values,
                errors=errors,
                status_code=422,
            )
        )
    try:
        event = pitchday.create_event(
            session, data=EventCreate.model_validate(body), principal=principal
        )
    except AppError as exc:
        errors = {exc.field or "form": _problem_code(exc)}
        raise Rejected(
            _form_page(
                request,
                session,
                principal,
                event=None,
                values=values,
                errors=errors,
                problem=exc.message,
                status_code=exc.status_code,
            )
        ) from None
    return RedirectResponse(f"/events/{event.slug}?notice=event_saved", status_code=303)


def _problem_code(exc: AppError) -> str:
    return {
        "round_first": "rounds_overlap_pitches",
        "round_count": "rounds_end_after_midnight",
        "slot_count": "pitches_end_after_midnight",
        "registration_deadline": "deadline_after_the_day",
        "city": "unknown_city",
        "slug": "slug_taken",
    }.get(exc.field or "", "bad_value")


@router.get("/events/{slug}/edit", response_class=HTMLResponse)
@page()
def edit_event_form(
    slug: str, request: Request, session: SessionDep, principal: PortalPrincipal
) -> HTMLResponse:
    principal = _organiser(principal)
    event = pitchday.get_event(session, slug=slug)
    ensure_may_organise(event, principal)
    city = session.get(City, event.city_id)
    return _form_page(
        request,
        session,
        principal,
        event=event,
        values=_values_of(event, city.slug if city else ""),
        errors={},
    )


@router.post("/events/{slug}/edit", response_class=HTMLResponse, response_model=None)
@writes
async def edit_event(
    slug: str, request: Request, session: SessionDep, principal: PortalPrincipal
) -> Response:
    principal = _organiser(principal)
    values = await _posted(request)
    return await run_db(session, _edit, request, session, principal, slug, values)


def _edit(
    request: Request, session: Session, principal: Principal, slug: str, values: dict[str, str]
) -> Response:
    event = pitchday.get_event(session, slug=slug)
    ensure_may_organise(event, principal)
    version = int(values["version"]) if values.get("version", "").isdigit() else 0
    body, errors = _data(values, creating=False)

    def again(status_code: int, problem: str | None = None, new_version: int = version) -> Rejected:
        return Rejected(
            _form_page(
                request,
                session,
                principal,
                event=event,
                values=values,
                errors=errors,
                version=new_version,
                problem=problem,
                status_code=status_code,
            )
        )

    if errors:
        raise again(422)
    services = services_of(request)
    base = public_base(request, services.settings)
    try:  # once published, whoever's agenda the change alters gets it again by e-mail
        with agenda_mail.mailing_changes(session, event, jobs=services.jobs, base_url=base):
            pitchday.update_event(
                session,
                event=event,
                data=EventUpdate.model_validate(body),
                expected_version=version,
                principal=principal,
            )
    except PreconditionFailed:
        session.rollback()
        current = pitchday.get_event(session, slug=slug)
        raise again(412, "event_changed_meanwhile", current.version) from None
    except AppError as exc:
        errors[exc.field or "form"] = _problem_code(exc)
        raise again(exc.status_code) from None
    return RedirectResponse(f"/events/{slug}?notice=event_saved", status_code=303)


# --- inviting investors ----------------------------------------------------------------------


@router.get("/events/{slug}/investors", response_class=HTMLResponse)
@page()
def invite_investors_page(
    slug: str,
    request: Request,
    session: SessionDep,
    principal: PortalPrincipal,
    sector: Annotated[str, Query(max_length=60)] = "",
    province: Annotated[str, Query(max_length=2)] = "",
    ticket: Annotated[str, Query(max_length=40)] = "",
) -> HTMLResponse:
    principal = _organiser(principal)
    event = pitchday.get_event(session, slug=slug)
    ensure_may_organise(event, principal)
    errors: dict[str, str] = {}
    ticket_thb = None
    if ticket:
        try:
            ticket_thb = parse_thb(ticket)
        except ValueError:
            errors["ticket"] = "not_an_amount"
    if sector and sector not in {s.value for s in Sector}:
        errors["sector"] = "choose_from_list"
    found = pitchday.invitable_profiles(
        session,
        principal=principal,
        sector=sector if sector and "sector" not in errors else None,
        province=province or None,
        ticket_thb=ticket_thb,
    )
    attending = pitchday.attending_profile_ids(session, event)
    by_id = {
        p.id: p
        for p in session.exec(select(InvestorProfile).where(col(InvestorProfile.id).in_(attending)))
    }
    lang = i18n.choose_language(request)
    return render(
        request,
        "event_investors.html",
        {
            "event": event,
            "found": [p for p in found if p.id not in by_id],
            "attending": [by_id[i] for i in attending if i in by_id],
            "typed": {"sector": sector, "province": province, "ticket": ticket},
            "errors": errors,
            "sectors": sector_choices(lang),
            "provinces": province_choices(session, lang),
            "csrf": csrf_token(request),
            "notice": request.query_params.get("notice"),
        },
        status_code=422 if errors else 200,
        principal=principal,
    )


@router.post("/events/{slug}/investors", response_model=None)
@writes
async def invite_investors(
    slug: str, request: Request, session: SessionDep, principal: PortalPrincipal
) -> Response:
    principal = _organiser(principal)
    form = await request.form()
    check_csrf(request, str(form.get(CSRF_FIELD, "")))
    version = str(form.get("version", ""))
    kept = [int(str(v)) for v in form.getlist("attending") if str(v).isdigit()]
    added = [int(str(v)) for v in form.getlist("invite") if str(v).isdigit()]
    return await run_db(
        session,
        _invite,
        session,
        principal,
        slug,
        version,
        kept + [i for i in added if i not in kept],
    )


def _invite(
    session: Session, principal: Principal, slug: str, version: str, profile_ids: list[int]
) -> Response:
    event = pitchday.get_event(session, slug=slug)
    try:
        pitchday.update_event(
            session,
            event=event,
            data=EventUpdate.model_validate({"investors": profile_ids}),
            expected_version=int(version) if version.isdigit() else 0,
            principal=principal,
        )
    except PreconditionFailed:
        return RedirectResponse(
            f"/events/{slug}/investors?notice=event_changed_meanwhile", status_code=303
        )
    return RedirectResponse(f"/events/{slug}/investors?notice=investors_saved", status_code=303)
