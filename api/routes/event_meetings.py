"""HTTP routes of the meetings people ask for at a pitch day: availability, requests and
their answers, the pairs the scores propose, and the schedule planned from them (thin
wrappers around ``matching.pitchday.requests`` and ``planning``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request, Response, status

from api.deps import (
    IfMatchDep,
    JobsDep,
    LimiterDep,
    PrincipalDep,
    ScoringDep,
    SessionDep,
    SettingsDep,
    etag,
    writes,
)
from api.errors import error_responses
from api.routes.alerts import public_base
from api.routes.events import EventSlug
from api.routes.matching import CatalogueDep
from core.ratelimit import Rule
from matching.pitchday import agenda_mail, planning, requests, service
from matching.pitchday.meeting_schemas import (
    Availabilities,
    AvailabilityPublic,
    AvailabilityUpdate,
    MeetingRequestCreate,
    MeetingRequestPublic,
    MeetingRequests,
    PlanRequest,
    ProposalRequest,
    Proposals,
    ScheduledEvent,
    ScheduleReport,
)

router = APIRouter(prefix="/v1/events", tags=["events"])
RequestId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The request's id.")]


@router.get("/{slug}/availability", responses=error_responses(401, 403, 404))
def get_availability(
    slug: EventSlug, session: SessionDep, principal: PrincipalDep
) -> Availabilities:
    """The rounds each of your sides (attending investor profiles, listings at the event)
    is free for meetings."""
    event = service.get_event(session, slug=slug)
    return Availabilities(data=requests.availability_of(session, event=event, principal=principal))


@router.put("/{slug}/availability", responses=error_responses(401, 403, 404, 422))
@writes
def set_availability(
    slug: EventSlug, data: AvailabilityUpdate, session: SessionDep, principal: PrincipalDep
) -> AvailabilityPublic:
    """Mark the rounds your investor profile or your listing is free (0 is the first
    round; null: every round, as before anything is marked)."""
    event = service.get_event(session, slug=slug)
    return requests.set_availability(session, event=event, principal=principal, data=data)


@router.get("/{slug}/requests", responses=error_responses(401, 403, 404))
def list_requests(slug: EventSlug, session: SessionDep, principal: PrincipalDep) -> MeetingRequests:
    """Your meeting requests at the event: those you sent, and those to you (with the
    pairs the organiser proposed)."""
    event = service.get_event(session, slug=slug)
    return requests.requests_of(session, event=event, principal=principal)


@router.post(
    "/{slug}/requests",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 403, 404, 409, 422),
)
@writes
def send_request(
    slug: EventSlug,
    data: MeetingRequestCreate,
    session: SessionDep,
    principal: PrincipalDep,
    limiter: LimiterDep,
) -> MeetingRequestPublic:
    """Ask to meet: an investor asks a listing at the event, a publisher an attending
    investor, with a short note. If the other side asked already, both are accepted."""
    limiter.hit_organisation(Rule.meeting_requests, principal)
    event = service.get_event(session, slug=slug)
    sent = requests.send_request(session, event=event, principal=principal, data=data)
    return requests.request_views(session, event, principal, [sent])[0]


@router.post(
    "/{slug}/requests/{request_id}/{decision}", responses=error_responses(401, 403, 404, 422)
)
@writes
def decide_request(
    slug: EventSlug,
    request_id: RequestId,
    decision: Literal["accept", "decline"],
    session: SessionDep,
    principal: PrincipalDep,
) -> MeetingRequestPublic:
    """Accept or decline a request to you (either side, for a proposed pair). Declining
    ends the pair: its requests both ways and its proposal."""
    event = service.get_event(session, slug=slug)
    decided = requests.decide_request(
        session,
        event=event,
        principal=principal,
        request_id=request_id,
        accept=decision == "accept",
    )
    return requests.request_views(session, event, principal, [decided])[0]


@router.post("/{slug}/proposals", responses=error_responses(401, 403, 404, 412, 422, 428))
@writes
def propose_pairs(
    slug: EventSlug,
    data: ProposalRequest,
    session: SessionDep,
    principal: PrincipalDep,
    expected_version: IfMatchDep,
    catalogue: CatalogueDep,
    settings: ScoringDep,
    response: Response,
) -> Proposals:
    """Let the scores propose pairs (organiser, `If-Match`): the best fits scoring at
    least `min_score` that share a free round and have no request yet, at most
    `per_participant` for each investor and listing. Replaces earlier proposals; one a
    side declined is never proposed again."""
    event = service.get_event(session, slug=slug)
    proposals = requests.propose(
        session,
        event=event,
        principal=principal,
        expected_version=expected_version,
        catalogue=catalogue,
        settings=settings,
        min_score=data.min_score,
        per_participant=data.per_participant,
    )
    response.headers["ETag"] = etag(event.version)
    return proposals


@router.get("/{slug}/schedule", responses=error_responses(401, 403, 404))
def schedule_report(
    slug: EventSlug, session: SessionDep, principal: PrincipalDep
) -> ScheduleReport:
    """The last plan's quality and the pairs it left out, with the reason (organiser)."""
    event = service.get_event(session, slug=slug)
    return planning.schedule_report(session, event=event, principal=principal)


@router.post("/{slug}/schedule", responses=error_responses(401, 403, 404, 409, 412, 422, 428))
@writes
def schedule_meetings(
    slug: EventSlug,
    session: SessionDep,
    principal: PrincipalDep,
    expected_version: IfMatchDep,
    catalogue: CatalogueDep,
    settings: ScoringDep,
    response: Response,
    http_request: Request,
    jobs: JobsDep,
    app_settings: SettingsDep,
    request: PlanRequest | None = None,
) -> ScheduledEvent:
    """Plan the one-to-one meetings (organiser, `If-Match`: the plan is a change to the
    event), replacing any earlier plan: accepted requests, mutual ones first, then the
    proposals by score, in rounds both sides attend, at most `table_count` meetings a
    round. Answers with the plan's quality (placed value against the solver's bound) and
    the pairs left out, with the reason. Once the schedule is published, participants
    whose agenda the new plan alters get it again by e-mail."""
    event = service.get_event(session, slug=slug)
    plan = request or PlanRequest()
    with agenda_mail.mailing_changes(
        session, event, jobs=jobs, base_url=public_base(http_request, app_settings)
    ):
        scheduled = planning.build_schedule(
            session,
            event=event,
            principal=principal,
            expected_version=expected_version,
            catalogue=catalogue,
            settings=settings,
            min_score=plan.min_score,
            per_participant=plan.per_participant,
        )
    response.headers["ETag"] = etag(scheduled.event.version)
    public = service.event_public(session, scheduled.event, principal)
    return ScheduledEvent(**dict(public), quality=scheduled.quality, unplaced=scheduled.unplaced)
