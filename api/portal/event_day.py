"""The pitch day itself, in the portal: each participant's agenda (phone first: people
open it at the venue) with its calendar file, spreadsheet and secret calendar link; the
organiser's publication of the schedule, check-in desk and figures; the outcome of each
meeting (organiser and the listing's publisher); and a listing's pitch-day record, the
evidence its checkpoints link to."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, col, select

from api import i18n
from api.deps import JobsDep, SessionDep, SettingsDep, services_of, writes
from api.errors import Rejected
from api.portal.rendering import (
    PortalPrincipal,
    check_csrf,
    csrf_token,
    page,
    render,
    require_sign_in,
)
from api.routes.alerts import public_base
from api.routes.event_day import CSV, ICALENDAR, agenda_csv, attachment, figures_csv
from catalog import readmodel
from catalog.models import Listing
from core.db import utcnow
from core.errors import Conflict, NotFound, PreconditionFailed
from core.formatting import BANGKOK, bangkok_date
from core.principal import Principal
from matching.access import (
    ensure_may_organise,
    may_keep_agenda_feed,
    may_organise,
    may_record_outcome,
)
from matching.pitchday import agenda, agenda_mail, outcomes
from matching.pitchday import service as pitchday_service
from matching.pitchday.day_schemas import Outcome, OutcomeUpdate, Party
from matching.pitchday.models import PitchEvent

router = APIRouter()

NOTICES = {
    "schedule_published",
    "schedule_published_mailed",
    "outcome_saved",
    "outcome_lead_made",
    "feed_rotated",
    "no_shows_recorded",
}
MeetingId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Who = Annotated[str, Form(max_length=100)]


def _notice(request: Request) -> dict[str, Any]:
    code = request.query_params.get("notice")
    num = request.query_params.get("num", "")
    return {"notice": code if code in NOTICES else None, "notice_num": num[:6]}


def _chosen(
    session: Session, event: PitchEvent, principal: Principal, who: str | None
) -> tuple[list[agenda.Participant], agenda.Participant | None]:
    """The participants the principal may pick from, and the one picked (the first by
    default; a ``who`` the principal may not read is a 404)."""
    choices = agenda.visible_participants(session, event, principal)
    if who:
        party, ref = agenda.parse_key(who)
        return choices, agenda.participant_for(session, event, party, ref, principal)
    return choices, choices[0] if choices else None


def _feed_token(request: Request, event: PitchEvent, participant: agenda.Participant) -> str:
    """The participant's feed token, made on first use in a short unit of work of its own
    (the page itself only reads)."""
    with services_of(request).database.writing() as making:
        return agenda.ensure_feed_token(making, event_id=event.id or 0, participant=participant)


def _agenda_page(
    request: Request,
    session: Session,
    principal: Principal,
    event: PitchEvent,
    base_url: str,
    who: str | None,
    *,
    outcome_form: dict[str, Any] | None = None,
    publish_error: str | None = None,
    status_code: int = 200,
    make_feed: bool = True,
) -> HTMLResponse:
    choices, participant = _chosen(session, event, principal, who)
    organiser = may_organise(event, principal)
    context: dict[str, Any] = {
        "event": event,
        "choices": choices,
        "participant": participant,
        "organiser": organiser,
        "agenda": None,
        "csrf": csrf_token(request),
        "outcome_form": outcome_form or {},
        "publish_error": publish_error,
        "outcomes": list(Outcome),
        "day_has_come": bangkok_date(utcnow()) >= event.held_on,
        "webcal": None,
        "feed_url": None,
        **_notice(request),
    }
    if participant is not None:
        found = agenda.agenda_for(session, event, participant, principal)
        context["agenda"] = found
        context["may_record"] = organiser or (
            participant.party is Party.listing
            and may_record_outcome(event, principal, participant.owner_id)
        )
        if may_keep_agenda_feed(principal, participant.owner_id):
            token = agenda.stored_token(session, event.id or 0, participant.party, participant.id)
            if token is None and make_feed:
                token = _feed_token(request, event, participant)
            if token is not None:
                context["feed_url"] = agenda.feed_url(base_url, token)
                context["webcal"] = "webcal://" + context["feed_url"].split("://", 1)[1]
    return render(request, "agenda.html", context, status_code=status_code, principal=principal)


@router.get("/events/{slug}/agenda", response_class=HTMLResponse)
@page()
def agenda_page(
    slug: str,
    request: Request,
    session: SessionDep,
    principal: PortalPrincipal,
    settings: SettingsDep,
) -> HTMLResponse:
    event = pitchday_service.get_event(session, slug=slug)
    return _agenda_page(
        request,
        session,
        require_sign_in(principal, "sign in to see your agenda"),
        event,
        public_base(request, settings),
        request.query_params.get("who"),
    )


def _one_agenda(
    request: Request, session: Session, principal: Principal | None, slug: str
) -> tuple[PitchEvent, agenda.Participant, Any]:
    event = pitchday_service.get_event(session, slug=slug)
    _, participant = _chosen(
        session,
        event,
        require_sign_in(principal, "sign in to see your agenda"),
        request.query_params.get("who"),
    )
    if participant is None:
        raise NotFound("you have no agenda at this event", field="participant")
    return event, participant, agenda.agenda_for(session, event, participant, principal)


@router.get("/events/{slug}/agenda.ics", response_model=None)
@page()
def agenda_calendar_file(
    slug: str,
    request: Request,
    session: SessionDep,
    principal: PortalPrincipal,
    settings: SettingsDep,
) -> Response:
    event, participant, found = _one_agenda(request, session, principal, slug)
    body = agenda.agenda_ics(found, base_url=public_base(request, settings), event_id=event.id or 0)
    return Response(body, media_type=ICALENDAR, headers=attachment(f"{slug}-{participant.ref}.ics"))


@router.get("/events/{slug}/agenda.csv", response_model=None)
@page()
def agenda_spreadsheet(
    slug: str, request: Request, session: SessionDep, principal: PortalPrincipal
) -> Response:
    _, participant, found = _one_agenda(request, session, principal, slug)
    body = agenda_csv(found, i18n.choose_language(request))
    return Response(body, media_type=CSV, headers=attachment(f"{slug}-{participant.ref}.csv"))


def _back_to_agenda(slug: str, who: str, **query: object) -> RedirectResponse:
    params = urlencode({"who": who, **{k: v for k, v in query.items() if k != "anchor"}})
    anchor = f"#{query['anchor']}" if "anchor" in query else ""
    return RedirectResponse(f"/events/{slug}/agenda?{params}{anchor}", status_code=303)


@router.post("/events/{slug}/agenda/feed-token", response_model=None)
@writes
def rotate_feed(
    slug: str,
    request: Request,
    session: SessionDep,
    principal: PortalPrincipal,
    csrf_token: Annotated[str, Form(max_length=100)],
    who: Who,
) -> Response:
    """A new secret calendar link; the old one stops working."""
    check_csrf(request, csrf_token)
    event = pitchday_service.get_event(session, slug=slug)
    party, ref = agenda.parse_key(who)
    participant = agenda.participant_for(
        session, event, party, ref, require_sign_in(principal, "sign in to see your agenda")
    )
    if not may_keep_agenda_feed(
        require_sign_in(principal, "sign in to see your agenda"), participant.owner_id
    ):
        raise NotFound("no calendar link of yours here", field="feed")
    agenda.rotate_feed_token(session, event_id=event.id or 0, participant=participant)
    return _back_to_agenda(slug, who, notice="feed_rotated", anchor="calendar")


@router.post("/events/{slug}/schedule/publication", response_model=None)
@writes
def publish_schedule(
    slug: str,
    request: Request,
    session: SessionDep,
    principal: PortalPrincipal,
    jobs: JobsDep,
    settings: SettingsDep,
    csrf_token: Annotated[str, Form(max_length=100)],
    version: Annotated[int, Form(ge=1, le=2**31 - 1)],
    who: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Publish the planned meetings and e-mail everyone their agenda (organiser)."""
    check_csrf(request, csrf_token)
    signed_in = require_sign_in(principal, "sign in to see your agenda")
    event = pitchday_service.get_event(session, slug=slug)
    base = public_base(request, settings)
    try:
        queued = agenda_mail.publish_schedule(
            session,
            event=event,
            expected_version=version,
            principal=signed_in,
            jobs=jobs,
            base_url=base,
        )
    except (Conflict, PreconditionFailed) as exc:
        code = (
            "schedule_nothing_planned" if isinstance(exc, Conflict) else "error_precondition_failed"
        )
        session.expire(event)
        raise Rejected(
            _agenda_page(
                request,
                session,
                signed_in,
                event,
                base,
                who or None,
                publish_error=code,
                status_code=exc.status_code,
                make_feed=False,  # this request holds the write lock: no second writer now
            )
        ) from exc
    notice = {"notice": "schedule_published_mailed", "num": queued} if queued else {}
    return _back_to_agenda(slug, who, **(notice or {"notice": "schedule_published"}))


