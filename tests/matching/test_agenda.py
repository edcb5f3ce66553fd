"""Agendas of a pitch day: each participant's meetings in time order with the round's
time, the table and the other party; as iCalendar, parsed back with the icalendar
library; what changed for whom; and the outcomes of the day (leads, no-shows, figures,
checkpoint evidence)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from icalendar import Calendar
from sqlmodel import Session, select

from catalog.models import Listing
from core.db import utcnow
from core.errors import Conflict, Forbidden
from core.principal import Principal, Role
from matching.models import Interest
from matching.pitchday import agenda, agenda_mail, outcomes
from matching.pitchday.day_schemas import Outcome, OutcomeUpdate, Party
from matching.pitchday.models import EventInvestor, Meeting, PitchEvent
from matching.schemas import LeadStatus
from tests.event_day import Day, add_person, later, make_day, plan, today
from tests.factories import World, publisher_of

BANGKOK = ZoneInfo("Asia/Bangkok")


@pytest.fixture
async def day(client: httpx.AsyncClient, world: World, session: Session) -> Day:
    found = await make_day(client, world)
    plan(session, found)
    return found


def event_of(session: Session, day: Day) -> PitchEvent:
    session.expire_all()
    return session.exec(select(PitchEvent).where(PitchEvent.slug == day.slug)).one()


def organiser_of(session: Session, event: PitchEvent) -> Principal:
    return Principal(event.organisation_id, "pitch-org", Role.organiser)


def publish(session: Session, event: PitchEvent) -> None:
    event.schedule_published_at = utcnow()
    session.add(event)
    session.commit()


def participant(
    session: Session, event: PitchEvent, party: Party, ref: object
) -> agenda.Participant:
    return agenda.find_participant(session, event, party, str(ref))


def test_an_agenda_is_the_meetings_in_time_order_with_table_and_other_party(
    session: Session, day: Day
) -> None:
    event = event_of(session, day)
    publish(session, event)
    food = agenda.own_agenda(session, event, participant(session, event, Party.investor, day.food))
    assert [(m.starts_at, m.table_no, m.with_name_en) for m in food.meetings] == [
        (datetime(*today().timetuple()[:3], 14, 0, tzinfo=BANGKOK), 3, "Port logistics hub"),
        (datetime(*today().timetuple()[:3], 14, 20, tzinfo=BANGKOK), 2, "Fish-ball factory"),
    ]
    assert food.meetings[0].ends_at - food.meetings[0].starts_at == timedelta(minutes=20)
    assert food.meetings[0].with_name_th == "ศูนย์โลจิสติกส์ท่าเรือ"
    assert food.meetings[0].with_party is Party.listing
    # The programme: who pitches when, from 13:00, 20 minutes each.
    assert [(s.starts_at.strftime("%H:%M"), s.listing_slug) for s in food.programme] == [
        ("13:00", day.fish),
        ("13:20", day.cold),
        ("13:40", day.port),
    ]
    assert not any(s.own for s in food.programme)
    # The cold store's people meet the organiser's guest, who is not discoverable: the
    # meeting is on their agenda, the guest's name is not.
    cold = agenda.own_agenda(session, event, participant(session, event, Party.listing, day.cold))
    assert [(m.slot, m.with_name_en, m.with_ref) for m in cold.meetings] == [(1, None, None)]
    assert [s.own for s in cold.programme] == [False, True, False]
    # The organiser sees every name.
    organiser = organiser_of(session, event)
    full = agenda.agenda_for(
        session, event, participant(session, event, Party.listing, day.cold), organiser
    )
    assert [m.with_name_en for m in full.meetings] == ["Guest Angel"]


def test_the_meetings_are_shown_to_participants_once_published(session: Session, day: Day) -> None:
    event = event_of(session, day)
    food = participant(session, event, Party.investor, day.food)
    assert agenda.own_agenda(session, event, food).meetings == []  # a draft is nobody's yet
    organiser = organiser_of(session, event)
    assert len(agenda.agenda_for(session, event, food, organiser).meetings) == 2
    publish(session, event)
    assert len(agenda.own_agenda(session, event, food).meetings) == 2


def parse(ics: bytes) -> Calendar:
    calendar = Calendar.from_ical(ics)
    assert isinstance(calendar, Calendar)
    return calendar


@dataclass(frozen=True)
class Read:
    """A VEVENT as a calendar app reads it."""

    uid: str
    start: datetime
    end: datetime
    tzid: str
    summary: str
    location: str
    sequence: int
    stamp: datetime | None


def read(calendar: Calendar) -> dict[str, Read]:
    found = {}
    for e in calendar.events:
        start, end = e.start, e.end
        assert isinstance(start, datetime)
        assert isinstance(end, datetime)
        found[e.uid] = Read(
            e.uid,
            start,
            end,
            str(e["DTSTART"].params.get("TZID")),
            e.summary or "",
            e.location or "",
            e.sequence,
            e.DTSTAMP,
        )
    return found


def test_the_calendar_parses_back_in_bangkok_time_with_stable_uids_across_replanning(
    session: Session, day: Day
) -> None:
    event = event_of(session, day)
    publish(session, event)
    food = participant(session, event, Party.investor, day.food)
    first = agenda.own_agenda(session, event, food)
    calendar = parse(
        agenda.agenda_ics(first, base_url="https://citydeal.example", event_id=event.id or 0)
    )
    [timezone] = calendar.walk("VTIMEZONE")
    assert str(timezone["TZID"]) == "Asia/Bangkok"
    uids = {m.uid for m in first.meetings}
    events = read(calendar)
    assert len(uids & events.keys()) == 2  # one VEVENT per meeting
    port = next(e for e in events.values() if "Port logistics hub" in e.summary)
    assert port.start == datetime(*today().timetuple()[:3], 14, 0, tzinfo=BANGKOK)
    assert port.start.utcoffset() == timedelta(hours=7)
    assert port.tzid == "Asia/Bangkok"
    assert port.end - port.start == timedelta(minutes=20)
    assert port.location == "ศาลาว่าการเทศบาล / City hall, โต๊ะ 3 / Table 3"
    assert "ศูนย์โลจิสติกส์ท่าเรือ" in port.summary
    assert port.stamp is not None
    assert port.stamp.utcoffset() == timedelta(0)
    # The investor gets the pitch session too, 13:00 to 14:00.
    [pitches] = [e for uid, e in events.items() if uid not in uids]
    assert (f"{pitches.start:%H:%M}", f"{pitches.end:%H:%M}") == ("13:00", "14:00")

    # Re-planned: the same pairs at other rounds and tables (new rows, new ids).
    plan(session, day, [(2, "fish", "food", 5), (1, "port", "food", 1), (0, "fish", "wide", 1)])
    event = event_of(session, day)
    again = agenda.own_agenda(session, event, food)
    assert {m.uid for m in again.meetings} == uids  # the same calendar events, moved
    moved = read(
        parse(agenda.agenda_ics(again, base_url="https://citydeal.example", event_id=event.id or 0))
    )
    port_again = moved[port.uid]
    assert f"{port_again.start:%H:%M}" == "14:20"
    assert "Table 1" in port_again.location
    assert port_again.sequence > port.sequence
    # Another participant's meeting with another listing has another UID.
    wide = agenda.own_agenda(session, event, participant(session, event, Party.investor, day.wide))
    assert {m.uid for m in wide.meetings}.isdisjoint(uids)
    # The listing's people see the same meeting under the same UID.
    fish = agenda.own_agenda(session, event, participant(session, event, Party.listing, day.fish))
    assert {m.uid for m in fish.meetings} >= {
        m.uid for m in again.meetings if m.listing_slug == day.fish
    }


def test_the_digest_moves_with_what_people_were_told_only(session: Session, day: Day) -> None:
    event = event_of(session, day)
    before = agenda.agenda_digests(session, event)
    plan(session, day)  # the same plan again: new rows, a new version
    event = event_of(session, day)
    assert agenda.agenda_digests(session, event) == before
    meeting = session.exec(select(Meeting).where(Meeting.table_no == 3)).one()
    meeting.outcome, meeting.outcome_note = Outcome.met.value, "good"
    session.add(meeting)
    session.commit()
    assert agenda.agenda_digests(session, event) == before  # outcomes are not on the agenda
    meeting.table_no = 4
    session.add(meeting)
    session.commit()
    after = agenda.agenda_digests(session, event)
    changed = {key for key in after if after[key] != before[key]}
    assert changed == {f"investor:{day.food}", f"listing:{day.port}"}


def test_a_change_to_a_published_schedule_queues_mail_for_those_it_alters(
    session: Session, day: Day
) -> None:
    """``mailing_changes`` compares each agenda before and after, in the change's own
    transaction; with no mailer nothing is queued at all."""

    class Jobs:
        def __init__(self) -> None:
            self.deferred: list[dict[str, object]] = []
            self.context = type("Context", (), {"mailer": object()})()

        def defer(self, _session: Session, task: str, arguments: dict[str, object]) -> None:
            assert task == agenda_mail.SEND_AGENDA
            self.deferred.append(arguments)

    add_person(session, "siam-infra-fund", "nok@fund.example")
    add_person(session, "siam-infra-fund", "new@fund.example", confirmed=False)
    add_person(session, "rayong-dev", "port@rayong.example")
    add_person(session, "ns-dev", "fish@ns.example")
    event = event_of(session, day)
    jobs = Jobs()
    with agenda_mail.mailing_changes(session, event, jobs=jobs, base_url="https://x"):  # type: ignore[arg-type]
        meeting_of(session, day, "port", "food").table_no = 4
    assert jobs.deferred == []  # not published: nobody has been told anything yet
    publish(session, event)
    with agenda_mail.mailing_changes(session, event, jobs=jobs, base_url="https://x"):  # type: ignore[arg-type]
        meeting_of(session, day, "port", "food").table_no = 5
    told = sorted((a["party"], a["ref"], a["reason"]) for a in jobs.deferred)
    # Lanna Food and the port listing: one confirmed person each; not the fish listing.
    assert told == [("investor", str(day.food), "changed"), ("listing", day.port, "changed")]
    jobs.deferred.clear()
    with pytest.raises(RuntimeError):
        with agenda_mail.mailing_changes(session, event, jobs=jobs, base_url="https://x"):  # type: ignore[arg-type]
            raise RuntimeError("the change failed")
    assert jobs.deferred == []


# --- outcomes -------------------------------------------------------------------------------


def meeting_of(session: Session, day: Day, listing: str, investor: str) -> Meeting:
    ids = day.ids(session)
    return session.exec(
        select(Meeting).where(
            Meeting.listing_id == ids[getattr(day, listing)],
            Meeting.investor_profile_id == getattr(day, investor),
        )
    ).one()


def lead_of(session: Session, day: Day, listing: str, investor: str) -> Interest | None:
    ids = day.ids(session)
    session.expire_all()
    return session.exec(
        select(Interest).where(
            Interest.listing_id == ids[getattr(day, listing)],
            Interest.investor_profile_id == getattr(day, investor),
        )
    ).first()


def record(
    session: Session, day: Day, listing: str, investor: str, outcome: Outcome | None, **kw: object
) -> None:
    event = event_of(session, day)
    outcomes.record_outcome(
        session,
        event=event,
        meeting_id=meeting_of(session, day, listing, investor).id or 0,
        data=OutcomeUpdate(outcome=outcome, note=str(kw.get("note", ""))),
        principal=kw.get("principal") or organiser_of(session, event),  # type: ignore[arg-type]
        today=kw.get("today"),  # type: ignore[arg-type]
    )
    session.commit()


def test_a_follow_up_makes_the_lead_and_a_letter_of_intent_moves_it_never_back(
    session: Session, day: Day
) -> None:
    assert lead_of(session, day, "fish", "food") is None
    record(session, day, "fish", "food", Outcome.met)
    assert lead_of(session, day, "fish", "food") is None  # met alone is no lead
    record(session, day, "fish", "food", Outcome.follow_up, note="ส่งแผนธุรกิจ")
    lead = lead_of(session, day, "fish", "food")
    assert lead is not None
    assert lead.status == LeadStatus.meeting
    assert "วันนำเสนอโครงการนครสวรรค์" in lead.notes
    assert "ส่งแผนธุรกิจ" in lead.notes
    record(session, day, "fish", "food", Outcome.letter_of_intent)
    assert lead_of(session, day, "fish", "food").status == LeadStatus.letter_of_intent  # type: ignore[union-attr]
    record(session, day, "fish", "food", Outcome.follow_up)  # changed back: the lead stays
    assert lead_of(session, day, "fish", "food").status == LeadStatus.letter_of_intent  # type: ignore[union-attr]
    # A lead the city already moved on (won, lost) or the investor withdrew stays as it is.
    ids = day.ids(session)
    won = Interest(listing_id=ids[day.port], investor_profile_id=day.food, status="won")
    withdrawn = Interest(
        listing_id=ids[day.fish],
        investor_profile_id=day.wide,
        status="contacted",
        withdrawn_at=utcnow(),
    )
    session.add_all([won, withdrawn])
    session.commit()
    record(session, day, "port", "food", Outcome.letter_of_intent)
    record(session, day, "fish", "wide", Outcome.follow_up)
    assert lead_of(session, day, "port", "food").status == "won"  # type: ignore[union-attr]
    assert lead_of(session, day, "fish", "wide").status == "contacted"  # type: ignore[union-attr]
    # A new lead one step behind is moved forward.
    ids = day.ids(session)
    session.add(Interest(listing_id=ids[day.port], investor_profile_id=day.guest, status="new"))
    session.commit()
    record(session, day, "port", "guest", Outcome.follow_up)
    assert lead_of(session, day, "port", "guest").status == LeadStatus.meeting  # type: ignore[union-attr]


def test_outcomes_are_the_organisers_and_the_listings_publishers_from_the_day_on(
    session: Session, day: Day
) -> None:
    city = publisher_of(session, "ns-dev")
    record(session, day, "fish", "food", Outcome.met, principal=city)  # its own listing
    with pytest.raises(Forbidden):
        record(session, day, "port", "food", Outcome.met, principal=city)  # Rayong's
    investor = Principal(city.organisation_id + 100, "x", Role.investor)
    with pytest.raises(Forbidden):
        record(session, day, "fish", "food", Outcome.met, principal=investor)
    with pytest.raises(Conflict):
        record(session, day, "fish", "wide", Outcome.met, today=today() - timedelta(days=1))
    assert meeting_of(session, day, "fish", "wide").outcome is None


def test_no_shows_are_the_meetings_of_whoever_did_not_check_in(session: Session, day: Day) -> None:
    event = event_of(session, day)
    organiser = organiser_of(session, event)
    for party, ref in [
        (Party.investor, day.food),
        (Party.investor, day.wide),
        (Party.listing, day.fish),
        (Party.listing, day.cold),
    ]:
        outcomes.set_check_in(
            session,
            event=event,
            participant=participant(session, event, party, ref),
            present=True,
            principal=organiser,
        )
    first = session.exec(select(EventInvestor.checked_in_at)).first()
    outcomes.set_check_in(  # checking in twice keeps the first time
        session,
        event=event,
        participant=participant(session, event, Party.investor, day.food),
        present=True,
        principal=organiser,
    )
    assert session.exec(select(EventInvestor.checked_in_at)).first() == first
    record(session, day, "port", "guest", Outcome.met)  # recorded: it stays
    assert outcomes.record_no_shows(session, event=event, principal=organiser) == 2
    session.commit()
    missed = {
        (m.listing_id, m.investor_profile_id)
        for m in session.exec(select(Meeting).where(Meeting.outcome == "no-show"))
    }
    ids = day.ids(session)
    # The port listing and the guest never checked in.
    assert missed == {(ids[day.port], day.food), (ids[day.cold], day.guest)}
    figures = outcomes.event_figures(session, event=event, principal=organiser)
    assert (figures.total.planned, figures.total.held, figures.total.no_shows) == (5, 1, 2)
    assert (figures.investors, figures.investors_checked_in) == (3, 2)
    assert (figures.listings, figures.listings_checked_in) == (3, 2)


def test_figures_by_city_and_sector(session: Session, day: Day) -> None:
    record(session, day, "fish", "food", Outcome.follow_up)
    record(session, day, "fish", "wide", Outcome.letter_of_intent)
    record(session, day, "port", "food", Outcome.no_show)
    record(session, day, "cold", "guest", Outcome.met)
    event = event_of(session, day)
    figures = outcomes.event_figures(session, event=event, principal=organiser_of(session, event))
    total = figures.total
    assert (total.planned, total.held, total.no_shows, total.follow_ups) == (5, 3, 1, 1)
    assert (total.letters_of_intent, total.unrecorded) == (1, 1)
    by_city = {row.key: row for row in figures.by_city}
    assert (by_city["nakhon-sawan"].planned, by_city["nakhon-sawan"].held) == (3, 3)
    assert (by_city["rayong"].planned, by_city["rayong"].no_shows) == (2, 1)
    assert by_city["rayong"].name_th == "เทศบาลนครระยอง"
    by_sector = {row.key: row for row in figures.by_sector}
    assert by_sector["agri-food-processing"].letters_of_intent == 1
    assert by_sector["cold-chain"].held == 1
    assert by_sector["logistics"].unrecorded == 1
    assert by_sector["logistics"].name_th not in ("", "logistics")


def test_outcomes_are_evidence_at_the_checkpoints_due_after_the_day(
    session: Session, day: Day
) -> None:
    record(session, day, "fish", "food", Outcome.follow_up)
    record(session, day, "fish", "wide", Outcome.letter_of_intent)
    fish = session.exec(select(Listing).where(Listing.slug == day.fish)).one()
    found = outcomes.checkpoint_evidence(
        session,
        listing_id=fish.id or 0,
        due_dates=[(6, later(180)), (12, later(365)), (0, today() - timedelta(days=1))],
    )
    assert set(found) == {6, 12}  # a checkpoint due before the day does not count it
    assert (found[6].held, found[6].follow_ups, found[6].letters_of_intent) == (2, 1, 1)
    [record_of_day] = outcomes.listing_pitch_days(session, listing_id=fish.id or 0)
    assert (record_of_day.slug, record_of_day.record.held) == (day.slug, 2)


def test_a_feed_token_is_made_once_and_rotated(session: Session, day: Day) -> None:
    event = event_of(session, day)
    food = participant(session, event, Party.investor, day.food)
    token = agenda.ensure_feed_token(session, event_id=event.id or 0, participant=food)
    assert agenda.ensure_feed_token(session, event_id=event.id or 0, participant=food) == token
    assert agenda.find_by_feed_token(session, token=token)[1].key == food.key
    new = agenda.rotate_feed_token(session, event_id=event.id or 0, participant=food)
    assert new != token
    with pytest.raises(Exception, match="no such agenda feed"):
        agenda.find_by_feed_token(session, token=token)
