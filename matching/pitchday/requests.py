"""Meetings people ask for at a pitch day: the rounds each side is free, the requests one
side sends and the other accepts or declines, and the pairs the scores propose.

The sides are an attending investor profile (spoken for by its organisation) and a
listing at the event (spoken for by its publisher); ``matching.access`` says who speaks
for which. All of it lives in ``Availability`` and ``MeetingRequest`` rows, which the
schedule (``matching.pitchday.planning``) reads:

- a party with no ``Availability`` row is free in every round;
- a request is pending until the other side decides; one side asking after the other did
  makes the pair mutual, and both requests accepted (asking is agreeing);
- declining ends the pair: every request of it, either way, and its proposal, declined;
- a proposal is a ``MeetingRequest`` with ``requested_by = "proposal"``, accepted from
  the start (the organiser put it there), which either side may decline. Stored as a
  request, it needs no new table, cascades away with the listing, profile or event like
  any request, is unique per pair by the table's own constraint, and shows among a
  side's received requests with the same accept and decline; a declined proposal stays,
  so proposing again never offers that pair again.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete
from sqlmodel import Session, col, select

from catalog.models import Listing
from catalog.taxonomy import ListingStatus
from core.db import claim_version, utcnow
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.principal import Principal
from core.settings import ScoringSettings
from matching.access import (
    ensure_may_answer_request,
    ensure_may_organise,
    may_name_at_event,
    names_requester,
    speaks_for,
)
from matching.matrix import listing_rows
from matching.models import InvestorProfile
from matching.pitchday.meeting_schemas import (
    AvailabilityPublic,
    AvailabilityUpdate,
    MeetingRequestCreate,
    MeetingRequestPublic,
    MeetingRequests,
    ProposalPublic,
    Proposals,
    RequestStatus,
    Side,
)
from matching.pitchday.models import (
    Availability,
    EventInvestor,
    EventListing,
    MeetingRequest,
    PitchEvent,
)
from matching.ranking import preferences
from matching.scoring import ListingMatrix, score_listings

PairKey = tuple[int, int]
"""(listing id, investor profile id)."""


# --- who takes part -----------------------------------------------------------------------


@dataclass(frozen=True)
class Attendance:
    """The published listings at the event and the attending profiles, in programme order."""

    listings: dict[int, Listing]
    profiles: dict[int, InvestorProfile]

    def listing_by_slug(self, slug: str) -> Listing | None:
        return next((x for x in self.listings.values() if x.slug == slug), None)


def attendance(session: Session, event: PitchEvent) -> Attendance:
    listings = session.exec(
        select(Listing)
        .join(EventListing, col(EventListing.listing_id) == Listing.id)
        .where(EventListing.event_id == event.id, Listing.status == ListingStatus.published)
        .order_by(col(EventListing.position))
    )
    profiles = session.exec(
        select(InvestorProfile)
        .join(EventInvestor, col(EventInvestor.investor_profile_id) == InvestorProfile.id)
        .where(EventInvestor.event_id == event.id)
        .order_by(col(EventInvestor.position))
    )
    return Attendance(
        listings={x.id or 0: x for x in listings}, profiles={p.id or 0: p for p in profiles}
    )


@dataclass(frozen=True)
class Sides:
    """What a principal speaks for at an event: its attending profiles and its listings."""

    profiles: list[InvestorProfile]
    listings: list[Listing]

    def __bool__(self) -> bool:
        return bool(self.profiles or self.listings)


def own_sides(present: Attendance, principal: Principal | None) -> Sides:
    if principal is None:
        return Sides([], [])
    return Sides(
        [p for p in present.profiles.values() if speaks_for(principal, p.organisation_id)],
        [x for x in present.listings.values() if speaks_for(principal, x.organisation_id)],
    )


def ensure_takes_part(sides: Sides) -> None:
    if not sides:
        raise Forbidden(
            "only the investors attending and the publishers of listings at this event take "
            "part in its meetings",
            field="event",
        )


def _attending_profile(
    present: Attendance, event: PitchEvent, profile_id: int, principal: Principal
) -> InvestorProfile:
    """An attending profile the principal may name (a hidden one reads as absent)."""
    profile = present.profiles.get(profile_id)
    if profile is None or not (
        speaks_for(principal, profile.organisation_id)
        or may_name_at_event(event, profile, principal)
    ):
        raise InvalidInput(
            f"investor profile {profile_id} does not attend this event",
            field="investor_profile_id",
        )
    return profile


def _listing_at_event(present: Attendance, slug: str) -> Listing:
    listing = present.listing_by_slug(slug)
    if listing is None:
        raise InvalidInput(f"listing '{slug}' is not at this event", field="listing")
    return listing


# --- availability -------------------------------------------------------------------------


def free_rounds(session: Session, event: PitchEvent) -> dict[tuple[str, int], frozenset[int]]:
    """The rounds each party marked, by (party, id); a party not here is free throughout."""
    marked: dict[tuple[str, int], set[int]] = defaultdict(set)
    for row in session.exec(select(Availability).where(Availability.event_id == event.id)):
        marked[row.party, row.party_id].add(row.round)
    return {party: frozenset(rounds) for party, rounds in marked.items()}


def _availability(
    marked: dict[tuple[str, int], frozenset[int]],
    party: Side,
    party_id: int,
    event: PitchEvent,
    listing_slug: str | None = None,
) -> AvailabilityPublic:
    rounds = marked.get((party.value, party_id))
    in_event = sorted(r for r in rounds if r < event.round_count) if rounds is not None else []
    return AvailabilityPublic(
        party=party,
        investor_profile_id=party_id if party is Side.investor else None,
        listing_slug=listing_slug,
        rounds=in_event if rounds is not None else list(range(event.round_count)),
        every_round=rounds is None,
    )


def availability_of(
    session: Session, *, event: PitchEvent, principal: Principal
) -> list[AvailabilityPublic]:
    """The rounds of each of the principal's sides at the event."""
    sides = own_sides(attendance(session, event), principal)
    ensure_takes_part(sides)
    marked = free_rounds(session, event)
    return [_availability(marked, Side.investor, p.id or 0, event) for p in sides.profiles] + [
        _availability(marked, Side.listing, x.id or 0, event, x.slug) for x in sides.listings
    ]


