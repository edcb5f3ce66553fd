"""HTTP routes of pitch days: thin wrappers around ``matching.pitchday.service``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from api.deps import (
    IfMatchDep,
    JobsDep,
    OptionalPrincipalDep,
    PrincipalDep,
    ScoringDep,
    SessionDep,
    SettingsDep,
    etag,
    writes,
)
from api.errors import error_responses
from api.routes.alerts import public_base
from api.routes.matching import CatalogueDep
from core.text import Slug
from matching.pitchday import agenda_mail, service
from matching.pitchday.schemas import (
    DEFAULT_MIN_SCORE,
    EventCreate,
    EventPublic,
    EventsPublic,
    EventUpdate,
    Shortlist,
)

router = APIRouter(prefix="/v1/events", tags=["events"])
EventSlug = Annotated[Slug, Path(description="The event's slug.")]


@router.post("", status_code=status.HTTP_201_CREATED, responses=error_responses(401, 403, 409, 422))
@writes
def create_event(
    data: EventCreate, session: SessionDep, principal: PrincipalDep, response: Response
) -> EventPublic:
    """Create a pitch day (organiser key) with the listings that pitch and who attends."""
    event = service.create_event(session, data=data, principal=principal)
    response.headers["Location"] = f"/v1/events/{event.slug}"
    response.headers["ETag"] = etag(event.version)
    return service.event_public(session, event, principal)


@router.get("")
def list_events(session: SessionDep, viewer: OptionalPrincipalDep) -> EventsPublic:
    """Every pitch day, soonest first."""
    return EventsPublic(
        data=[service.event_public(session, e, viewer) for e in service.list_events(session)]
    )


@router.get("/{slug}", responses=error_responses(404))
def get_event(
    slug: EventSlug, session: SessionDep, viewer: OptionalPrincipalDep, response: Response
) -> EventPublic:
    """One pitch day with its programme and meeting schedule."""
    event = service.get_event(session, slug=slug)
    response.headers["ETag"] = etag(event.version)
    return service.event_public(session, event, viewer)


@router.patch("/{slug}", responses=error_responses(401, 403, 404, 412, 422, 428))
@writes
def update_event(
    slug: EventSlug,
    data: EventUpdate,
    session: SessionDep,
    principal: PrincipalDep,
    expected_version: IfMatchDep,
    response: Response,
    request: Request,
    jobs: JobsDep,
    settings: SettingsDep,
) -> EventPublic:
    """Change your event (`If-Match` required); changing the slots or who takes part
    clears the schedule. Once the schedule is published, participants whose agenda the
    change alters get it again by e-mail."""
    event = service.get_event(session, slug=slug)
    base = public_base(request, settings)
    with agenda_mail.mailing_changes(session, event, jobs=jobs, base_url=base):
        event = service.update_event(
            session,
            event=event,
            data=data,
            expected_version=expected_version,
            principal=principal,
        )
    response.headers["ETag"] = etag(event.version)
    return service.event_public(session, event, principal)


@router.get("/{slug}/shortlist", responses=error_responses(401, 403, 404, 422))
def get_shortlist(
    slug: EventSlug,
    session: SessionDep,
    principal: PrincipalDep,
    catalogue: CatalogueDep,
    settings: ScoringDep,
    min_score: Annotated[float, Query(ge=0, le=100)] = DEFAULT_MIN_SCORE,
) -> Shortlist:
    """For each pitching listing, the attending investors worth meeting, with reasons."""
    data = service.shortlist(
        session,
        event=service.get_event(session, slug=slug),
        principal=principal,
        catalogue=catalogue,
        settings=settings,
        min_score=min_score,
    )
    return Shortlist(min_score=min_score, data=data)
