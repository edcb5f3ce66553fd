"""Agendas by e-mail: when the organiser publishes the schedule, and again for each
participant whose agenda changes after that.

A change is found by comparing, in the transaction that makes it, each participant's
agenda fingerprint (``agenda.agenda_digest``: the event, its place and day, the programme,
each meeting's time, table and other party) before and after: ``mailing_changes`` wraps a
change to a published event. Nothing is stored for it (no schema of its own): what a
participant was last told is the agenda before the change, which they were sent when it
was published or changed. Outcomes and check-in are not part of the fingerprint.

Each e-mail is a job of its own (one participant, one person), deferred in the
transaction of the change, so a refused change sends nothing and the job queue sends
each once; a job sends the agenda as it is when it runs, with the .ics attached and the
participant's feed link (made on first use).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlmodel import Session, col, func, select

from catalog.accounts.models import Person
from core.db import claim_version, utcnow
from core.errors import Conflict, NotFound
from core.formatting import Lang, long_date
from core.jobs import JobContext, JobQueue
from core.mail import Attachment, Mail
from core.principal import Principal
from matching.access import ensure_may_organise
from matching.pitchday.agenda import (
    Participant,
    agenda_digests,
    agenda_ics,
    agenda_page_url,
    ensure_feed_token,
    feed_url,
    find_participant,
    own_agenda,
    participants,
)
from matching.pitchday.day_schemas import AgendaPublic, Party
from matching.pitchday.models import Meeting, PitchEvent

SEND_AGENDA = "pitchday.send_agenda"
PUBLISHED = "published"
CHANGED = "changed"


def sends_mail(jobs: JobQueue | None) -> bool:
    return jobs is not None and jobs.context.mailer is not None


def recipients(session: Session, owner_id: int) -> list[Person]:
    """The people of the participant's organisation who receive its agenda: active, with
    a confirmed e-mail address."""
    return list(
        session.exec(
            select(Person)
            .where(
                Person.organisation_id == owner_id,
                col(Person.disabled_at).is_(None),
                col(Person.email_verified_at).is_not(None),
            )
            .order_by(col(Person.id))
        )
    )


def _queue(
    session: Session,
    jobs: JobQueue,
    event: PitchEvent,
    participant: Participant,
    *,
    reason: str,
    base_url: str,
) -> int:
    """One job per person of the participant's organisation; returns how many."""
    people = recipients(session, participant.owner_id)
    for person in people:
        jobs.defer(
            session,
            SEND_AGENDA,
            {
                "event_id": event.id,
                "party": participant.party.value,
                "ref": participant.ref,
                "person_id": person.id,
                "reason": reason,
                "base_url": base_url.rstrip("/"),
            },
        )
    return len(people)


def publish_schedule(
    session: Session,
    *,
    event: PitchEvent,
    expected_version: int,
    principal: Principal,
    jobs: JobQueue | None,
    base_url: str,
) -> int:
    """Publish the planned meetings: participants see them in their agendas and feeds, and
    (when the app sends mail) each participant's people get their agenda by e-mail.
    Publishing again sends everyone's agenda again. Returns the e-mails queued."""
    ensure_may_organise(event, principal)
    planned = session.exec(select(func.count()).where(Meeting.event_id == event.id)).one()
    if not planned:
        raise Conflict("plan the meetings before publishing them", field="schedule")
    claim_version(session, event, expected_version, what="event")
    event.schedule_published_at = utcnow()
    session.add(event)
    session.flush()
    if not sends_mail(jobs):
        return 0
    assert jobs is not None
    return sum(
        _queue(session, jobs, event, participant, reason=PUBLISHED, base_url=base_url)
        for participant in participants(session, event)
    )


@contextmanager
def mailing_changes(
    session: Session, event: PitchEvent, *, jobs: JobQueue | None, base_url: str
) -> Iterator[None]:
    """Wrap a change to an event: once the schedule is published, each participant whose
    agenda the change alters gets it again by e-mail (when the app sends mail). A change
    that raises sends nothing."""
    if event.schedule_published_at is None or not sends_mail(jobs):
        yield
        return
    assert jobs is not None
    before = agenda_digests(session, event)
    yield
    session.flush()
    after = agenda_digests(session, event)
    for participant in participants(session, event):
        if before.get(participant.key) != after.get(participant.key):
            _queue(session, jobs, event, participant, reason=CHANGED, base_url=base_url)


# --- the e-mail ---------------------------------------------------------------------------


def _one_line(text: str, limit: int = 80) -> str:
    """A name on one line (a name typed with line breaks cannot break a header), cut."""
    line = " ".join(text.split())
    return line if len(line) <= limit else f"{line[: limit - 1]}…"


def _in(lang: Lang, th: str | None, en: str | None) -> str:
    """The text in ``lang``, or in the other language when there is none."""
    first, second = (th, en) if lang is Lang.th else (en, th)
    return first or second or ""


