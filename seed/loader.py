"""Loads the demo catalogue in ``seed/data``: idempotent, so running it twice changes nothing.

Cities, organisations and smart blocks are matched by slug and inserted when missing.
Listings go through the catalogue service (the same validation and change log as the API)
and are only created when their slug is new: a listing someone has edited since is
never overwritten by the demo data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from catalog import service
from catalog.models import City, Listing, Organisation, SmartBlock
from catalog.schemas import ListingCreate
from catalog.taxonomy import ListingStatus
from core.db import utcnow
from core.principal import OrganisationKind, Principal, Role
from core.settings import ScoringSettings
from matching import service as matching_service
from matching.matrix import MatrixStore
from matching.models import InvestorProfile
from matching.pitchday import agenda_mail, outcomes, planning
from matching.pitchday import requests as meeting_requests
from matching.pitchday import service as pitchday_service
from matching.pitchday.day_schemas import OutcomeUpdate
from matching.pitchday.meeting_schemas import AvailabilityUpdate, MeetingRequestCreate
from matching.pitchday.models import Meeting, PitchEvent
from matching.pitchday.schemas import EventCreate
from matching.schemas import InvestorProfileCreate

DATA_DIR = Path(__file__).parent / "data"


@dataclass
class SeedReport:
    cities: int = 0
    organisations: int = 0
    smart_blocks: int = 0
    listings: int = 0
    investors: int = 0
    events: int = 0

    def total(self) -> int:
        return (
            self.cities
            + self.organisations
            + self.smart_blocks
            + self.listings
            + self.investors
            + self.events
        )


def _read(name: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((DATA_DIR / name).read_text(encoding="utf-8"))
    return data


def _by_slug(session: Session, model: Any, slug: str) -> Any:
    return session.exec(select(model).where(model.slug == slug)).first()


def _load_city(session: Session, record: dict[str, Any], report: SeedReport) -> None:
    fields = {k: v for k, v in record.items() if k not in ("organisation", "smart_blocks")}
    city = _by_slug(session, City, record["slug"])
    if city is None:
        city = City(**fields)
        session.add(city)
        session.flush()
        report.cities += 1
    organisation = record["organisation"]
    if _by_slug(session, Organisation, organisation["slug"]) is None:
        session.add(Organisation(**organisation, city_id=city.id, verified_at=utcnow()))
        report.organisations += 1
    for block in record["smart_blocks"]:
        if _by_slug(session, SmartBlock, block["slug"]) is None:
            session.add(SmartBlock(**block, city_id=city.id))
            report.smart_blocks += 1
    session.flush()


def _publisher_of(session: Session, slug: str) -> Principal:
    organisation = _by_slug(session, Organisation, slug)
    if organisation is None:
        raise ValueError(f"seed listing names unknown organisation '{slug}'")
    return Principal(
        organisation_id=organisation.id,
        organisation_slug=organisation.slug,
        role=Role.publisher,
        api_key_id=0,
    )


def _load_listing(session: Session, record: dict[str, Any], report: SeedReport) -> None:
    if _by_slug(session, Listing, record["slug"]) is not None:
        return
    publisher = _publisher_of(session, record["organisation"])
    data = ListingCreate.model_validate(
        {k: v for k, v in record.items() if k not in ("organisation", "status", "published_at")}
    )
    listing = service.create_listing(session, data=data, principal=publisher)
    status = ListingStatus(record["status"])
    if status is not ListingStatus.draft:
        published = datetime.fromisoformat(record["published_at"]).replace(tzinfo=UTC)
        service.publish_listing(
            session,
            listing=listing,
            principal=publisher,
            expected_version=listing.version,
            at=published,
        )
    if status is ListingStatus.archived:
        service.archive_listing(
            session, listing=listing, principal=publisher, expected_version=listing.version
        )
    report.listings += 1


def _load_investor(session: Session, record: dict[str, Any], report: SeedReport) -> None:
    if _by_slug(session, InvestorProfile, record["slug"]) is not None:
        return
    org = record["organisation"]
    organisation = _by_slug(session, Organisation, org["slug"])
    if organisation is None:
        organisation = Organisation(**org, kind=OrganisationKind.investor, verified_at=utcnow())
        session.add(organisation)
        session.flush()
        report.organisations += 1
    investor = Principal(organisation.id, organisation.slug, Role.investor, 0)
    data = InvestorProfileCreate.model_validate(
        {k: v for k, v in record.items() if k != "organisation"}
    )
    matching_service.create_profile(session, data=data, principal=investor)
    report.investors += 1


def load_seed(session: Session) -> SeedReport:
    """Insert whatever part of the demo catalogue is missing; returns what was added."""
    report = SeedReport()
    for city in _read("cities.json"):
        _load_city(session, city, report)
    for listing in _read("listings.json"):
        _load_listing(session, listing, report)
    for investor in _read("investors.json"):
        _load_investor(session, investor, report)
    for event in _read("events.json"):
        _load_event(session, event, report)
    session.flush()
    return report


def _load_event(session: Session, record: dict[str, Any], report: SeedReport) -> None:
    """A demo pitch day as its people would make it through the API: the organiser's
    event, the meeting requests and rounds of investors and cities, a planned (and
    published) schedule and, for a day already held, what came of its meetings."""
    if _by_slug(session, PitchEvent, record["slug"]) is not None:
        return
    organisation = _by_slug(session, Organisation, record["organisation"]["slug"])
    if organisation is None:
        organisation = Organisation(
            **record["organisation"], kind=OrganisationKind.organiser, verified_at=utcnow()
        )
        session.add(organisation)
        session.flush()
        report.organisations += 1
    organiser = Principal(organisation.id or 0, organisation.slug, Role.organiser)
    profiles = {slug: _by_slug(session, InvestorProfile, slug) for slug in record["investors"]}
    data = EventCreate.model_validate(
        {k: v for k, v in record.items() if k in EventCreate.model_fields and k != "investors"}
        | {"investors": [profile.id for profile in profiles.values() if profile]}
    )
    event = pitchday_service.create_event(session, data=data, principal=organiser)
    met = [{"by": "investor", **o, "answer": "accept"} for o in record.get("outcomes", [])]
    for asked in [*record.get("requests", []), *met]:
        _load_request(session, event, asked)
    for free in record.get("availability", []):
        _load_availability(session, event, free)
    planning.build_schedule(
        session,
        event=event,
        principal=organiser,
        expected_version=event.version,
        catalogue=MatrixStore().matrix(session),
        settings=ScoringSettings(),
        min_score=record["min_score"],
    )
    if record.get("publish"):
        agenda_mail.publish_schedule(
            session,
            event=event,
            expected_version=event.version,
            principal=organiser,
            jobs=None,
            base_url="",
        )
    for outcome in record.get("outcomes", []):
        _load_outcome(session, event, organiser, outcome)
    report.events += 1


def _speaker(session: Session, organisation_id: int, role: Role) -> Principal:
    organisation = session.get(Organisation, organisation_id)
    assert organisation is not None
    return Principal(organisation_id, organisation.slug, role)


def _sides(session: Session, record: dict[str, Any]) -> tuple[InvestorProfile, Listing]:
    profile = _by_slug(session, InvestorProfile, record["investor"])
    listing = _by_slug(session, Listing, record["listing"])
    assert profile is not None
    assert listing is not None
    return profile, listing


def _load_request(session: Session, event: PitchEvent, record: dict[str, Any]) -> None:
    """A meeting request from one side, answered by the other when the record says."""
    profile, listing = _sides(session, record)
    investor = _speaker(session, profile.organisation_id, Role.investor)
    publisher = _speaker(session, listing.organisation_id, Role.publisher)
    asking, answering = (
        (investor, publisher) if record["by"] == "investor" else (publisher, investor)
    )
    request = meeting_requests.send_request(
        session,
        event=event,
        principal=asking,
        data=MeetingRequestCreate(
            listing=listing.slug, investor_profile_id=profile.id or 0, note=record.get("note", "")
        ),
    )
    if record.get("answer") and request.status == "pending":
        meeting_requests.decide_request(
            session,
            event=event,
            principal=answering,
            request_id=request.id or 0,
            accept=record["answer"] == "accept",
        )


def _load_availability(session: Session, event: PitchEvent, record: dict[str, Any]) -> None:
    if "investor" in record:
        profile = _by_slug(session, InvestorProfile, record["investor"])
        assert profile is not None
        principal = _speaker(session, profile.organisation_id, Role.investor)
        update = AvailabilityUpdate(investor_profile_id=profile.id, rounds=record["rounds"])
    else:
        listing = _by_slug(session, Listing, record["listing"])
        assert listing is not None
        principal = _speaker(session, listing.organisation_id, Role.publisher)
        update = AvailabilityUpdate(listing=listing.slug, rounds=record["rounds"])
    meeting_requests.set_availability(session, event=event, principal=principal, data=update)


def _load_outcome(
    session: Session, event: PitchEvent, organiser: Principal, record: dict[str, Any]
) -> None:
    """What came of a meeting of a day already held; a follow-up or an LOI makes a lead."""
    profile, listing = _sides(session, record)
    meeting = session.exec(
        select(Meeting).where(
            Meeting.event_id == event.id,
            Meeting.listing_id == listing.id,
            Meeting.investor_profile_id == profile.id,
        )
    ).first()
    assert meeting is not None, f"no meeting of {listing.slug} with {profile.slug}"
    outcomes.record_outcome(
        session,
        event=event,
        meeting_id=meeting.id or 0,
        data=OutcomeUpdate(outcome=record["outcome"], note=record.get("note", "")),
        principal=organiser,
        today=event.held_on,
    )
