"""Agendas of a pitch day: each participant's meetings in time order, with the round's
time, the table, the other party and the pitch programme; as iCalendar, with a secret
feed per participant that calendar apps subscribe to.

A participant is an attending investor profile (``EventInvestor``) or a listing at the
event (``EventListing``, its publisher's). Before the organiser publishes the schedule,
only the organiser sees the meetings: a draft plan is nobody's appointment yet.

Calendar events keep their identity across re-planning: a meeting's UID is derived from
the event, the investor and the listing only, so a calendar that reads the feed again
(or imports the file again) moves the meeting instead of adding a second one; SEQUENCE is
the event's version, which every change of the event or its plan moves up.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from icalendar import Calendar, Event
from sqlalchemy import update
from sqlmodel import Session, col, select

from catalog.models import Listing
from catalog.readmodel import city_refs
from catalog.taxonomy import ListingStatus
from core.errors import NotFound
from core.formatting import BANGKOK
from core.principal import Principal
from matching.access import may_organise, may_see_agenda, names_investor_to
from matching.models import InvestorProfile
from matching.pitchday.day_schemas import (
    AgendaEvent,
    AgendaMeeting,
    AgendaPublic,
    Outcome,
    ParticipantPublic,
    Party,
    PitchSlot,
)
from matching.pitchday.models import EventInvestor, EventListing, Meeting, PitchEvent

UID_DOMAIN = "citydeal"  # the right-hand side of every UID: never change it
PRODID = "-//citydeal//Pitch day agendas//EN"
FEED_REFRESH = timedelta(hours=1)


# --- who takes part -----------------------------------------------------------------------


@dataclass(frozen=True)
class Participant:
    party: Party
    id: int  # the investor profile's id, or the listing's
    ref: str  # how URLs name it: the profile's id, the listing's slug
    name_th: str
    name_en: str
    owner_id: int  # the organisation whose people this agenda is for
    checked_in_at: datetime | None
    has_feed: bool

    @property
    def key(self) -> str:
        """``investor:12``, ``listing:fish-balls``: the participant in a form or a job."""
        return f"{self.party.value}:{self.ref}"

    def public(self) -> ParticipantPublic:
        return ParticipantPublic(
            party=self.party,
            ref=self.ref,
            name_th=self.name_th,
            name_en=self.name_en,
            checked_in_at=self.checked_in_at,
        )


def participants(session: Session, event: PitchEvent) -> list[Participant]:
    """Every attending investor, then every listing at the event, each in the event's order."""
    found = [
        Participant(
            Party.investor,
            profile.id or 0,
            str(profile.id),
            profile.name,
            profile.name,
            profile.organisation_id,
            row.checked_in_at,
            row.agenda_token is not None,
        )
        for row, profile in session.exec(
            select(EventInvestor, InvestorProfile)
            .join(InvestorProfile, col(InvestorProfile.id) == EventInvestor.investor_profile_id)
            .where(EventInvestor.event_id == event.id)
            .order_by(col(EventInvestor.position), col(InvestorProfile.id))
        )
    ]
    found += [
        Participant(
            Party.listing,
            listing.id or 0,
            listing.slug,
            listing.title_th,
            listing.title_en,
            listing.organisation_id,
            row.checked_in_at,
            row.agenda_token is not None,
        )
        for row, listing in session.exec(
            select(EventListing, Listing)
            .join(Listing, col(Listing.id) == EventListing.listing_id)
            .where(EventListing.event_id == event.id)
            .order_by(col(EventListing.position), col(Listing.id))
        )
    ]
    return found


def parse_key(key: str) -> tuple[Party, str]:
    """``investor:12`` → (investor, "12"); NotFound for anything else."""
    party, _, ref = key.partition(":")
    if party not in Party.__members__ or not ref:
        raise NotFound(f"no participant '{key}'", field="participant")
    return Party(party), ref


def find_participant(session: Session, event: PitchEvent, party: Party, ref: str) -> Participant:
    """The participant ``ref`` names (a profile id, a listing slug); 404 if not at the event."""
    for participant in participants(session, event):
        if participant.party is party and participant.ref == ref:
            return participant
    raise NotFound(f"no {party.value} '{ref}' at this event", field="participant")