@router.post("/events/{slug}/meetings/{meeting_id}/outcome", response_model=None)
@writes
def record_outcome(
    slug: str,
    meeting_id: MeetingId,
    request: Request,
    session: SessionDep,
    principal: PortalPrincipal,
    settings: SettingsDep,
    csrf_token: Annotated[str, Form(max_length=100)],
    who: Who,
    outcome: Annotated[str, Form(max_length=40)] = "",
    note: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    """Record a meeting's outcome from the agenda; errors come back beside their fields."""
    check_csrf(request, csrf_token)
    signed_in = require_sign_in(principal, "sign in to see your agenda")
    event = pitchday_service.get_event(session, slug=slug)
    errors: dict[str, str] = {}
    try:
        data = OutcomeUpdate.model_validate({"outcome": outcome or None, "note": note})
        done = outcomes.record_outcome(
            session, event=event, meeting_id=meeting_id, data=data, principal=signed_in
        )
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0])
            errors[name] = "too_long" if name == "note" else "choose_from_list"
    except Conflict:
        errors["outcome"] = "outcome_too_early"
    if errors:
        form = {"meeting_id": meeting_id, "values": {"outcome": outcome, "note": note}}
        raise Rejected(
            _agenda_page(
                request,
                session,
                signed_in,
                event,
                public_base(request, settings),
                who or None,
                outcome_form=form | {"errors": errors},
                status_code=422,
                make_feed=False,  # this request holds the write lock: no second writer now
            )
        )
    made = done.lead is not None and done.lead.created
    return _back_to_agenda(
        slug,
        who,
        notice="outcome_lead_made" if made else "outcome_saved",
        anchor=f"meeting-{meeting_id}",
    )