def set_availability(
    session: Session, *, event: PitchEvent, principal: Principal, data: AvailabilityUpdate
) -> AvailabilityPublic:
    """Replace the rounds one of the principal's sides is free (null: every round)."""
    if (data.investor_profile_id is None) == (data.listing is None):
        raise InvalidInput(
            "name either your investor profile (investor_profile_id) or your listing (listing)",
            field="investor_profile_id" if data.investor_profile_id is not None else "listing",
        )
    present = attendance(session, event)
    party: Side
    slug: str | None = None
    if data.investor_profile_id is not None:
        profile = _attending_profile(present, event, data.investor_profile_id, principal)
        if not speaks_for(principal, profile.organisation_id):
            raise Forbidden("this investor profile is another organisation's", field="investor")
        party, party_id = Side.investor, profile.id or 0
    else:
        listing = _listing_at_event(present, data.listing or "")
        if not speaks_for(principal, listing.organisation_id):
            raise Forbidden("this listing is another organisation's", field="listing")
        party, party_id, slug = Side.listing, listing.id or 0, listing.slug
    rounds = _check_rounds(data.rounds, event)
    session.execute(
        delete(Availability).where(
            col(Availability.event_id) == event.id,
            col(Availability.party) == party.value,
            col(Availability.party_id) == party_id,
        )
    )
    session.add_all(
        Availability(event_id=event.id or 0, party=party.value, party_id=party_id, round=r)
        for r in rounds or ()
    )
    session.flush()
    marked = {} if rounds is None else {(party.value, party_id): frozenset(rounds)}
    return _availability(marked, party, party_id, event, slug)


def _check_rounds(rounds: list[int] | None, event: PitchEvent) -> list[int] | None:
    if rounds is None:
        return None
    if not rounds:
        raise InvalidInput(
            "name at least one round (or null to be free in every round)", field="rounds"
        )
    outside = [r for r in rounds if r >= event.round_count]
    if outside:
        raise InvalidInput(
            f"round {outside[0]} is not one of this event's rounds (0 to {event.round_count - 1})",
            field="rounds",
        )
    if len(set(rounds)) != len(rounds):
        raise InvalidInput("'rounds' names one twice", field="rounds")
    return sorted(rounds)


# --- requests -----------------------------------------------------------------------------


def _requests(session: Session, event: PitchEvent) -> list[MeetingRequest]:
    return list(
        session.exec(
            select(MeetingRequest)
            .where(MeetingRequest.event_id == event.id)
            .order_by(col(MeetingRequest.id))
        )
    )