def participant_for(
    session: Session, event: PitchEvent, party: Party, ref: str, viewer: Principal | None
) -> Participant:
    """The participant whose agenda ``viewer`` asks for: one not at the event and one the
    viewer may not read are the same 404 (who attends is not everyone's business)."""
    try:
        participant = find_participant(session, event, party, ref)
    except NotFound:
        participant = None
    if participant is None or not may_see_agenda(event, viewer, participant.owner_id):
        raise NotFound(f"no agenda of {party.value} '{ref}' at this event", field="participant")
    return participant


def visible_participants(
    session: Session, event: PitchEvent, principal: Principal | None
) -> list[Participant]:
    """The participants whose agenda ``principal`` may read: its own, or all for the organiser."""
    return [p for p in participants(session, event) if may_see_agenda(event, principal, p.owner_id)]


# --- the agenda ---------------------------------------------------------------------------


def _at(day: date, first: str, minutes: int, index: int) -> tuple[datetime, datetime]:
    """Start and end of the ``index``-th slot of ``minutes`` from ``first`` (HH:MM, Bangkok)."""
    start = datetime.combine(day, time.fromisoformat(first), tzinfo=BANGKOK)
    start += timedelta(minutes=minutes * index)
    return start, start + timedelta(minutes=minutes)


def round_span(event: PitchEvent, slot: int) -> tuple[datetime, datetime]:
    return _at(event.held_on, event.round_first, event.round_minutes, slot)


