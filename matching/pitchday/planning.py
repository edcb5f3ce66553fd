"""The schedule of a pitch day from what people asked for: the accepted requests (mutual
first, then one-way) and the pairs the scores proposed, placed in rounds and at tables by
the solver (``matching.pitchday.scheduler``), written as ``Meeting`` rows (``slot`` the
round, ``table_no`` from 1, ``source``), with the schedule's quality and the pairs left
out, with the reason, in ``PitchEvent.schedule_quality``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from catalog.models import Listing
from core.db import claim_version, utcnow
from core.errors import Conflict
from core.principal import Principal
from core.settings import ScoringSettings
from matching.access import ensure_may_organise
from matching.models import InvestorProfile
from matching.pitchday import requests
from matching.pitchday.meeting_schemas import (
    RequestStatus,
    ScheduleQuality,
    ScheduleReport,
    Side,
    Unplaced,
    UnplacedPair,
)
from matching.pitchday.models import Meeting, MeetingRequest, PitchEvent
from matching.pitchday.requests import PairKey
from matching.pitchday.scheduler import SOURCES, Candidate, Problem, Source, solve
from matching.scoring import ListingMatrix

SOLVER_SECONDS = 10.0  # HiGHS stops here with its best plan and bound (the bench: ~0.2 s)


@dataclass(frozen=True)
class Scheduled:
    event: PitchEvent
    quality: ScheduleQuality
    unplaced: list[UnplacedPair]


def wanted_pairs(session: Session, event: PitchEvent) -> dict[PairKey, Source]:
    """The pairs that should meet and why: both sides asked and neither declined
    (mutual), one side asked and the other accepted (request), or the organiser proposed
    and neither declined (proposal)."""
    asked: dict[PairKey, dict[str, str]] = {}
    for row in session.exec(select(MeetingRequest).where(MeetingRequest.event_id == event.id)):
        asked.setdefault((row.listing_id, row.investor_profile_id), {})[row.requested_by] = (
            row.status
        )
    wanted: dict[PairKey, Source] = {}
    for pair, by in asked.items():
        direct = [by[side] for side in (Side.investor, Side.listing) if side in by]
        if RequestStatus.declined in direct:
            continue
        agreed = direct.count(RequestStatus.accepted)
        if agreed == 2:
            wanted[pair] = "mutual"
        elif agreed == 1:
            wanted[pair] = "request"
        elif by.get(Side.proposal) == RequestStatus.accepted:
            wanted[pair] = "proposal"
    return wanted


def build_schedule(
    session: Session,
    *,
    event: PitchEvent,
    principal: Principal,
    expected_version: int,
    catalogue: ListingMatrix,
    settings: ScoringSettings,
    min_score: float | None = None,
    per_participant: int | None = None,
    time_limit: float = SOLVER_SECONDS,
) -> Scheduled:
    """Replace the event's meetings with the best schedule of the pairs that should meet
    (with ``min_score``, the scores propose pairs first). Refused once an outcome is
    recorded: planning again would lose it."""
    ensure_may_organise(event, principal)
    recorded = session.exec(
        select(Meeting.id).where(Meeting.event_id == event.id, col(Meeting.outcome).is_not(None))
    ).first()
    if recorded is not None:
        raise Conflict(
            "outcomes of this event's meetings are recorded: planning again would lose them",
            field="schedule",
        )
    claim_version(session, event, expected_version, what="event")
    if min_score is not None:
        requests.replace_proposals(
            session,
            event=event,
            catalogue=catalogue,
            settings=settings,
            min_score=min_score,
            per_participant=per_participant,
        )
    present = requests.attendance(session, event)
    wanted = wanted_pairs(session, event)
    scores = requests.fit_scores(session, present, catalogue, settings)
    attending = sorted(
        pair for pair in wanted if pair[0] in present.listings and pair[1] in present.profiles
    )
    marked = requests.free_rounds(session, event)
    problem = Problem(
        rounds=event.round_count,
        tables=event.table_count,
        candidates=[
            Candidate(pair[0], pair[1], wanted[pair], scores.get(pair, (0.0, False))[0])
            for pair in attending
        ],
        listing_rounds={
            party_id: rounds for (party, party_id), rounds in marked.items() if party == "listing"
        },
        investor_rounds={
            party_id: rounds for (party, party_id), rounds in marked.items() if party == "investor"
        },
    )
    plan = solve(problem, time_limit=time_limit)
    session.execute(delete(Meeting).where(col(Meeting.event_id) == event.id))
    session.add_all(
        Meeting(
            event_id=event.id or 0,
            slot=placed.round,
            listing_id=placed.candidate.listing,
            investor_profile_id=placed.candidate.investor,
            score=placed.candidate.score,
            table_no=placed.table,
            source=placed.candidate.source,
        )
        for placed in plan.placed
    )
    left_out: list[dict[str, Any]] = [
        {
            "listing_id": u.candidate.listing,
            "investor_profile_id": u.candidate.investor,
            "source": u.candidate.source,
            "score": u.candidate.score,
            "reason": u.reason,
        }
        for u in plan.unplaced
    ] + [
        {
            "listing_id": pair[0],
            "investor_profile_id": pair[1],
            "source": wanted[pair],
            "score": scores.get(pair, (0.0, False))[0],
            "reason": Unplaced.not_attending.value,
        }
        for pair in sorted(set(wanted) - set(attending))
    ]
    quality = ScheduleQuality(
        placed_value=round(plan.value, 4),
        bound=None if plan.bound is None else round(plan.bound, 4),
        ratio=None if plan.ratio is None else round(plan.ratio, 6),
        solver=plan.solver,
        seconds=round(plan.seconds, 3),
        optimal=plan.optimal,
        placed={s: sum(1 for p in plan.placed if p.candidate.source == s) for s in SOURCES},
        wanted={s: sum(1 for v in wanted.values() if v == s) for s in SOURCES},
    )
    event.schedule_quality = quality.model_dump() | {"unplaced": left_out}
    event.scheduled_at = utcnow()
    session.add(event)
    session.flush()
    return Scheduled(event, quality, _unplaced_public(session, left_out))


def _unplaced_public(session: Session, left_out: list[dict[str, Any]]) -> list[UnplacedPair]:
    """The pairs left out, for the organiser (who may name every attending investor)."""
    slugs = {
        x.id: x.slug
        for x in session.exec(
            select(Listing).where(col(Listing.id).in_({p["listing_id"] for p in left_out}))
        )
    }
    names = {
        p.id: p.name
        for p in session.exec(
            select(InvestorProfile).where(
                col(InvestorProfile.id).in_({p["investor_profile_id"] for p in left_out})
            )
        )
    }
    return [
        UnplacedPair(
            listing_slug=slugs[p["listing_id"]],
            investor_profile_id=p["investor_profile_id"],
            investor_name=names[p["investor_profile_id"]],
            source=p["source"],
            score=p["score"],
            reason=Unplaced(p["reason"]),
        )
        for p in left_out
        if p["listing_id"] in slugs and p["investor_profile_id"] in names
    ]


def schedule_report(session: Session, *, event: PitchEvent, principal: Principal) -> ScheduleReport:
    """The last schedule's quality and the pairs it left out (the organiser)."""
    ensure_may_organise(event, principal)
    stored = event.schedule_quality
    if not stored or event.scheduled_at is None:
        return ScheduleReport(quality=None, unplaced=[])
    quality = ScheduleQuality.model_validate(
        {k: v for k, v in stored.items() if k in ScheduleQuality.model_fields}
    )
    return ScheduleReport(
        quality=quality, unplaced=_unplaced_public(session, stored.get("unplaced", []))
    )
