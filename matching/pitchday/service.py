"""Pitch days: who may organise them, which listings and investors take part, the
shortlist of good pairs and the one-to-one schedule built from it."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import delete, or_
from sqlmodel import Session, col, select

from catalog.geography import get_city, region_of
from catalog.models import Listing, Organisation
from catalog.readmodel import city_refs, published_summaries
from catalog.taxonomy import SECTOR_PARENT, ListingStatus, Sector, sector_family_down
from core.db import claim_version, unique_slug
from core.errors import Conflict, InvalidInput, NotFound
from core.principal import Principal
from core.settings import ScoringSettings
from matching.access import (
    ensure_may_organise,
    ensure_organiser,
    may_invite_profile,
    may_name_at_event,
    shown_to_publishers,
)
from matching.matrix import listing_rows
from matching.models import InvestorProfile
from matching.pitchday import planning
from matching.pitchday.models import EventInvestor, EventListing, Meeting, PitchEvent
from matching.pitchday.schemas import (
    PROGRAMME,
    EventCreate,
    EventPublic,
    EventUpdate,
    ListingShortlist,
    MeetingPublic,
    ShortlistEntry,
    check_programme,
    slot_start,
)
from matching.ranking import component_scores, preferences
from matching.reasons import reasons_for
from matching.scoring import ListingMatrix, score_listings

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


# --- the event and who takes part -------------------------------------------------------


def get_event(session: Session, *, slug: str) -> PitchEvent:
    event = session.exec(select(PitchEvent).where(PitchEvent.slug == slug)).first()
    if event is None:
        raise NotFound(f"no event '{slug}'", field="event")
    return event


def _in_order(found: Mapping[K, V], refs: Sequence[K], *, field: str, missing: str) -> list[V]:
    """``found``'s values in the order of ``refs``; 422 naming ``field`` for a reference
    that is not there (``missing`` says so) or that comes twice."""
    absent = [ref for ref in refs if ref not in found]
    if absent:
        raise InvalidInput(missing.format(absent[0]), field=field)
    if len(set(refs)) != len(refs):
        raise InvalidInput(f"'{field}' names one twice", field=field)
    return [found[ref] for ref in refs]


def _published_listings(session: Session, slugs: Sequence[str]) -> list[Listing]:
    """The listings named, in that order; 422 naming ``listings`` for any that is not
    published (a draft's existence is not revealed: it reads as unknown)."""
    found = {
        listing.slug: listing
        for listing in session.exec(
            select(Listing).where(
                col(Listing.slug).in_(slugs), Listing.status == ListingStatus.published
            )
        )
    }
    return _in_order(found, slugs, field="listings", missing="no published listing '{}'")


def _attending_profiles(
    session: Session, ids: Sequence[int], principal: Principal
) -> list[InvestorProfile]:
    """The profiles named, in that order: discoverable ones, or the organiser's own."""
    found = {
        profile.id: profile
        for profile in session.exec(select(InvestorProfile).where(col(InvestorProfile.id).in_(ids)))
        if may_invite_profile(session, principal, profile)
    }
    return _in_order(found, ids, field="investors", missing="no investor profile {} you may invite")


def _set_participants(
    session: Session,
    event: PitchEvent,
    principal: Principal,
    listings: Sequence[str] | None,
    investors: Sequence[int] | None,
) -> None:
    """Set who takes part, in order. Rows of those who stay are kept (with their check-in
    and calendar feed); the schedule is dropped only if someone came or left."""
    event_id = event.id or 0
    changed = False
    if listings is not None:
        chosen = [listing.id or 0 for listing in _published_listings(session, listings)]
        changed |= _keep_in_order(session, EventListing, event_id, "listing_id", chosen)
    if investors is not None:
        profiles = [p.id or 0 for p in _attending_profiles(session, investors, principal)]
        changed |= _keep_in_order(session, EventInvestor, event_id, "investor_profile_id", profiles)
    if changed:
        _clear_schedule(session, event)


def _keep_in_order(
    session: Session,
    table: type[EventListing] | type[EventInvestor],
    event_id: int,
    key: str,
    wanted: list[int],
) -> bool:
    """Make the event's rows of ``table`` exactly ``wanted``, in that order; whether
    anyone came or left."""
    rows = {
        getattr(row, key): row
        for row in session.exec(select(table).where(col(table.event_id) == event_id))
    }
    for gone in set(rows) - set(wanted):
        session.delete(rows[gone])
    for position, party in enumerate(wanted):
        row = rows.get(party) or table.model_validate(
            {"event_id": event_id, key: party, "position": position}
        )
        row.position = position
        session.add(row)
    session.flush()
    return set(rows) != set(wanted)


def _clear_schedule(session: Session, event: PitchEvent) -> None:
    session.execute(delete(Meeting).where(col(Meeting.event_id) == event.id))
    event.scheduled_at = None


def create_event(session: Session, *, data: EventCreate, principal: Principal) -> PitchEvent:
    """An event owned by the organiser's organisation."""
    ensure_organiser(principal)
    if (
        data.slug
        and session.exec(select(PitchEvent.id).where(PitchEvent.slug == data.slug)).first()
    ):
        raise Conflict(f"slug '{data.slug}' is taken", field="slug")
    city = get_city(session, slug=data.city)
    event = PitchEvent(
        slug=data.slug
        or unique_slug(session, PitchEvent.slug, data.name_en or "", fallback="pitch-day"),
        organisation_id=principal.organisation_id,
        city_id=city.id or 0,
        **data.model_dump(exclude={"slug", "city", "listings", "investors"}),
    )
    _check_programme(event)
    session.add(event)
    session.flush()
    _set_participants(session, event, principal, data.listings, data.investors)
    session.flush()
    return event


def update_event(
    session: Session,
    *,
    event: PitchEvent,
    data: EventUpdate,
    expected_version: int,
    principal: Principal,
) -> PitchEvent:
    """Change the fields sent, from the current version only (412 if stale); changing
    the slots or who takes part drops the schedule."""
    ensure_may_organise(event, principal)
    claim_version(session, event, expected_version, what="event")
    changes = data.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if name not in ("listings", "investors"):
            setattr(event, name, value)
    _check_programme(event)
    if {"round_first", "round_minutes", "round_count", "table_count"} & changes.keys():
        _clear_schedule(session, event)
    _set_participants(session, event, principal, changes.get("listings"), changes.get("investors"))
    session.add(event)
    session.flush()
    return event


def _check_programme(event: PitchEvent) -> None:
    """The changed programme must hold together with what is stored."""
    problem = check_programme(**{name: getattr(event, name) for name in PROGRAMME})
    if problem is not None:
        raise InvalidInput(problem[1], field=problem[0])


def list_events(session: Session) -> list[PitchEvent]:
    """Every event, soonest first."""
    return list(
        session.exec(select(PitchEvent).order_by(col(PitchEvent.held_on), col(PitchEvent.id)))
    )


# --- reading an event ---------------------------------------------------------------------


def _participants(session: Session, event: PitchEvent) -> tuple[list[int], list[InvestorProfile]]:
    listing_ids = list(
        session.exec(
            select(EventListing.listing_id)
            .where(EventListing.event_id == event.id)
            .order_by(col(EventListing.position))
        )
    )
    profiles = list(
        session.exec(
            select(InvestorProfile)
            .join(EventInvestor, col(EventInvestor.investor_profile_id) == InvestorProfile.id)
            .where(EventInvestor.event_id == event.id)
            .order_by(col(EventInvestor.position))
        )
    )
    return listing_ids, profiles


def event_public(session: Session, event: PitchEvent, viewer: Principal | None) -> EventPublic:
    """The event as anyone may read it; investors who are not discoverable are named only
    to the organiser and to themselves."""
    listing_ids, profiles = _participants(session, event)
    listings = published_summaries(session, listing_ids)
    slugs = {listing.id: listing.slug for listing in listings}
    shown = {
        profile.id: profile for profile in profiles if may_name_at_event(event, profile, viewer)
    }
    meetings = [
        MeetingPublic(
            slot=meeting.slot,
            starts_at=slot_start(event.round_first, event.round_minutes, meeting.slot),
            listing_slug=slugs[meeting.listing_id],
            investor_profile_id=meeting.investor_profile_id
            if meeting.investor_profile_id in shown
            else None,
            investor_name=shown[meeting.investor_profile_id].name
            if meeting.investor_profile_id in shown
            else None,
            score=round(meeting.score, 2),
            table_no=meeting.table_no,
            source=meeting.source,
        )
        for meeting in session.exec(
            select(Meeting)
            .where(Meeting.event_id == event.id)
            .order_by(col(Meeting.slot), col(Meeting.listing_id))
        )
        if meeting.listing_id in slugs  # a listing unpublished since drops out
    ]
    organisation = session.get(Organisation, event.organisation_id)
    return EventPublic(
        slug=event.slug,
        organisation=organisation.slug if organisation else "",
        city=city_refs(session, [event.city_id])[event.city_id],
        name_th=event.name_th,
        name_en=event.name_en,
        venue_th=event.venue_th,
        venue_en=event.venue_en,
        held_on=event.held_on,
        first_slot=event.first_slot,
        slot_minutes=event.slot_minutes,
        slot_count=event.slot_count,
        round_first=event.round_first,
        round_minutes=event.round_minutes,
        round_count=event.round_count,
        table_count=event.table_count,
        registration_deadline=event.registration_deadline,
        listings=listings,
        investor_count=len(profiles),
        meetings=meetings,
        scheduled_at=event.scheduled_at,
        version=event.version,
    )


# --- shortlist and schedule ---------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    """A listing and an attending investor worth meeting, as the shortlist shows them."""

    listing_id: int
    listing_slug: str
    profile: InvestorProfile
    score: float
    entry: ShortlistEntry


def best_first(pairs: Sequence[Pair]) -> list[Pair]:
    return sorted(pairs, key=lambda p: (-p.score, p.listing_id, p.profile.id or 0))


def _pairs(
    session: Session,
    participants: tuple[list[int], list[InvestorProfile]],
    catalogue: ListingMatrix,
    settings: ScoringSettings,
    min_score: float,
) -> list[Pair]:
    """Every listing-investor pair that passes the investor's hard constraints and scores
    at least ``min_score``, scored as the catalogue-wide ranking would score it."""
    listing_ids, profiles = participants
    listings = session.exec(
        select(Listing).where(
            col(Listing.id).in_(listing_ids), Listing.status == ListingStatus.published
        )
    ).all()
    if not listings or not profiles:
        return []
    matrix = ListingMatrix.build(listing_rows(session, listings), reference=catalogue)
    pairs = []
    for profile in profiles:
        prefs = preferences(profile)
        scored = score_listings(matrix, prefs, settings)
        for i, row in enumerate(matrix.rows):  # the matrix orders its rows by listing id
            score = round(float(scored.score[i]), 2)
            if not scored.passed[i] or score < min_score:
                continue
            entry = ShortlistEntry(
                investor_profile_id=profile.id or 0,
                investor_name=profile.name,
                score=score,
                reasons=reasons_for(row, prefs, component_scores(scored, i)),
            )
            pairs.append(Pair(row.id, row.slug, profile, score, entry))
    return pairs


def shortlist(
    session: Session,
    *,
    event: PitchEvent,
    principal: Principal,
    catalogue: ListingMatrix,
    settings: ScoringSettings,
    min_score: float,
) -> list[ListingShortlist]:
    """For each pitching listing, the attending investors worth meeting, best fit first."""
    ensure_may_organise(event, principal)
    participants = _participants(session, event)
    by_listing: dict[int, list[ShortlistEntry]] = {listing_id: [] for listing_id in participants[0]}
    slugs: dict[int, str] = {}
    for pair in best_first(_pairs(session, participants, catalogue, settings, min_score)):
        by_listing[pair.listing_id].append(pair.entry)
        slugs[pair.listing_id] = pair.listing_slug
    return [
        ListingShortlist(listing_slug=slugs[listing_id], investors=entries)
        for listing_id, entries in by_listing.items()
        if listing_id in slugs
    ]


def build_schedule(
    session: Session,
    *,
    event: PitchEvent,
    principal: Principal,
    expected_version: int,
    catalogue: ListingMatrix,
    settings: ScoringSettings,
    min_score: float | None = None,
) -> PitchEvent:
    """Replace the event's meetings with the best schedule of the accepted requests and
    the proposals (``planning.build_schedule``); with ``min_score``, the scores propose
    pairs first, as the plan from the shortlist did."""
    return planning.build_schedule(
        session,
        event=event,
        principal=principal,
        expected_version=expected_version,
        catalogue=catalogue,
        settings=settings,
        min_score=min_score,
    ).event


# --- whom an organiser may invite ---------------------------------------------------------


def invitable_profiles(
    session: Session,
    *,
    principal: Principal,
    sector: str | None = None,
    province: str | None = None,
    ticket_thb: int | None = None,
    limit: int = 200,
) -> list[InvestorProfile]:
    """Profiles the organiser may invite (discoverable ones of verified organisations,
    and its own) that would consider ``sector``, ``province`` and an investment of
    ``ticket_thb``; a profile that names none of these considers any."""
    ensure_organiser(principal)
    own = col(InvestorProfile.organisation_id) == principal.organisation_id
    found = []
    for profile in session.exec(
        select(InvestorProfile)
        .where(or_(shown_to_publishers(), own))
        .order_by(col(InvestorProfile.name), col(InvestorProfile.id))
    ):
        if sector and profile.sectors and not _considers_sector(profile, sector):
            continue
        if province and not _considers_province(profile, province):
            continue
        if ticket_thb is not None and not (
            profile.ticket_min_thb <= ticket_thb <= profile.ticket_max_thb
        ):
            continue
        found.append(profile)
        if len(found) >= limit:
            break
    return found


def _considers_sector(profile: InvestorProfile, sector: str) -> bool:
    family = {s.value for s in sector_family_down(Sector(sector))}
    parent = SECTOR_PARENT.get(Sector(sector))
    chosen = set(profile.sectors)
    return bool(chosen & family) or (parent is not None and parent.value in chosen)


def _considers_province(profile: InvestorProfile, province: str) -> bool:
    if not profile.provinces and not profile.regions:
        return True
    return province in profile.provinces or region_of(province) in profile.regions


def attending_profile_ids(session: Session, event: PitchEvent) -> list[int]:
    return list(
        session.exec(
            select(EventInvestor.investor_profile_id)
            .where(EventInvestor.event_id == event.id)
            .order_by(col(EventInvestor.position))
        )
    )