def _uid(*parts: object) -> str:
    """A UID from what identifies the thing, and nothing that a re-plan changes; hashed, so
    that it does not show an investor's id to the other side."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:32]
    return f"{digest}@{UID_DOMAIN}"


def meeting_uid(event_id: int, investor_profile_id: int, listing_id: int) -> str:
    return _uid("meeting", event_id, investor_profile_id, listing_id)


@dataclass(frozen=True)
class _Day:
    """Everything agendas of one event read, loaded once for any number of agendas."""

    event: PitchEvent
    meetings: list[Meeting]
    listings: dict[int, Listing]
    profiles: dict[int, InvestorProfile]
    programme: list[Listing]
    event_ref: AgendaEvent

    @classmethod
    def load(cls, session: Session, event: PitchEvent) -> _Day:
        meetings = list(
            session.exec(
                select(Meeting)
                .where(Meeting.event_id == event.id)
                .order_by(col(Meeting.slot), col(Meeting.listing_id))
            )
        )
        pitching = list(
            session.exec(
                select(EventListing.listing_id)
                .where(EventListing.event_id == event.id)
                .order_by(col(EventListing.position), col(EventListing.listing_id))
            )
        )
        listing_ids = {m.listing_id for m in meetings} | set(pitching)
        listings = {
            listing.id or 0: listing
            for listing in session.exec(select(Listing).where(col(Listing.id).in_(listing_ids)))
        }
        profile_ids = {m.investor_profile_id for m in meetings}
        profiles = {
            profile.id or 0: profile
            for profile in session.exec(
                select(InvestorProfile).where(col(InvestorProfile.id).in_(profile_ids))
            )
        }
        programme = [
            listings[i]
            for i in pitching
            if i in listings and listings[i].status == ListingStatus.published
        ]
        event_ref = AgendaEvent(
            slug=event.slug,
            name_th=event.name_th,
            name_en=event.name_en,
            venue_th=event.venue_th,
            venue_en=event.venue_en,
            held_on=event.held_on,
            city=city_refs(session, [event.city_id])[event.city_id],
            sequence=event.version,
            revised_at=max(event.updated_at, event.scheduled_at or event.updated_at),
        )
        return cls(event, meetings, listings, profiles, programme, event_ref)

    def agenda(
        self, participant: Participant, *, names_all: bool, show_draft: bool
    ) -> AgendaPublic:
        """``participant``'s agenda. ``names_all``: the organiser's view, where every investor
        is named; else an investor is named as ``names_investor_to`` says. ``show_draft``:
        the meetings of a schedule not yet published are shown too."""
        event = self.event
        published = event.schedule_published_at is not None
        by_investor = participant.party is Party.investor
        meetings = []
        for meeting in self.meetings if (published or show_draft) else []:
            mine = meeting.investor_profile_id if by_investor else meeting.listing_id
            listing = self.listings.get(meeting.listing_id)
            profile = self.profiles.get(meeting.investor_profile_id)
            if mine != participant.id or listing is None or profile is None:
                continue
            if listing.status != ListingStatus.published:
                continue  # withdrawn since the plan: the event page drops it too
            starts, ends = round_span(event, meeting.slot)
            ref: str | None
            th: str | None
            en: str | None
            if by_investor:
                with_party, ref, th, en = (
                    Party.listing,
                    listing.slug,
                    listing.title_th,
                    listing.title_en,
                )
            else:
                with_party, ref, th, en = Party.investor, None, None, None
                if names_all or names_investor_to(event, profile, participant.owner_id):
                    ref, th, en = str(profile.id), profile.name, profile.name
            meetings.append(
                AgendaMeeting(
                    meeting_id=meeting.id or 0,
                    uid=meeting_uid(event.id or 0, meeting.investor_profile_id, meeting.listing_id),
                    slot=meeting.slot,
                    starts_at=starts,
                    ends_at=ends,
                    table_no=meeting.table_no,
                    with_party=with_party,
                    with_ref=ref,
                    with_name_th=th,
                    with_name_en=en,
                    listing_slug=listing.slug,
                    source=meeting.source,
                    outcome=Outcome(meeting.outcome) if meeting.outcome else None,
                    outcome_note=meeting.outcome_note,
                    outcome_at=meeting.outcome_at,
                )
            )
        programme = []
        for position, listing in enumerate(self.programme):
            starts, ends = _at(event.held_on, event.first_slot, event.slot_minutes, position)
            programme.append(
                PitchSlot(
                    position=position,
                    starts_at=starts,
                    ends_at=ends,
                    listing_slug=listing.slug,
                    title_th=listing.title_th,
                    title_en=listing.title_en,
                    own=participant.party is Party.listing and listing.id == participant.id,
                )
            )
        return AgendaPublic(
            event=self.event_ref,
            participant=participant.public(),
            published=published,
            meetings=sorted(meetings, key=lambda m: (m.starts_at, m.meeting_id)),
            programme=programme,
        )


def agenda_for(
    session: Session, event: PitchEvent, participant: Participant, viewer: Principal | None
) -> AgendaPublic:
    """The agenda as ``viewer`` reads it (the organiser sees the draft and every name)."""
    organiser = may_organise(event, viewer)
    return _Day.load(session, event).agenda(participant, names_all=organiser, show_draft=organiser)


def agendas_for(
    session: Session, event: PitchEvent, viewer: Principal | None
) -> list[tuple[Participant, AgendaPublic]]:
    """Every agenda ``viewer`` may read at the event (the event read once for all)."""
    day = _Day.load(session, event)
    organiser = may_organise(event, viewer)
    return [
        (p, day.agenda(p, names_all=organiser, show_draft=organiser))
        for p in visible_participants(session, event, viewer)
    ]


def own_agenda(session: Session, event: PitchEvent, participant: Participant) -> AgendaPublic:
    """The agenda as the participant's own people read it: in their feed and their e-mail."""
    return _Day.load(session, event).agenda(participant, names_all=False, show_draft=False)


# --- what changed -------------------------------------------------------------------------


def agenda_digest(agenda: AgendaPublic) -> str:
    """A fingerprint of what the participant's people were told: the event, its place and
    day, the programme and each meeting's time, table and other party. Outcomes,
    check-in and the event's version are not part of it."""
    told = {
        "event": agenda.event.model_dump(mode="json", exclude={"sequence", "revised_at", "city"}),
        "programme": [
            [slot.starts_at.isoformat(), slot.listing_slug, slot.title_th, slot.title_en]
            for slot in agenda.programme
        ],
        "meetings": [
            [m.uid, m.starts_at.isoformat(), m.ends_at.isoformat(), m.table_no]
            + [m.with_name_th, m.with_name_en]
            for m in agenda.meetings
        ],
    }
    return hashlib.sha256(json.dumps(told, sort_keys=True).encode()).hexdigest()


