"""Pitch-day pages: the list, and each event (with the organiser's shortlist and planning
form); the booklet is in ``api.portal.booklet``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from api.deps import JobsDep, ScoringDep, SessionDep, SettingsDep, StoreDep, writes
from api.portal.rendering import PortalPrincipal, check_csrf, csrf_token, page, render
from api.routes.alerts import public_base
from core.errors import Unauthorized
from core.principal import Principal, Role
from matching.access import may_organise
from matching.pitchday import agenda_mail
from matching.pitchday import service as pitchday_service
from matching.pitchday.models import PitchEvent
from matching.pitchday.schemas import DEFAULT_MIN_SCORE, slot_start

router = APIRouter()


@router.get("/events", response_class=HTMLResponse)
@page()
def events_page(request: Request, session: SessionDep, principal: PortalPrincipal) -> HTMLResponse:
    events = [
        pitchday_service.event_public(session, event, principal)
        for event in pitchday_service.list_events(session)
    ]
    return render(request, "events.html", {"events": events}, principal=principal)


def _is_organiser(principal: Principal | None) -> bool:
    # The organiser's view adds the shortlist, which may rebuild the catalogue matrix.
    return principal is not None and principal.has_role(Role.organiser)


@router.get("/events/{slug}", response_class=HTMLResponse)
@page(worker_thread_for=_is_organiser)
def event_page(
    slug: str,
    request: Request,
    session: SessionDep,
    principal: PortalPrincipal,
    store: StoreDep,
    settings: ScoringDep,
) -> HTMLResponse:
    event = pitchday_service.get_event(session, slug=slug)
    if principal is None or not may_organise(event, principal):
        return _event_page(request, session, principal, event, "event.html")
    shortlist = pitchday_service.shortlist(
        session,
        event=event,
        principal=principal,
        catalogue=store.matrix(session),
        settings=settings,
        min_score=DEFAULT_MIN_SCORE,
    )
    extra = {"shortlist": shortlist, "csrf": csrf_token(request), "min_score": DEFAULT_MIN_SCORE}
    return _event_page(request, session, principal, event, "event.html", extra)


@router.post("/events/{slug}/schedule", response_model=None)
@writes
def plan_meetings(
    slug: str,
    request: Request,
    session: SessionDep,
    principal: PortalPrincipal,
    store: StoreDep,
    settings: ScoringDep,
    csrf_token: Annotated[str, Form(max_length=100)],
    version: Annotated[int, Form(ge=1)],
    jobs: JobsDep,
    app_settings: SettingsDep,
    min_score: Annotated[float, Form(ge=0, le=100)] = DEFAULT_MIN_SCORE,
) -> Response:
    check_csrf(request, csrf_token)
    if principal is None:
        raise Unauthorized("sign in with an organiser key", field="session")
    event = pitchday_service.get_event(session, slug=slug)
    base = public_base(request, app_settings)
    with agenda_mail.mailing_changes(session, event, jobs=jobs, base_url=base):
        pitchday_service.build_schedule(
            session,
            event=event,
            principal=principal,
            expected_version=version,
            catalogue=store.matrix(session),
            settings=settings,
            min_score=min_score,
        )
    return RedirectResponse(f"/events/{slug}?notice=scheduled", status_code=303)


def _event_page(
    request: Request,
    session: Session,
    principal: Principal | None,
    event: PitchEvent,
    template: str,
    extra: dict[str, Any] | None = None,
) -> HTMLResponse:
    """The event's page (the booklet is ``api.portal.booklet``)."""
    public = pitchday_service.event_public(session, event, principal)
    context: dict[str, Any] = {
        "event": public,
        "meetings": {(m.slot, m.listing_slug): m for m in public.meetings},
        "slot_time": lambda slot: slot_start(public.round_first, public.round_minutes, slot),
        "notice": request.query_params.get("notice"),
        "shortlist": None,
    } | (extra or {})
    return render(request, template, context, principal=principal)
