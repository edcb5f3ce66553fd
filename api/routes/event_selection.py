"""HTTP routes for choosing who pitches: an event's candidate pool and the selection
plan, thin wrappers around ``matching.pitchday.pool`` and ``matching.pitchday.selection``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from api.deps import (
    IfMatchDep,
    JobsDep,
    PrincipalDep,
    ScoringDep,
    SearchDep,
    SessionDep,
    SettingsDep,
    etag,
    writes,
)
from api.errors import error_responses
from api.routes.alerts import public_base
from api.routes.matching import CatalogueDep
from core.text import Slug
from matching.pitchday import agenda_mail, pool, selection, service
from matching.pitchday.schemas import (
    CandidatesPublic,
    PoolUpdate,
    SelectionPublic,
    SelectionRequest,
)

router = APIRouter(prefix="/v1/events", tags=["events"])
EventSlug = Annotated[Slug, Path(description="The event's slug.")]


@router.get("/{slug}/candidates", responses=error_responses(401, 403, 404))
def get_candidates(
    slug: EventSlug, session: SessionDep, principal: PrincipalDep, response: Response
) -> CandidatesPublic:
    """The pool the pitching listings are chosen from, with each one's pin or exclusion
    (the event's organiser)."""
    event = service.get_event(session, slug=slug)
    candidates = pool.candidates_public(session, event=event, principal=principal)
    response.headers["ETag"] = etag(event.version)
    return candidates


@router.put("/{slug}/candidates", responses=error_responses(401, 403, 404, 412, 422, 428, 503))
@writes
def put_candidates(
    slug: EventSlug,
    data: PoolUpdate,
    session: SessionDep,
    principal: PrincipalDep,
    expected_version: IfMatchDep,
    index: SearchDep,
    response: Response,
) -> CandidatesPublic:
    """Replace the pool (`If-Match` required): listings named by slug, each optionally
    pinned or excluded, and the published listings that catalogue filters find now.
    Only published listings: any other is a 422 naming `listings`."""
    event = pool.replace_pool(
        session,
        event=service.get_event(session, slug=slug),
        principal=principal,
        data=data,
        expected_version=expected_version,
        index=index,
    )
    response.headers["ETag"] = etag(event.version)
    return pool.candidates_public(session, event=event, principal=principal)


@router.get("/{slug}/selection", responses=error_responses(401, 403, 404))
def get_selection(
    slug: EventSlug, session: SessionDep, principal: PrincipalDep, response: Response
) -> SelectionPublic:
    """The last plan of who pitches, with its reasons, rules, objective and bound."""
    event = service.get_event(session, slug=slug)
    plan = selection.stored_selection(session, event=event, principal=principal)
    response.headers["ETag"] = etag(event.version)
    return plan


@router.post("/{slug}/selection", responses=error_responses(401, 403, 404, 412, 422, 428))
@writes
def choose_who_pitches(
    slug: EventSlug,
    session: SessionDep,
    principal: PrincipalDep,
    expected_version: IfMatchDep,
    catalogue: CatalogueDep,
    settings: ScoringDep,
    app_settings: SettingsDep,
    jobs: JobsDep,
    request: Request,
    response: Response,
    data: SelectionRequest | None = None,
) -> SelectionPublic:
    """Choose who pitches from the pool (`If-Match` required): the most total fit between
    the chosen listings and the attending investors, under the slots, the quotas per city
    and publisher, the minimum per kind and per investor (met where the pool allows),
    pins and exclusions. Sets the programme to the plan in pitch order and answers with
    the plan and what changed since the last one."""
    event = service.get_event(session, slug=slug)
    base = public_base(request, app_settings)
    with agenda_mail.mailing_changes(session, event, jobs=jobs, base_url=base):
        plan = selection.select_pitches(
            session,
            event=event,
            principal=principal,
            request=data,
            expected_version=expected_version,
            catalogue=catalogue,
            settings=settings,
        )
    response.headers["ETag"] = etag(plan.version)
    return plan