def _lines(agenda: AgendaPublic, lang: Lang) -> list[str]:
    th = lang is Lang.th
    event = agenda.event
    who = agenda.participant
    venue = _in(lang, event.venue_th, event.venue_en)
    lines = [
        f"{'งาน' if th else 'Event'}: {_in(lang, event.name_th, event.name_en)}",
        f"{'วันที่' if th else 'Date'}: {long_date(event.held_on, lang)}",
    ]
    if venue:
        lines.append(f"{'สถานที่' if th else 'Venue'}: {venue}")
    lines += [
        f"{'ตารางของ' if th else 'Agenda of'}: {_in(lang, who.name_th, who.name_en)}",
        "",
        "นัดพบแบบตัวต่อตัว:" if th else "One-to-one meetings:",
    ]
    hidden = "นักลงทุน (ไม่เปิดเผยชื่อ)" if th else "Investor (name not shown)"
    for meeting in agenda.meetings:
        other = _in(lang, meeting.with_name_th, meeting.with_name_en) or hidden
        table = ""
        if meeting.table_no is not None:
            table = f" · {'โต๊ะ' if th else 'table'} {meeting.table_no}"
        lines.append(f"- {meeting.starts_at:%H:%M}–{meeting.ends_at:%H:%M}{table} · {other}")
    if not agenda.meetings:
        lines.append("- ยังไม่มีนัดพบ" if th else "- No meetings for you")
    if agenda.programme:
        lines += ["", "ลำดับการนำเสนอโครงการ:" if th else "Pitches:"]
        for slot in agenda.programme:
            own = (" (การนำเสนอของคุณ)" if th else " (your pitch)") if slot.own else ""
            title = _in(lang, slot.title_th, slot.title_en)
            lines.append(f"- {slot.starts_at:%H:%M} {title}{own}")
    return lines


def agenda_mail(
    agenda: AgendaPublic, *, reason: str, to: str, base_url: str, feed: str, ics: bytes
) -> Mail:
    """The agenda: Thai first, then English, plain text, with the .ics attached."""
    event = agenda.event
    name_th = _one_line(event.name_th or event.name_en)
    name_en = _one_line(event.name_en or event.name_th)
    if reason == CHANGED:
        subject = (
            f"citydeal: ตารางนัดพบของคุณเปลี่ยนแปลง · {name_th} / Your agenda has changed · {name_en}"
        )
        opening_th = "ตารางนัดพบของคุณมีการเปลี่ยนแปลง ตารางล่าสุดคือ:"
        opening_en = "Your agenda has changed. This is the latest:"
    else:
        subject = f"citydeal: ตารางนัดพบของคุณ · {name_th} / Your agenda · {name_en}"
        opening_th = "ผู้จัดงานประกาศตารางนัดพบแล้ว ตารางของคุณคือ:"
        opening_en = "The organiser has published the meeting schedule. Your agenda:"
    page = agenda_page_url(base_url, agenda)
    body = "\n".join(
        [
            opening_th,
            "",
            *_lines(agenda, Lang.th),
            "",
            f"ดูตารางของคุณ: {page}",
            f"เพิ่มลงในปฏิทินของคุณ (ปรับตามการเปลี่ยนแปลงโดยอัตโนมัติ): {feed}",
            "ไฟล์ปฏิทิน (.ics) แนบมากับอีเมลนี้ ลิงก์ปฏิทินเป็นความลับ โปรดอย่าส่งต่อ",
            "",
            opening_en,
            "",
            *_lines(agenda, Lang.en),
            "",
            f"See your agenda: {page}",
            f"Subscribe in your calendar (it follows every change): {feed}",
            "The calendar file (.ics) is attached. The calendar link is secret: do not pass it on.",
            "",
        ]
    )
    filename = f"{event.slug}-agenda.ics"
    return Mail(
        to=to,
        subject=subject,
        text=body,
        attachments=(Attachment(filename, ics, "text/calendar"),),
    )


def send_agenda(context: JobContext, arguments: dict[str, Any]) -> None:
    """The job: e-mail one person their participant's agenda as it is now, if the schedule
    is still published and the person still active, confirmed and of its organisation."""
    assert context.mailer is not None
    base_url = str(arguments["base_url"])
    with context.database.writing() as session:
        event = session.get(PitchEvent, int(arguments["event_id"]))
        if event is None or event.schedule_published_at is None:
            return
        try:
            participant = find_participant(
                session, event, Party(arguments["party"]), str(arguments["ref"])
            )
        except NotFound:
            return  # no longer at the event
        person = session.get(Person, int(arguments["person_id"]))
        if (
            person is None
            or person.disabled_at is not None
            or person.email_verified_at is None
            or person.organisation_id != participant.owner_id
        ):
            return
        agenda = own_agenda(session, event, participant)
        token = ensure_feed_token(session, event_id=event.id or 0, participant=participant)
        mail = agenda_mail(
            agenda,
            reason=str(arguments["reason"]),
            to=person.email,
            base_url=base_url,
            feed=feed_url(base_url, token),
            ics=agenda_ics(agenda, base_url=base_url, event_id=event.id or 0),
        )
    context.mailer.send(mail)


def register_tasks(jobs: JobQueue) -> None:
    jobs.register(SEND_AGENDA, send_agenda)