def send_request(
    session: Session, *, event: PitchEvent, principal: Principal, data: MeetingRequestCreate
) -> MeetingRequest:
    """Ask to meet, from the side the principal speaks for. If the other side had asked
    already, the pair becomes mutual: both requests accepted."""
    present = attendance(session, event)
    listing = _listing_at_event(present, data.listing)
    profile = _attending_profile(present, event, data.investor_profile_id, principal)
    as_investor = speaks_for(principal, profile.organisation_id)
    as_listing = speaks_for(principal, listing.organisation_id)
    if as_investor and as_listing:
        raise InvalidInput(
            "you cannot ask to meet yourself: the listing and the investor profile are both "
            "your organisation's",
            field="investor_profile_id",
        )
    if not (as_investor or as_listing):
        raise Forbidden(
            "only the investor or the listing's publisher asks for this meeting",
            field="authorization",
        )
    side = Side.investor if as_investor else Side.listing
    other = Side.listing if as_investor else Side.investor
    pair = [
        r
        for r in _requests(session, event)
        if r.listing_id == listing.id and r.investor_profile_id == profile.id
    ]
    if any(r.requested_by == side.value for r in pair):
        raise Conflict(
            "you have already asked for this meeting",
            field="listing" if as_investor else "investor_profile_id",
        )
    now = utcnow()
    request = MeetingRequest(
        event_id=event.id or 0,
        investor_profile_id=profile.id or 0,
        listing_id=listing.id or 0,
        requested_by=side.value,
        note=data.note,
    )
    for theirs in pair:
        if theirs.requested_by == other.value:
            theirs.status = request.status = RequestStatus.accepted.value
            theirs.decided_at = request.decided_at = now
            session.add(theirs)
    session.add(request)
    session.flush()
    return request


def decide_request(
    session: Session, *, event: PitchEvent, principal: Principal, request_id: int, accept: bool
) -> MeetingRequest:
    """The other side accepts or declines (either side, for a proposal). Declining ends
    the pair: every request of it, and its proposal, declined."""
    request = session.get(MeetingRequest, request_id)
    if request is None or request.event_id != event.id:
        raise NotFound(f"no meeting request {request_id}", field="request")
    listing = session.get(Listing, request.listing_id)
    profile = session.get(InvestorProfile, request.investor_profile_id)
    if listing is None or profile is None:  # cascades make this unreachable; be plain
        raise NotFound(f"no meeting request {request_id}", field="request")
    ensure_may_answer_request(
        principal,
        request,
        investor_owner=profile.organisation_id,
        listing_owner=listing.organisation_id,
    )
    now = utcnow()
    if accept:
        changed = [request]
    else:
        changed = [
            r
            for r in _requests(session, event)
            if r.listing_id == request.listing_id
            and r.investor_profile_id == request.investor_profile_id
        ]
    for row in changed:
        row.status = (RequestStatus.accepted if accept else RequestStatus.declined).value
        row.decided_at = now
        session.add(row)
    session.flush()
    return request


def requests_of(session: Session, *, event: PitchEvent, principal: Principal) -> MeetingRequests:
    """The principal's requests at the event: those its sides sent, and those to them
    (with the pairs the organiser proposed)."""
    present = attendance(session, event)
    sides = own_sides(present, principal)
    ensure_takes_part(sides)
    mine_profiles = {p.id for p in sides.profiles}
    mine_listings = {x.id for x in sides.listings}
    rows = [
        r
        for r in _requests(session, event)
        if r.investor_profile_id in mine_profiles or r.listing_id in mine_listings
    ]
    public = request_views(session, event, principal, rows)
    sent = [
        view
        for row, view in zip(rows, public, strict=True)
        if (row.requested_by == Side.investor and row.investor_profile_id in mine_profiles)
        or (row.requested_by == Side.listing and row.listing_id in mine_listings)
    ]
    sent_ids = {view.id for view in sent}
    return MeetingRequests(sent=sent, received=[v for v in public if v.id not in sent_ids])


def request_views(
    session: Session, event: PitchEvent, principal: Principal, rows: Iterable[MeetingRequest]
) -> list[MeetingRequestPublic]:
    rows = list(rows)
    accepted: Counter[PairKey] = Counter(
        (r.listing_id, r.investor_profile_id)
        for r in _requests(session, event)
        if r.requested_by != Side.proposal and r.status == RequestStatus.accepted
    )
    views = []
    for row in rows:
        listing = session.get(Listing, row.listing_id)
        profile = session.get(InvestorProfile, row.investor_profile_id)
        if listing is None or profile is None:
            continue
        named = speaks_for(principal, profile.organisation_id) or names_requester(
            event, profile, principal, row.requested_by
        )
        views.append(
            MeetingRequestPublic(
                id=row.id or 0,
                listing_slug=listing.slug,
                listing_title_th=listing.title_th,
                listing_title_en=listing.title_en,
                investor_profile_id=profile.id if named else None,
                investor_name=profile.name if named else None,
                requested_by=Side(row.requested_by),
                note=row.note,
                status=RequestStatus(row.status),
                mutual=accepted[row.listing_id, row.investor_profile_id] == 2,
                created_at=row.created_at,
                decided_at=row.decided_at,
            )
        )
    return views