def agenda_digests(session: Session, event: PitchEvent) -> dict[str, str]:
    """Every participant's agenda fingerprint as their people read it once published."""
    day = _Day.load(session, event)
    return {
        p.key: agenda_digest(day.agenda(p, names_all=False, show_draft=True))
        for p in participants(session, event)
    }


# --- iCalendar ----------------------------------------------------------------------------


def _both(th: str | None, en: str | None) -> str:
    """Thai, then English when there is English that differs."""
    th, en = th or "", en or ""
    return f"{th} / {en}" if th and en and en != th else th or en


def _place(agenda: AgendaPublic, table_no: int | None) -> str:
    venue = _both(agenda.event.venue_th, agenda.event.venue_en)
    table = f"โต๊ะ {table_no} / Table {table_no}" if table_no is not None else ""
    return ", ".join(part for part in (venue, table) if part)


def agenda_page_url(base_url: str, agenda: AgendaPublic) -> str:
    participant = agenda.participant
    return (
        f"{base_url.rstrip('/')}/events/{agenda.event.slug}/agenda"
        f"?who={participant.party.value}:{participant.ref}"
    )


def agenda_ics(agenda: AgendaPublic, *, base_url: str, event_id: int) -> bytes:
    """The agenda as an iCalendar file (RFC 5545): one VEVENT per meeting, and the pitches
    (the listing's own slot, or the whole session for an investor), in ``Asia/Bangkok``
    with its VTIMEZONE."""
    event = agenda.event
    participant = agenda.participant
    name = _both(event.name_th, event.name_en)
    page = agenda_page_url(base_url, agenda)
    stamp = event.revised_at.astimezone(UTC)
    calendar = Calendar.new(
        prodid=PRODID,
        uid=_uid("agenda", event_id, participant.party.value, participant.ref),
        name=f"{name} · {_both(participant.name_th, participant.name_en)}",
        refresh_interval=FEED_REFRESH,
        url=page,
    )
    calendar.add("X-PUBLISHED-TTL", FEED_REFRESH)  # REFRESH-INTERVAL as Outlook reads it
    for meeting in agenda.meetings:
        other = _both(meeting.with_name_th, meeting.with_name_en) or "นักลงทุน / Investor"
        table = f"โต๊ะ {meeting.table_no} / Table {meeting.table_no}" if meeting.table_no else ""
        calendar.add_component(
            Event.new(
                uid=meeting.uid,
                summary=f"นัดพบ / Meeting: {other}",
                start=meeting.starts_at,
                end=meeting.ends_at,
                location=_place(agenda, meeting.table_no),
                description="\n".join(
                    line
                    for line in (
                        name,
                        f"รอบที่ {meeting.slot + 1} / Round {meeting.slot + 1}",
                        table,
                        page,
                    )
                    if line
                ),
                sequence=event.sequence,
                stamp=stamp,
                url=page,
            )
        )
    calendar_pitches(calendar, agenda, event_id=event_id, stamp=stamp, page=page)
    if agenda.meetings or agenda.programme:
        day = event.held_on
        calendar.add_missing_timezones(
            first_date=day - timedelta(days=1), last_date=day + timedelta(days=2)
        )
    return bytes(calendar.to_ical())


