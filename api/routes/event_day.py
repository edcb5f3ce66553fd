"""HTTP routes of a pitch day's own day: agendas (JSON, CSV, iCalendar and each
participant's secret calendar feed), publishing the schedule, check-in, no-shows, the
outcomes of meetings and the organiser's figures. Thin wrappers around
``matching.pitchday.agenda``, ``agenda_mail`` and ``outcomes``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from sqlmodel import Session

from api import i18n
from api.deps import (
    IfMatchDep,
    JobsDep,
    PrincipalDep,
    SessionDep,
    SettingsDep,
    etag,
    writes,
)
from api.errors import error_responses
from api.i18n import Lang
from api.routes.alerts import public_base
from core.principal import Principal
from core.spreadsheets import spreadsheet_csv
from core.text import Slug
from matching.access import ensure_may_keep_agenda_feed, may_keep_agenda_feed
from matching.pitchday import agenda, agenda_mail, outcomes
from matching.pitchday import service as pitchday_service
from matching.pitchday.day_schemas import (
    AgendaFeed,
    AgendaPublic,
    AgendasPublic,
    CheckInsPublic,
    CheckInUpdate,
    EventFigures,
    MeetingOutcomePublic,
    NoShowsRecorded,
    OutcomeUpdate,
    ParticipantPublic,
    Party,
    SchedulePublication,
)
from matching.pitchday.models import PitchEvent

router = APIRouter(tags=["events"])

EventSlug = Annotated[Slug, Path(description="The event's slug.")]
PartyPath = Annotated[Party, Path(description="investor or listing.")]
ParticipantRef = Annotated[
    str,
    Path(
        min_length=1,
        max_length=80,
        pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
        description="The investor profile's id, or the listing's slug.",
    ),
]
MeetingId = Annotated[int, Path(ge=1, le=2**31 - 1)]
FeedToken = Annotated[str, Path(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]
ICALENDAR = "text/calendar; charset=utf-8"
CSV = "text/csv; charset=utf-8"
SECRET_HEADERS = {  # a secret URL: kept out of shared caches, search engines and referrers
    "Cache-Control": "private, max-age=300",
    "X-Robots-Tag": "noindex",
    "Referrer-Policy": "no-referrer",
}
AGENDA_COLUMNS = ("round", "start", "end", "table", "with", "outcome", "note")
FIGURE_COLUMNS = (
    "group",
    "name",
    "planned",
    "held",
    "no_shows",
    "follow_ups",
    "letters_of_intent",
    "unrecorded",
)


# --- shapes shared with the portal --------------------------------------------------------


def with_feed(agenda_public: AgendaPublic, token: str | None, base_url: str) -> AgendaPublic:
    """The agenda with its feed URL, for the participant's own people."""
    if token is None:
        return agenda_public
    return agenda_public.model_copy(update={"feed_url": agenda.feed_url(base_url, token)})


def agenda_csv(agenda_public: AgendaPublic, lang: Lang) -> str:
    """The agenda as a spreadsheet, headers and outcomes in the reader's language."""
    hidden = i18n.say("investor_name_hidden", lang)
    return spreadsheet_csv(
        [i18n.say(f"agenda_column_{name}", lang) for name in AGENDA_COLUMNS],
        [
            [
                meeting.slot + 1,
                f"{meeting.starts_at:%H:%M}",
                f"{meeting.ends_at:%H:%M}",
                meeting.table_no if meeting.table_no is not None else "",
                i18n.text_in(meeting.with_name_th or "", meeting.with_name_en or "", lang)
                or hidden,
                i18n.say(f"outcome_{meeting.outcome.value}", lang) if meeting.outcome else "",
                meeting.outcome_note,
            ]
            for meeting in agenda_public.meetings
        ],
    )


def figures_csv(figures: EventFigures, lang: Lang) -> str:
    """The day's figures as a spreadsheet: all, then by city, then by sector."""
    groups = [("all", [figures.total]), ("city", figures.by_city), ("sector", figures.by_sector)]
    return spreadsheet_csv(
        [i18n.say(f"figures_column_{name}", lang) for name in FIGURE_COLUMNS],
        [
            [
                i18n.say(f"figures_group_{group}", lang),
                i18n.text_in(row.name_th, row.name_en, lang),
                row.planned,
                row.held,
                row.no_shows,
                row.follow_ups,
                row.letters_of_intent,
                row.unrecorded,
            ]
            for group, rows in groups
            for row in rows
        ],
    )


def attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def _agenda_of(
    session: Session, event: PitchEvent, party: Party, ref: str, principal: Principal
) -> tuple[agenda.Participant, AgendaPublic]:
    participant = agenda.participant_for(session, event, party, ref, principal)
    return participant, agenda.agenda_for(session, event, participant, principal)


# --- agendas ------------------------------------------------------------------------------


@router.get("/v1/events/{slug}/agendas", responses=error_responses(401, 404))
def list_agendas(
    slug: EventSlug,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> AgendasPublic:
    """The agendas you may read at this event: your own participants' (an investor's
    profiles, a publisher's listings), or everyone's for the organiser."""
    event = pitchday_service.get_event(session, slug=slug)
    base = public_base(request, settings)
    data = []
    for participant, found in agenda.agendas_for(session, event, principal):
        token = (
            agenda.stored_token(session, event.id or 0, participant.party, participant.id)
            if may_keep_agenda_feed(principal, participant.owner_id)
            else None
        )
        data.append(with_feed(found, token, base))
    return AgendasPublic(data=data)


@router.get(
    "/v1/events/{slug}/agendas/{party}/{ref}.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}, **error_responses(401, 404)},
)
def agenda_calendar(
    slug: EventSlug,
    party: PartyPath,
    ref: ParticipantRef,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> Response:
    """One agenda as an iCalendar file: a VEVENT per meeting (stable UIDs), Asia/Bangkok."""
    event = pitchday_service.get_event(session, slug=slug)
    _, found = _agenda_of(session, event, party, ref, principal)
    body = agenda.agenda_ics(found, base_url=public_base(request, settings), event_id=event.id or 0)
    return Response(body, media_type=ICALENDAR, headers=attachment(f"{slug}-{ref}.ics"))


@router.get(
    "/v1/events/{slug}/agendas/{party}/{ref}.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **error_responses(401, 404)},
)
def agenda_spreadsheet(
    slug: EventSlug,
    party: PartyPath,
    ref: ParticipantRef,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
) -> Response:
    """One agenda as CSV (headers in the language asked for with `?lang=` or Accept-Language)."""
    event = pitchday_service.get_event(session, slug=slug)
    _, found = _agenda_of(session, event, party, ref, principal)
    body = agenda_csv(found, i18n.choose_language(request))
    return Response(body, media_type=CSV, headers=attachment(f"{slug}-{ref}.csv"))


@router.get("/v1/events/{slug}/agendas/{party}/{ref}", responses=error_responses(401, 404))
def get_agenda(
    slug: EventSlug,
    party: PartyPath,
    ref: ParticipantRef,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> AgendaPublic:
    """One participant's agenda: meetings in time order with the round's time, the table
    and the other party, and the pitch programme. Before the schedule is published only
    the organiser sees the meetings."""
    event = pitchday_service.get_event(session, slug=slug)
    participant, found = _agenda_of(session, event, party, ref, principal)
    token = (
        agenda.stored_token(session, event.id or 0, participant.party, participant.id)
        if may_keep_agenda_feed(principal, participant.owner_id)
        else None
    )
    return with_feed(found, token, public_base(request, settings))


@router.post(
    "/v1/events/{slug}/agendas/{party}/{ref}/feed-token", responses=error_responses(401, 403, 404)
)
@writes
def rotate_agenda_feed(
    slug: EventSlug,
    party: PartyPath,
    ref: ParticipantRef,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> AgendaFeed:
    """A new secret calendar feed URL for your participant (the first, or a replacement:
    the old one stops working at once)."""
    event = pitchday_service.get_event(session, slug=slug)
    participant = agenda.participant_for(session, event, party, ref, principal)
    ensure_may_keep_agenda_feed(principal, participant.owner_id)
    token = agenda.rotate_feed_token(session, event_id=event.id or 0, participant=participant)
    return AgendaFeed(feed_url=agenda.feed_url(public_base(request, settings), token))


@router.get(
    "/agendas/{token}.ics",
    tags=["feeds"],
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {}}, "description": "An iCalendar feed"},
        404: {"description": "No agenda has this token (never made, or replaced)"},
    },
)
def agenda_feed(
    token: FeedToken, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    """A participant's agenda as a calendar feed to subscribe to. The token in the URL is
    the only key: whoever has the URL reads the agenda."""
    event, participant = agenda.find_by_feed_token(session, token=token)
    found = agenda.own_agenda(session, event, participant)
    body = agenda.agenda_ics(found, base_url=public_base(request, settings), event_id=event.id or 0)
    return Response(body, media_type=ICALENDAR, headers=SECRET_HEADERS)


# --- publishing ---------------------------------------------------------------------------


@router.post(
    "/v1/events/{slug}/schedule/publication",
    responses=error_responses(401, 403, 404, 409, 412, 428),
)
@writes
def publish_schedule(
    slug: EventSlug,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    expected_version: IfMatchDep,
    jobs: JobsDep,
    settings: SettingsDep,
    response: Response,
) -> SchedulePublication:
    """Publish the planned meetings (`If-Match` required): participants see them, and
    when the app sends mail each participant's people get their agenda by e-mail (again
    whenever a later change alters it)."""
    event = pitchday_service.get_event(session, slug=slug)
    queued = agenda_mail.publish_schedule(
        session,
        event=event,
        expected_version=expected_version,
        principal=principal,
        jobs=jobs,
        base_url=public_base(request, settings),
    )
    assert event.schedule_published_at is not None
    response.headers["ETag"] = etag(event.version)
    return SchedulePublication(
        event=event.slug,
        schedule_published_at=event.schedule_published_at,
        version=event.version,
        mails_queued=queued,
    )


# --- check-in and no-shows ----------------------------------------------------------------


@router.get("/v1/events/{slug}/check-ins", responses=error_responses(401, 403, 404))
def list_check_ins(slug: EventSlug, session: SessionDep, principal: PrincipalDep) -> CheckInsPublic:
    """Everyone expected (the organiser's), with who has checked in."""
    event = pitchday_service.get_event(session, slug=slug)
    return outcomes.check_ins(session, event=event, principal=principal)


@router.put(
    "/v1/events/{slug}/check-ins/{party}/{ref}", responses=error_responses(401, 403, 404, 422)
)
@writes
def check_in(
    slug: EventSlug,
    party: PartyPath,
    ref: ParticipantRef,
    data: CheckInUpdate,
    session: SessionDep,
    principal: PrincipalDep,
) -> ParticipantPublic:
    """Check a participant in (`present: true`; the first time is kept) or undo it."""
    event = pitchday_service.get_event(session, slug=slug)
    participant = agenda.participant_for(session, event, party, ref, principal)
    return outcomes.set_check_in(
        session, event=event, participant=participant, present=data.present, principal=principal
    ).public()


@router.post("/v1/events/{slug}/no-shows", responses=error_responses(401, 403, 404, 409))
@writes
def record_no_shows(
    slug: EventSlug, session: SessionDep, principal: PrincipalDep
) -> NoShowsRecorded:
    """Mark no-show every meeting without an outcome whose investor or listing has not
    checked in (from the day of the event on)."""
    event = pitchday_service.get_event(session, slug=slug)
    return NoShowsRecorded(
        recorded=outcomes.record_no_shows(session, event=event, principal=principal)
    )


# --- outcomes and figures -----------------------------------------------------------------


@router.put(
    "/v1/events/{slug}/meetings/{meeting_id}/outcome",
    responses=error_responses(401, 403, 404, 409, 422),
)
@writes
def record_outcome(
    slug: EventSlug,
    meeting_id: MeetingId,
    data: OutcomeUpdate,
    session: SessionDep,
    principal: PrincipalDep,
) -> MeetingOutcomePublic:
    """What came of a meeting (the organiser or the listing's publisher, from the day of
    the event on): no-show, met, follow-up or letter-of-intent, with a note. A follow-up
    or a letter of intent makes the lead, or moves it forward (never back)."""
    event = pitchday_service.get_event(session, slug=slug)
    return outcomes.record_outcome(
        session, event=event, meeting_id=meeting_id, data=data, principal=principal
    )


@router.get("/v1/events/{slug}/figures", responses=error_responses(401, 403, 404))
def event_figures(slug: EventSlug, session: SessionDep, principal: PrincipalDep) -> EventFigures:
    """The day in numbers (the organiser's): meetings planned, held, no-shows, follow-ups
    and letters of intent, in all and by city and sector; and who checked in."""
    event = pitchday_service.get_event(session, slug=slug)
    return outcomes.event_figures(session, event=event, principal=principal)


@router.get(
    "/v1/events/{slug}/figures.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **error_responses(401, 403, 404)},
)
def event_figures_csv(
    slug: EventSlug, request: Request, session: SessionDep, principal: PrincipalDep
) -> Response:
    """The figures as CSV (headers in the language asked for)."""
    event = pitchday_service.get_event(session, slug=slug)
    figures = outcomes.event_figures(session, event=event, principal=principal)
    body = figures_csv(figures, i18n.choose_language(request))
    return Response(body, media_type=CSV, headers=attachment(f"{slug}-figures.csv"))