# --- fit and proposals --------------------------------------------------------------------


def fit_scores(
    session: Session,
    present: Attendance,
    catalogue: ListingMatrix,
    settings: ScoringSettings,
) -> dict[PairKey, tuple[float, bool]]:
    """Every attending pair's score (as the catalogue-wide ranking scores it), and whether
    it passes the investor's hard constraints."""
    if not present.listings or not present.profiles:
        return {}
    matrix = ListingMatrix.build(
        listing_rows(session, list(present.listings.values())), reference=catalogue
    )
    scores: dict[PairKey, tuple[float, bool]] = {}
    for profile_id, profile in present.profiles.items():
        scored = score_listings(matrix, preferences(profile), settings)
        for i, row in enumerate(matrix.rows):
            scores[row.id, profile_id] = (round(float(scored.score[i]), 2), bool(scored.passed[i]))
    return scores


def propose(
    session: Session,
    *,
    event: PitchEvent,
    principal: Principal,
    expected_version: int,
    catalogue: ListingMatrix,
    settings: ScoringSettings,
    min_score: float,
    per_participant: int,
) -> Proposals:
    """Let the scores propose pairs (the organiser; ``If-Match``: proposals change what
    the schedule will hold), replacing earlier proposals no side declined."""
    ensure_may_organise(event, principal)
    claim_version(session, event, expected_version, what="event")
    return replace_proposals(
        session,
        event=event,
        catalogue=catalogue,
        settings=settings,
        min_score=min_score,
        per_participant=per_participant,
    )


def replace_proposals(
    session: Session,
    *,
    event: PitchEvent,
    catalogue: ListingMatrix,
    settings: ScoringSettings,
    min_score: float,
    per_participant: int | None,
) -> Proposals:
    """The best-scoring pairs that pass the investor's hard constraints, score at least
    ``min_score``, share a free round and have no request either way (nor a declined
    proposal), best first, at most ``per_participant`` for each investor and listing (None:
    every such pair, for the schedule to choose from)."""
    present = attendance(session, event)
    rows = _requests(session, event)
    declined = {
        (r.listing_id, r.investor_profile_id)
        for r in rows
        if r.requested_by == Side.proposal and r.status == RequestStatus.declined
    }
    asked = {(r.listing_id, r.investor_profile_id) for r in rows if r.requested_by != "proposal"}
    excluded = asked | declined
    session.execute(
        delete(MeetingRequest).where(
            col(MeetingRequest.event_id) == event.id,
            col(MeetingRequest.requested_by) == Side.proposal.value,
            col(MeetingRequest.status) != RequestStatus.declined.value,
        )
    )
    marked = free_rounds(session, event)
    every = frozenset(range(event.round_count))

    def common(pair: PairKey) -> bool:
        listing_free = marked.get((Side.listing.value, pair[0]), every)
        return bool(listing_free & marked.get((Side.investor.value, pair[1]), every) & every)

    ranked = sorted(
        (
            (score, pair)
            for pair, (score, passed) in fit_scores(session, present, catalogue, settings).items()
            if passed and score >= min_score and pair not in excluded and common(pair)
        ),
        key=lambda item: (-item[0], item[1]),
    )
    per_listing: Counter[int] = Counter()
    per_investor: Counter[int] = Counter()
    now = utcnow()
    chosen: list[ProposalPublic] = []
    for score, (listing_id, profile_id) in ranked:
        busiest = max(per_listing[listing_id], per_investor[profile_id])
        if per_participant is not None and busiest >= per_participant:
            continue
        per_listing[listing_id] += 1
        per_investor[profile_id] += 1
        session.add(
            MeetingRequest(
                event_id=event.id or 0,
                investor_profile_id=profile_id,
                listing_id=listing_id,
                requested_by=Side.proposal.value,
                status=RequestStatus.accepted.value,
                decided_at=now,
            )
        )
        chosen.append(
            ProposalPublic(
                listing_slug=present.listings[listing_id].slug,
                investor_profile_id=profile_id,
                investor_name=present.profiles[profile_id].name,
                score=score,
            )
        )
    session.flush()
    return Proposals(
        min_score=min_score,
        per_participant=per_participant,
        data=chosen,
        declined=len(declined),
    )