# --- check-in -----------------------------------------------------------------------------


def _clock(moment: datetime) -> str:
    return moment.astimezone(BANGKOK).strftime("%H:%M")


def _matches(participant: agenda.Participant, words: str) -> bool:
    text = f"{participant.name_th} {participant.name_en} {participant.ref}".casefold()
    return all(word in text for word in words.casefold().split())


@router.get("/events/{slug}/check-in", response_class=HTMLResponse)
@page()
def check_in_page(
    slug: str, request: Request, session: SessionDep, principal: PortalPrincipal
) -> HTMLResponse:
    """The check-in desk on a phone: everyone expected, a big toggle each, search by name."""
    signed_in = require_sign_in(principal, "sign in to see your agenda")
    event = pitchday_service.get_event(session, slug=slug)
    desk = outcomes.check_ins(session, event=event, principal=signed_in)
    query = request.query_params.get("q", "")[:100].strip()
    everyone = agenda.participants(session, event)
    shown = [p for p in everyone if _matches(p, query)] if query else everyone
    return render(
        request,
        "check_in.html",
        {
            "event": event,
            "desk": desk,
            "q": query,
            "investors": [p for p in shown if p.party is Party.investor],
            "listings": [p for p in shown if p.party is Party.listing],
            "csrf": csrf_token(request),
            "day_has_come": bangkok_date(utcnow()) >= event.held_on,
            "clock": _clock,
            **_notice(request),
        },
        principal=signed_in,
    )


