"""What happened on a pitch day: who checked in, who did not come, what came of each
meeting, and where that leads.

The rules:

* The organiser's staff check participants in (and undo it); the first check-in time is
  kept. Meetings without an outcome whose investor or listing never checked in can be
  marked no-show in one go.
* Each meeting's outcome (no show, met, follow-up agreed, letter of intent, with a note)
  is recorded by the organiser or the listing's publisher, from the day of the event on.
* Outcomes feed the city's leads: a follow-up or a letter of intent creates the lead (an
  ``Interest`` of that investor profile in that listing) when there is none, or moves its
  status up to at least "meeting" (follow-up) or "letter-of-intent" (LOI). A lead never
  moves backwards: a won or lost lead, or one the investor withdrew, stays as it is; and
  changing an outcome later never undoes what it did to the lead.
* Outcomes count as evidence at the listing's 6- and 12-month checkpoints: the meetings of
  every pitch day held by the checkpoint's due date.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select as sql_select
from sqlalchemy import update
from sqlmodel import Session, col, select

from catalog.models import City, Listing
from catalog.taxonomy import SECTOR_LABELS, Sector
from core.db import utcnow
from core.errors import Conflict, NotFound
from core.formatting import bangkok_date
from core.principal import Principal
from matching.access import ensure_may_organise, ensure_may_record_outcome
from matching.models import Interest
from matching.pitchday.agenda import Participant, participants
from matching.pitchday.day_schemas import (
    HELD,
    CheckInsPublic,
    EventFigures,
    FigureRow,
    LeadEffect,
    MeetingOutcomePublic,
    Outcome,
    OutcomeUpdate,
    Party,
)
from matching.pitchday.models import EventInvestor, EventListing, Meeting, PitchEvent
from matching.schemas import LeadStatus

# How far along a lead is; an outcome only ever moves a lead up this ladder.
LEAD_RANK = {
    LeadStatus.new: 0,
    LeadStatus.contacted: 1,
    LeadStatus.meeting: 2,
    LeadStatus.letter_of_intent: 3,
}
LEAD_FLOOR = {
    Outcome.follow_up: LeadStatus.meeting,
    Outcome.letter_of_intent: LeadStatus.letter_of_intent,
}


def _today() -> date:
    return bangkok_date(utcnow())


def _ensure_day_has_come(event: PitchEvent, today: date | None) -> None:
    if (today or _today()) < event.held_on:
        raise Conflict(
            f"outcomes are recorded from the day of the event ({event.held_on.isoformat()})",
            field="outcome",
        )


# --- check-in -----------------------------------------------------------------------------


def set_check_in(
    session: Session,
    *,
    event: PitchEvent,
    participant: Participant,
    present: bool,
    principal: Principal,
) -> Participant:
    """Check a participant in (the first time is kept) or undo it."""
    ensure_may_organise(event, principal)
    if participant.party is Party.investor:
        table: type[EventInvestor] | type[EventListing] = EventInvestor
        which = col(EventInvestor.investor_profile_id) == participant.id
    else:
        table = EventListing
        which = col(EventListing.listing_id) == participant.id
    statement = update(table).where(col(table.event_id) == event.id, which)
    if present:
        statement = statement.where(col(table.checked_in_at).is_(None)).values(
            checked_in_at=utcnow()
        )
    else:
        statement = statement.values(checked_in_at=None)
    session.execute(statement.execution_options(synchronize_session=False))
    session.flush()
    return next(
        p
        for p in participants(session, event)
        if p.party is participant.party and p.id == participant.id
    )


def check_ins(session: Session, *, event: PitchEvent, principal: Principal) -> CheckInsPublic:
    """Everyone expected at the event, and who is here."""
    ensure_may_organise(event, principal)
    everyone = participants(session, event)
    investors = [p.public() for p in everyone if p.party is Party.investor]
    listings = [p.public() for p in everyone if p.party is Party.listing]
    return CheckInsPublic(
        investors=investors,
        listings=listings,
        investors_checked_in=sum(p.checked_in_at is not None for p in investors),
        listings_checked_in=sum(p.checked_in_at is not None for p in listings),
    )


def record_no_shows(
    session: Session, *, event: PitchEvent, principal: Principal, today: date | None = None
) -> int:
    """Mark no-show every meeting without an outcome whose investor or listing has not
    checked in; returns how many. Recorded outcomes are left as they are."""
    ensure_may_organise(event, principal)
    _ensure_day_has_come(event, today)
    present = {(p.party, p.id) for p in participants(session, event) if p.checked_in_at is not None}
    now = utcnow()
    marked = 0
    for meeting in session.exec(
        select(Meeting).where(Meeting.event_id == event.id, col(Meeting.outcome).is_(None))
    ):
        both_here = (Party.investor, meeting.investor_profile_id) in present and (
            Party.listing,
            meeting.listing_id,
        ) in present
        if not both_here:
            meeting.outcome, meeting.outcome_at = Outcome.no_show.value, now
            session.add(meeting)
            marked += 1
    session.flush()
    return marked


# --- outcomes and leads -------------------------------------------------------------------


def get_meeting(session: Session, *, event: PitchEvent, meeting_id: int) -> Meeting:
    meeting = session.get(Meeting, meeting_id)
    if meeting is None or meeting.event_id != event.id:
        raise NotFound(f"no meeting {meeting_id} at this event", field="meeting")
    return meeting


def record_outcome(
    session: Session,
    *,
    event: PitchEvent,
    meeting_id: int,
    data: OutcomeUpdate,
    principal: Principal,
    today: date | None = None,
) -> MeetingOutcomePublic:
    """Record what came of a meeting (the organiser or the listing's publisher), and let a
    follow-up or a letter of intent make or move the lead."""
    meeting = get_meeting(session, event=event, meeting_id=meeting_id)
    listing = session.get(Listing, meeting.listing_id)
    assert listing is not None  # the meeting goes with its listing
    ensure_may_record_outcome(event, principal, listing.organisation_id)
    if data.outcome is not None:
        _ensure_day_has_come(event, today)
    changed = (meeting.outcome, meeting.outcome_note) != (
        data.outcome.value if data.outcome else None,
        data.note,
    )
    meeting.outcome = data.outcome.value if data.outcome else None
    meeting.outcome_note = data.note
    if changed:
        meeting.outcome_at = utcnow() if data.outcome or data.note else None
    session.add(meeting)
    lead = feed_lead(session, event=event, meeting=meeting) if data.outcome else None
    session.flush()
    return MeetingOutcomePublic(
        meeting_id=meeting.id or 0,
        slot=meeting.slot,
        listing_slug=listing.slug,
        investor_profile_id=meeting.investor_profile_id,
        outcome=Outcome(meeting.outcome) if meeting.outcome else None,
        note=meeting.outcome_note,
        outcome_at=meeting.outcome_at,
        lead=lead,
    )


def feed_lead(session: Session, *, event: PitchEvent, meeting: Meeting) -> LeadEffect | None:
    """Make or move the lead of the meeting's investor and listing, as the outcome says."""
    floor = LEAD_FLOOR.get(Outcome(meeting.outcome)) if meeting.outcome else None
    if floor is None:
        return None
    interest = session.exec(
        select(Interest).where(
            Interest.listing_id == meeting.listing_id,
            Interest.investor_profile_id == meeting.investor_profile_id,
        )
    ).first()
    now = utcnow()
    if interest is None:
        interest = Interest(
            listing_id=meeting.listing_id,
            investor_profile_id=meeting.investor_profile_id,
            status=floor.value,
            notes=_lead_note(event, meeting),
            created_at=now,
            updated_at=now,
        )
        session.add(interest)
        session.flush()
        return LeadEffect(lead_id=interest.id or 0, status=floor.value, created=True, advanced=True)
    status = LeadStatus(interest.status)
    movable = interest.withdrawn_at is None and status in LEAD_RANK
    advanced = movable and LEAD_RANK[status] < LEAD_RANK[floor]
    if advanced:
        interest.status = floor.value
        interest.updated_at = now
        session.add(interest)
    return LeadEffect(
        lead_id=interest.id or 0, status=interest.status, created=False, advanced=advanced
    )


def _lead_note(event: PitchEvent, meeting: Meeting) -> str:
    """Where a lead the pitch day made came from, in the city's notes."""
    said = "ตกลงติดตามผล / Follow-up agreed"
    if meeting.outcome == Outcome.letter_of_intent:
        said = "หนังสือแสดงเจตจำนง / Letter of intent"
    source = f"{event.name_th} ({event.held_on.isoformat()}): {said}"
    return f"{source}\n{meeting.outcome_note}".strip()


# --- figures ------------------------------------------------------------------------------


@dataclass
class _Tally:
    planned: int = 0
    held: int = 0
    no_shows: int = 0
    follow_ups: int = 0
    letters_of_intent: int = 0
    unrecorded: int = 0

    def count(self, outcome: str | None) -> None:
        self.planned += 1
        if outcome is None:
            self.unrecorded += 1
            return
        kind = Outcome(outcome)
        self.held += kind in HELD
        self.no_shows += kind is Outcome.no_show
        self.follow_ups += kind is Outcome.follow_up
        self.letters_of_intent += kind is Outcome.letter_of_intent

    def row(self, key: str, name_th: str, name_en: str) -> FigureRow:
        return FigureRow(key=key, name_th=name_th, name_en=name_en, **self.__dict__)


def _grouped(
    rows: Iterable[tuple[str | None, str]], names: Callable[[str], tuple[str, str]]
) -> list[FigureRow]:
    tallies: dict[str, _Tally] = {}
    for outcome, key in rows:
        tallies.setdefault(key, _Tally()).count(outcome)
    found = [tally.row(key, *names(key)) for key, tally in tallies.items()]
    return sorted(found, key=lambda r: (-r.planned, r.name_en, r.key))


def event_figures(session: Session, *, event: PitchEvent, principal: Principal) -> EventFigures:
    """The day in numbers: meetings planned, held, missed, followed up and with a letter of
    intent, in all and by the listing's city and sector; and who checked in."""
    ensure_may_organise(event, principal)
    rows = session.execute(
        sql_select(col(Meeting.outcome), col(Listing.sector), col(City.slug), col(City.name_th))
        .add_columns(col(City.name_en))
        .join(Listing, col(Listing.id) == Meeting.listing_id)
        .join(City, col(City.id) == Listing.city_id)
        .where(col(Meeting.event_id) == event.id)
    ).all()
    total = _Tally()
    for outcome, *_ in rows:
        total.count(outcome)
    cities = {slug: (th, en) for _, _, slug, th, en in rows}

    def sector_names(key: str) -> tuple[str, str]:
        label = SECTOR_LABELS.get(Sector(key)) if key in Sector.__members__.values() else None
        return (label.th, label.en) if label else (key, key)

    everyone = participants(session, event)
    investors = [p for p in everyone if p.party is Party.investor]
    listings = [p for p in everyone if p.party is Party.listing]
    return EventFigures(
        event=event.slug,
        total=total.row("all", "ทั้งหมด", "All"),
        by_city=_grouped(((o, slug) for o, _, slug, _, _ in rows), lambda k: cities[k]),
        by_sector=_grouped(((o, sector) for o, sector, *_ in rows), sector_names),
        investors=len(investors),
        investors_checked_in=sum(p.checked_in_at is not None for p in investors),
        listings=len(listings),
        listings_checked_in=sum(p.checked_in_at is not None for p in listings),
    )


# --- evidence at the listing's checkpoints ------------------------------------------------


@dataclass(frozen=True)
class PitchRecord:
    """A listing's meetings at pitch days, as their outcomes were recorded."""

    events: int
    held: int
    follow_ups: int
    letters_of_intent: int
    no_shows: int

    @property
    def any(self) -> bool:
        return self.held + self.no_shows > 0


@dataclass(frozen=True)
class EventRecord:
    slug: str
    name_th: str
    name_en: str
    held_on: date
    record: PitchRecord


def _record(outcomes: Sequence[str | None], events: int) -> PitchRecord:
    counted = Counter(Outcome(o) for o in outcomes if o is not None)
    return PitchRecord(
        events=events,
        held=sum(counted[o] for o in HELD),
        follow_ups=counted[Outcome.follow_up],
        letters_of_intent=counted[Outcome.letter_of_intent],
        no_shows=counted[Outcome.no_show],
    )


def listing_pitch_days(session: Session, *, listing_id: int) -> list[EventRecord]:
    """The pitch days where the listing had meetings, with what came of them, latest first."""
    rows = session.exec(
        select(PitchEvent, Meeting.outcome)
        .join(Meeting, col(Meeting.event_id) == PitchEvent.id)
        .where(Meeting.listing_id == listing_id)
        .order_by(col(PitchEvent.held_on).desc(), col(PitchEvent.id))
    ).all()
    by_event: dict[int, tuple[PitchEvent, list[str | None]]] = {}
    for event, outcome in rows:
        by_event.setdefault(event.id or 0, (event, []))[1].append(outcome)
    return [
        EventRecord(e.slug, e.name_th, e.name_en, e.held_on, _record(outcomes, 1))
        for e, outcomes in by_event.values()
    ]


def checkpoint_evidence(
    session: Session, *, listing_id: int, due_dates: Sequence[tuple[int, date]]
) -> dict[int, PitchRecord]:
    """For each checkpoint (months, due date), the listing's pitch-day meetings at events
    held by that date; a checkpoint with none recorded is left out."""
    days = listing_pitch_days(session, listing_id=listing_id)
    found = {}
    for months, due_on in due_dates:
        counted = [d.record for d in days if d.held_on <= due_on]
        record = PitchRecord(
            events=len(counted),
            held=sum(r.held for r in counted),
            follow_ups=sum(r.follow_ups for r in counted),
            letters_of_intent=sum(r.letters_of_intent for r in counted),
            no_shows=sum(r.no_shows for r in counted),
        )
        if record.any:
            found[months] = record
    return found