def calendar_pitches(
    calendar: Calendar, agenda: AgendaPublic, *, event_id: int, stamp: datetime, page: str
) -> None:
    """The programme: a listing's people get their own pitch slot; an investor gets the
    whole session, with the order in its description."""
    event = agenda.event
    participant = agenda.participant
    if not agenda.programme:
        return
    if participant.party is Party.listing:
        slots = [slot for slot in agenda.programme if slot.own]
        for slot in slots:
            calendar.add_component(
                Event.new(
                    uid=_uid("pitch", event_id, participant.ref),
                    summary=f"นำเสนอโครงการ / Your pitch: {_both(slot.title_th, slot.title_en)}",
                    start=slot.starts_at,
                    end=slot.ends_at,
                    location=_both(event.venue_th, event.venue_en),
                    sequence=event.sequence,
                    stamp=stamp,
                    url=page,
                )
            )
        return
    order = [
        f"{slot.starts_at:%H:%M} {_both(slot.title_th, slot.title_en)}" for slot in agenda.programme
    ]
    calendar.add_component(
        Event.new(
            uid=_uid("pitches", event_id, participant.ref),
            summary=f"การนำเสนอโครงการ / Pitches: {_both(event.name_th, event.name_en)}",
            start=agenda.programme[0].starts_at,
            end=agenda.programme[-1].ends_at,
            location=_both(event.venue_th, event.venue_en),
            description="\n".join([*order, page]),
            sequence=event.sequence,
            stamp=stamp,
            url=page,
        )
    )


# --- the secret feed ----------------------------------------------------------------------


def new_feed_token() -> str:
    return secrets.token_urlsafe(32)  # 256 random bits, 43 characters


def feed_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/agendas/{token}.ics"


def _row_table(party: Party) -> type[EventInvestor] | type[EventListing]:
    return EventInvestor if party is Party.investor else EventListing


def _row_filter(party: Party, event_id: int, party_id: int) -> list[object]:
    if party is Party.investor:
        return [
            col(EventInvestor.event_id) == event_id,
            col(EventInvestor.investor_profile_id) == party_id,
        ]
    return [col(EventListing.event_id) == event_id, col(EventListing.listing_id) == party_id]


def stored_token(session: Session, event_id: int, party: Party, party_id: int) -> str | None:
    table = _row_table(party)
    return session.exec(
        select(table.agenda_token).where(*_row_filter(party, event_id, party_id))  # type: ignore[arg-type]
    ).first()


def ensure_feed_token(session: Session, *, event_id: int, participant: Participant) -> str:
    """The participant's feed token, made on first use. One conditional UPDATE: of two
    requests making one at once, the first wins and both return it."""
    table = _row_table(participant.party)
    session.execute(
        update(table)
        .where(*_row_filter(participant.party, event_id, participant.id))  # type: ignore[arg-type]
        .where(col(table.agenda_token).is_(None))
        .values(agenda_token=new_feed_token())
        .execution_options(synchronize_session=False)
    )
    token = stored_token(session, event_id, participant.party, participant.id)
    assert token is not None
    return token


def rotate_feed_token(session: Session, *, event_id: int, participant: Participant) -> str:
    """A new secret feed URL; the old one stops working at once."""
    token = new_feed_token()
    table = _row_table(participant.party)
    session.execute(
        update(table)
        .where(*_row_filter(participant.party, event_id, participant.id))  # type: ignore[arg-type]
        .values(agenda_token=token)
        .execution_options(synchronize_session=False)
    )
    return token


def find_by_feed_token(session: Session, *, token: str) -> tuple[PitchEvent, Participant]:
    """The event and participant a feed token belongs to; 404 for any other token."""
    found: Sequence[tuple[int, Party, str]] = [
        (event_id, Party.investor, str(profile_id))
        for event_id, profile_id in session.exec(
            select(EventInvestor.event_id, EventInvestor.investor_profile_id).where(
                EventInvestor.agenda_token == token
            )
        )
    ] or [
        (event_id, Party.listing, slug)
        for event_id, slug in session.exec(
            select(EventListing.event_id, Listing.slug)
            .join(Listing, col(Listing.id) == EventListing.listing_id)
            .where(EventListing.agenda_token == token)
        )
    ]
    if not found:
        raise NotFound("no such agenda feed", field="token")
    event_id, party, ref = found[0]
    event = session.get(PitchEvent, event_id)
    assert event is not None
    return event, find_participant(session, event, party, ref)
