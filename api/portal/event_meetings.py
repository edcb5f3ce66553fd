"""The meetings page of a pitch day (``/events/{slug}/meetings``): investors and
publishers taking part mark their rounds, see the other side with its fit score, ask to
meet with a note and answer what they received; the organiser lets the scores propose
pairs and plans the schedule, with its quality and the pairs left out. Plain forms: no
JavaScript."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from api.deps import JobsDep, LimiterDep, ScoringDep, SessionDep, SettingsDep, StoreDep, writes
from api.errors import Rejected
from api.portal.rendering import (
    CSRF_FIELD,
    PortalPrincipal,
    check_csrf,
    csrf_token,
    page,
    render,
    require_sign_in,
)
from api.routes.alerts import public_base
from core.errors import AppError, Conflict, InvalidInput, PreconditionFailed, Unauthorized
from core.principal import Principal
from core.ratelimit import Rule
from core.schemas import reason_of
from core.settings import ScoringSettings
from matching.access import may_name_at_event, may_organise
from matching.matrix import MatrixStore
from matching.pitchday import agenda_mail, planning, requests, service
from matching.pitchday.meeting_schemas import (
    AvailabilityUpdate,
    MeetingRequestCreate,
    MeetingRequestPublic,
    ProposalRequest,
    RequestStatus,
    Side,
)
from matching.pitchday.models import PitchEvent
from matching.pitchday.schemas import DEFAULT_MIN_SCORE, slot_start
from matching.scoring import ListingMatrix

router = APIRouter()
Csrf = Annotated[str, Form(max_length=100, alias=CSRF_FIELD)]
Slug = Annotated[str, Path(max_length=80, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
SideKey = Annotated[
    str, Form(max_length=100, pattern=r"^(investor-[0-9]{1,10}|listing-[a-z0-9-]{1,80})$")
]
DEFAULT_PER_PARTICIPANT = 3
NOTICES = frozenset(
    {
        "meeting_availability_saved",
        "meeting_request_sent",
        "meeting_request_agreed",
        "meeting_request_accepted",
        "meeting_request_declined",
        "meeting_pairs_proposed",
        "meeting_planned",
    }
)


def _always(_: Principal | None) -> bool:
    return True  # the page scores pairs, which may rebuild the catalogue matrix


@dataclass
class Other:
    """Someone on the other side: a listing (for an investor) or an investor (for a
    listing's publisher), with the pair's fit and what was asked so far."""

    key: str  # what a request form posts as "to"
    name_th: str
    name_en: str
    href: str | None
    score: float | None
    state: str | None  # a message code, or None: nothing asked yet
    may_ask: bool


@dataclass
class SidePanel:
    key: str  # "investor-12" or "listing-fish-balls"
    kind: Side
    name_th: str
    name_en: str
    rounds: set[int]
    every_round: bool
    others: list[Other]
    received: list[MeetingRequestPublic]
    sent: list[MeetingRequestPublic]


@dataclass
class Posted:
    """What a form posted and what is wrong with it, to show the page again."""

    name: str  # which form: "availability:<side>", "request:<side>:<to>", "proposals"
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _panels(
    session: Session,
    event: PitchEvent,
    principal: Principal,
    present: requests.Attendance,
    sides: requests.Sides,
    scores: dict[requests.PairKey, tuple[float, bool]],
) -> list[SidePanel]:
    marked = requests.free_rounds(session, event)
    mine = requests.requests_of(session, event=event, principal=principal) if sides else None
    every = set(range(event.round_count))
    panels: list[SidePanel] = []
    for profile in sides.profiles:
        pid = profile.id or 0
        sent = [r for r in mine.sent if r.investor_profile_id == pid] if mine else []
        received = [r for r in mine.received if r.investor_profile_id == pid] if mine else []
        others = [
            _other(
                f"listing-{listing.slug}",
                listing.title_th,
                listing.title_en,
                f"/listings/{listing.slug}",
                scores.get((listing.id or 0, pid)),
                [r for r in sent + received if r.listing_slug == listing.slug],
                Side.investor,
            )
            for listing in present.listings.values()
        ]
        rounds = marked.get((Side.investor.value, pid))
        panels.append(
            SidePanel(
                f"investor-{pid}",
                Side.investor,
                profile.name,
                profile.name,
                set(rounds) & every if rounds is not None else every,
                rounds is None,
                _by_fit(others),
                received,
                sent,
            )
        )
    for listing in sides.listings:
        lid = listing.id or 0
        sent = [r for r in mine.sent if r.listing_slug == listing.slug] if mine else []
        received = [r for r in mine.received if r.listing_slug == listing.slug] if mine else []
        others = [
            _other(
                f"investor-{profile.id}",
                profile.name,
                profile.name,
                None,
                scores.get((lid, profile.id or 0)),
                [r for r in sent + received if r.investor_profile_id == profile.id],
                Side.listing,
            )
            for profile in present.profiles.values()
            if may_name_at_event(event, profile, principal)
        ]
        rounds = marked.get((Side.listing.value, lid))
        panels.append(
            SidePanel(
                f"listing-{listing.slug}",
                Side.listing,
                listing.title_th,
                listing.title_en,
                set(rounds) & every if rounds is not None else every,
                rounds is None,
                _by_fit(others),
                received,
                sent,
            )
        )
    return panels


def _other(
    key: str,
    name_th: str,
    name_en: str,
    href: str | None,
    scored: tuple[float, bool] | None,
    asked: list[MeetingRequestPublic],
    me: Side,
) -> Other:
    mine = next((r for r in asked if r.requested_by == me), None)
    theirs = next((r for r in asked if r.requested_by not in (me, Side.proposal)), None)
    proposal = next((r for r in asked if r.requested_by == Side.proposal), None)
    state: str | None = None
    ended = any(r.status == RequestStatus.declined for r in (mine, theirs) if r is not None)
    if ended or (proposal and proposal.status == RequestStatus.declined):
        state = "meeting_state_declined"
    elif mine and theirs:
        state = "meeting_state_mutual"
    elif mine:
        state = f"meeting_state_you_asked_{mine.status.value}"
    elif theirs:
        state = f"meeting_state_they_asked_{theirs.status.value}"
    elif proposal:
        state = "meeting_state_proposed"
    return Other(
        key=key,
        name_th=name_th,
        name_en=name_en,
        href=href,
        score=scored[0] if scored else None,
        state=state,
        may_ask=mine is None and not ended,  # a declined proposal leaves asking open
    )


def _by_fit(others: list[Other]) -> list[Other]:
    return sorted(others, key=lambda o: (-(o.score or 0.0), o.name_en, o.key))


def _meetings_page(
    request: Request,
    session: Session,
    principal: Principal | None,
    event: PitchEvent,
    catalogue: ListingMatrix,
    settings: ScoringSettings,
    *,
    form: Posted | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    if principal is None:
        raise Unauthorized("sign in to take part in the meetings", field="session")
    organiser = may_organise(event, principal)
    present = requests.attendance(session, event)
    sides = requests.own_sides(present, principal)
    if not organiser:
        requests.ensure_takes_part(sides)
    scores = requests.fit_scores(session, present, catalogue, settings) if sides else {}
    report = (
        planning.schedule_report(session, event=event, principal=principal) if organiser else None
    )
    counts: dict[str, int] = {}
    if organiser:
        for pair, source in planning.wanted_pairs(session, event).items():
            if pair[0] in present.listings and pair[1] in present.profiles:
                counts[source] = counts.get(source, 0) + 1
    public = service.event_public(session, event, principal)
    rounds = [
        (
            r,
            slot_start(event.round_first, event.round_minutes, r),
            slot_start(event.round_first, event.round_minutes, r + 1),
        )
        for r in range(event.round_count)
    ]
    notice = request.query_params.get("notice", "")
    number = request.query_params.get("num", "")[:6]
    titles = {x.slug: x.title_th or x.title_en for x in present.listings.values()}
    titles_en = {x.slug: x.title_en or x.title_th for x in present.listings.values()}
    context = {
        "event": public,
        "rounds": rounds,
        "panels": _panels(session, event, principal, present, sides, scores),
        "organiser": organiser,
        "report": report,
        "counts": counts,
        "titles": titles,
        "titles_en": titles_en,
        "csrf": csrf_token(request),
        "form": form or Posted(""),
        "notice": notice if notice in NOTICES else None,
        "notice_num": number if number.isdigit() else "",
        "defaults": {
            "min_score": int(DEFAULT_MIN_SCORE),
            "per_participant": DEFAULT_PER_PARTICIPANT,
        },
    }
    return render(
        request, "event_meetings.html", context, status_code=status_code, principal=principal
    )


@router.get("/events/{slug}/meetings", response_class=HTMLResponse)
@page(worker_thread_for=_always)
def meetings_page(
    slug: Slug,
    request: Request,
    session: SessionDep,
    principal: PortalPrincipal,
    store: StoreDep,
    settings: ScoringDep,
) -> HTMLResponse:
    event = service.get_event(session, slug=slug)
    return _meetings_page(request, session, principal, event, store.matrix(session), settings)


def _done(slug: str, notice: str, anchor: str = "", num: int | None = None) -> RedirectResponse:
    query = f"notice={notice}" + (f"&num={num}" if num is not None else "")
    return RedirectResponse(f"/events/{slug}/meetings?{query}{anchor}", status_code=303)


def _again(
    request: Request,
    session: Session,
    principal: Principal,
    slug: str,
    store: MatrixStore,
    settings: ScoringSettings,
    form: Posted,
    status_code: int = 422,
) -> Rejected:
    """The page again (the unit of work rolled back), with the form as typed."""
    event = service.get_event(session, slug=slug)
    session.refresh(event)
    return Rejected(
        _meetings_page(
            request,
            session,
            principal,
            event,
            store.matrix(session),
            settings,
            form=form,
            status_code=status_code,
        )
    )


def _code(exc: AppError) -> str:
    """What a refusal from the services means to the person who sent the form."""
    if isinstance(exc, PreconditionFailed):
        return "meeting_event_changed"
    if isinstance(exc, Conflict):
        return "meeting_already_asked" if exc.field != "schedule" else "meeting_outcomes_recorded"
    if isinstance(exc, InvalidInput):
        if "yourself" in exc.message:
            return "meeting_yourself"
        if exc.field == "rounds":
            return "meeting_rounds_none" if "at least one" in exc.message else "bad_value"
        if exc.field in ("listing", "investor_profile_id"):
            return "meeting_not_attending"
    return "bad_value"


def _side(key: str) -> dict[str, Any]:
    kind, _, ref = key.partition("-")
    return {"investor_profile_id": int(ref)} if kind == "investor" else {"listing": ref}


@router.post("/events/{slug}/meetings/availability", response_model=None)
@writes
def save_availability(
    slug: Slug,
    request: Request,
    session: SessionDep,
    principal: PortalPrincipal,
    store: StoreDep,
    settings: ScoringDep,
    csrf: Csrf,
    side: SideKey,
    rounds: Annotated[list[Annotated[int, Form(ge=0, le=999)]], Form(alias="round")] = [],  # noqa: B006
) -> Response:
    check_csrf(request, csrf)
    principal = require_sign_in(principal, "sign in to take part in the meetings")
    event = service.get_event(session, slug=slug)
    form = Posted(f"availability:{side}", {"rounds": set(rounds)})
    chosen = sorted(set(rounds))
    every = chosen == list(range(event.round_count))
    try:
        requests.set_availability(
            session,
            event=event,
            principal=principal,
            data=AvailabilityUpdate.model_validate(
                _side(side) | {"rounds": None if every else chosen}
            ),
        )
    except (InvalidInput, Conflict) as exc:
        form.errors["rounds"] = _code(exc)
        raise _again(request, session, principal, slug, store, settings, form) from None
    return _done(slug, "meeting_availability_saved", f"#{side}")


@router.post("/events/{slug}/meetings/requests", response_model=None)
@writes
def ask_to_meet(
    slug: Slug,
    request: Request,
    session: SessionDep,
    principal: PortalPrincipal,
    store: StoreDep,
    settings: ScoringDep,
    limiter: LimiterDep,
    csrf: Csrf,
    side: SideKey,
    to: SideKey,
    note: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    check_csrf(request, csrf)
    principal = require_sign_in(principal, "sign in to take part in the meetings")
    limiter.hit_organisation(Rule.meeting_requests, principal)
    event = service.get_event(session, slug=slug)
    form = Posted(f"request:{side}:{to}", {"note": note})
    pair = _side(side) | _side(to)
    try:
        data = MeetingRequestCreate.model_validate(pair | {"note": note})
    except ValidationError as exc:
        for error in exc.errors():
            where = str(error["loc"][0])
            form.errors[where] = (
                "meeting_note_too_long" if where == "note" else reason_of(error["type"])
            )
        raise _again(request, session, principal, slug, store, settings, form) from None
    try:
        sent = requests.send_request(session, event=event, principal=principal, data=data)
    except (InvalidInput, Conflict) as exc:
        form.errors["note"] = _code(exc)
        raise _again(
            request, session, principal, slug, store, settings, form, exc.status_code
        ) from None
    notice = (
        "meeting_request_agreed"
        if sent.status == RequestStatus.accepted
        else "meeting_request_sent"
    )
    return _done(slug, notice, f"#{side}")


@router.post("/events/{slug}/meetings/requests/{request_id}/{decision}", response_model=None)
@writes
def answer_request(
    slug: Slug,
    request_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    decision: Annotated[str, Path(pattern=r"^(accept|decline)$")],
    request: Request,
    session: SessionDep,
    principal: PortalPrincipal,
    csrf: Csrf,
    side: SideKey,
) -> Response:
    check_csrf(request, csrf)
    principal = require_sign_in(principal, "sign in to take part in the meetings")
    event = service.get_event(session, slug=slug)
    requests.decide_request(
        session,
        event=event,
        principal=principal,
        request_id=request_id,
        accept=decision == "accept",
    )
    notice = "meeting_request_accepted" if decision == "accept" else "meeting_request_declined"
    return _done(slug, notice, f"#{side}")


@router.post("/events/{slug}/meetings/proposals", response_model=None)
@writes
def propose_pairs(
    slug: Slug,
    request: Request,
    session: SessionDep,
    principal: PortalPrincipal,
    store: StoreDep,
    settings: ScoringDep,
    csrf: Csrf,
    version: Annotated[int, Form(ge=1)],
    min_score: Annotated[str, Form(max_length=20)] = "",
    per_participant: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    check_csrf(request, csrf)
    principal = require_sign_in(principal, "sign in to take part in the meetings")
    event = service.get_event(session, slug=slug)
    form = Posted("proposals", {"min_score": min_score, "per_participant": per_participant})
    try:
        data = ProposalRequest.model_validate(
            {
                name: value.strip()
                for name, value in (("min_score", min_score), ("per_participant", per_participant))
                if value.strip()
            }
        )
    except ValidationError as exc:
        for error in exc.errors():
            form.errors[str(error["loc"][0])] = reason_of(error["type"])
        raise _again(request, session, principal, slug, store, settings, form) from None
    try:
        made = requests.propose(
            session,
            event=event,
            principal=principal,
            expected_version=version,
            catalogue=store.matrix(session),
            settings=settings,
            min_score=data.min_score,
            per_participant=data.per_participant,
        )
    except PreconditionFailed as exc:
        form.errors["form"] = _code(exc)
        raise _again(request, session, principal, slug, store, settings, form, 409) from None
    return _done(slug, "meeting_pairs_proposed", "#plan", num=len(made.data))


@router.post("/events/{slug}/meetings/schedule", response_model=None)
@writes
def plan_schedule(
    slug: Slug,
    request: Request,
    session: SessionDep,
    principal: PortalPrincipal,
    store: StoreDep,
    settings: ScoringDep,
    jobs: JobsDep,
    app_settings: SettingsDep,
    csrf: Csrf,
    version: Annotated[int, Form(ge=1)],
) -> Response:
    """Plan the schedule; once it is published, whoever's agenda changes gets it again."""
    check_csrf(request, csrf)
    principal = require_sign_in(principal, "sign in to take part in the meetings")
    event = service.get_event(session, slug=slug)
    form = Posted("schedule")
    base = public_base(request, app_settings)
    try:
        with agenda_mail.mailing_changes(session, event, jobs=jobs, base_url=base):
            planning.build_schedule(
                session,
                event=event,
                principal=principal,
                expected_version=version,
                catalogue=store.matrix(session),
                settings=settings,
            )
    except (PreconditionFailed, Conflict) as exc:
        form.errors["form"] = _code(exc)
        raise _again(request, session, principal, slug, store, settings, form, 409) from None
    return _done(slug, "meeting_planned", "#plan")