@router.post("/events/{slug}/check-in", response_model=None)
@writes
def check_in(
    slug: str,
    request: Request,
    session: SessionDep,
    principal: PortalPrincipal,
    csrf_token: Annotated[str, Form(max_length=100)],
    who: Who,
    present: Annotated[bool, Form()],
    q: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_csrf(request, csrf_token)
    signed_in = require_sign_in(principal, "sign in to see your agenda")
    event = pitchday_service.get_event(session, slug=slug)
    ensure_may_organise(event, signed_in)
    party, ref = agenda.parse_key(who)
    participant = agenda.participant_for(session, event, party, ref, signed_in)
    outcomes.set_check_in(
        session, event=event, participant=participant, present=present, principal=signed_in
    )
    query = f"?{urlencode({'q': q})}" if q else ""
    anchor = f"#p-{participant.party.value}-{participant.ref}"
    return RedirectResponse(f"/events/{slug}/check-in{query}{anchor}", status_code=303)


@router.post("/events/{slug}/no-shows", response_model=None)
@writes
def record_no_shows(
    slug: str,
    request: Request,
    session: SessionDep,
    principal: PortalPrincipal,
    csrf_token: Annotated[str, Form(max_length=100)],
) -> Response:
    """Mark no-show the meetings of everyone not checked in (organiser, on the day)."""
    check_csrf(request, csrf_token)
    event = pitchday_service.get_event(session, slug=slug)
    marked = outcomes.record_no_shows(
        session, event=event, principal=require_sign_in(principal, "sign in to see your agenda")
    )
    return RedirectResponse(
        f"/events/{slug}/check-in?notice=no_shows_recorded&num={marked}", status_code=303
    )


# --- the organiser's figures --------------------------------------------------------------


@router.get("/events/{slug}/figures", response_class=HTMLResponse)
@page()
def figures_page(
    slug: str, request: Request, session: SessionDep, principal: PortalPrincipal
) -> HTMLResponse:
    signed_in = require_sign_in(principal, "sign in to see your agenda")
    event = pitchday_service.get_event(session, slug=slug)
    figures = outcomes.event_figures(session, event=event, principal=signed_in)
    return render(
        request, "event_figures.html", {"event": event, "figures": figures}, principal=signed_in
    )


@router.get("/events/{slug}/figures.csv", response_model=None)
@page()
def figures_spreadsheet(
    slug: str, request: Request, session: SessionDep, principal: PortalPrincipal
) -> Response:
    event = pitchday_service.get_event(session, slug=slug)
    figures = outcomes.event_figures(
        session, event=event, principal=require_sign_in(principal, "sign in to see your agenda")
    )
    body = figures_csv(figures, i18n.choose_language(request))
    return Response(body, media_type=CSV, headers=attachment(f"{slug}-figures.csv"))


# --- a listing's record, the evidence of its checkpoints ----------------------------------


@router.get("/listings/{slug}/pitch-days", response_class=HTMLResponse)
@page()
def listing_pitch_days(
    slug: str, request: Request, session: SessionDep, principal: PortalPrincipal
) -> HTMLResponse:
    """What came of a listing's meetings at pitch days, in numbers (no names, no notes)."""
    listing = readmodel.find_public_listing(session, ref=slug, viewer=principal)
    return render(
        request,
        "listing_pitch_days.html",
        {
            "listing": listing,
            "days": outcomes.listing_pitch_days(session, listing_id=listing.id),
        },
        principal=principal,
    )


@dataclass(frozen=True)
class Evidence:
    """A checkpoint's pitch-day evidence: the meetings in numbers, and the page to link."""

    record: outcomes.PitchRecord
    url: str


def checkpoint_evidence(
    request: Request, session: Session, checkpoints: Iterable[tuple[str, int, date]]
) -> dict[tuple[str, int], Evidence]:
    """For checkpoints (listing slug, months, due date), the pitch-day meetings recorded
    by each due date, with the absolute link offered as its evidence; a checkpoint with
    none is left out."""
    wanted: dict[str, list[tuple[int, date]]] = {}
    for slug, months, due_on in checkpoints:
        wanted.setdefault(slug, []).append((months, due_on))
    if not wanted:
        return {}
    rows = session.exec(select(Listing.slug, Listing.id).where(col(Listing.slug).in_(list(wanted))))
    ids = dict(rows.all())
    base = public_base(request, services_of(request).settings)
    found = {}
    for slug, due_dates in wanted.items():
        records = outcomes.checkpoint_evidence(
            session, listing_id=ids.get(slug) or 0, due_dates=due_dates
        )
        for months, record in records.items():
            found[(slug, months)] = Evidence(record, f"{base}/listings/{slug}/pitch-days")
    return found
