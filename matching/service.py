"""Matching's workflows: investor profiles (kept by investors, and by organisers for their
events) and the leads that expressions of interest become."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from pydantic import ValidationError
from sqlmodel import Session, col, select

from catalog.accounts import service as accounts
from catalog.accounts.models import Person
from catalog.accounts.service import Passwords
from catalog.models import Listing, Organisation
from catalog.schemas import MAX_THB
from catalog.taxonomy import ListingStatus
from core.db import claim_version, unique_slug, utcnow
from core.errors import Conflict, InvalidInput, NotFound
from core.formatting import bangkok_date
from core.principal import OrganisationKind, Principal
from matching.access import (
    ensure_investor,
    ensure_may_edit_profile,
    ensure_may_keep_profiles,
    ensure_may_read_profile,
)
from matching.models import Interest, InvestorProfile
from matching.schemas import (
    InterestCreate,
    InterestPublic,
    InvestorProfileCreate,
    InvestorProfilePublic,
    InvestorProfileUpdate,
    InvestorRegistration,
    LeadPublic,
    LeadStatus,
    LeadUpdate,
    ProfileFields,
)

# --- profiles ----------------------------------------------------------------------------


def profile_public(session: Session, profile: InvestorProfile) -> InvestorProfilePublic:
    organisation = session.get(Organisation, profile.organisation_id)
    assert organisation is not None
    return InvestorProfilePublic.model_validate(
        {**profile.model_dump(), "organisation": organisation.slug}
    )


def create_profile(
    session: Session, *, data: InvestorProfileCreate, principal: Principal
) -> InvestorProfile:
    """A profile owned by the principal's organisation (an investor's own, or one an
    organiser or admin keeps for an event)."""
    ensure_may_keep_profiles(principal)
    if (
        data.slug
        and session.exec(
            select(InvestorProfile.id).where(InvestorProfile.slug == data.slug)
        ).first()
    ):
        raise Conflict(f"slug '{data.slug}' is taken", field="slug")
    profile = InvestorProfile(
        **data.model_dump(mode="json", exclude={"slug"}),
        slug=data.slug
        or unique_slug(session, col(InvestorProfile.slug), data.name, fallback="investor"),
        organisation_id=principal.organisation_id,
    )
    session.add(profile)
    session.flush()
    return profile


def get_profile(session: Session, *, profile_id: int, viewer: Principal | None) -> InvestorProfile:
    """A profile the viewer may read (``matching.access.may_read_profile``), else 404."""
    profile = session.get(InvestorProfile, profile_id)
    return ensure_may_read_profile(session, profile, viewer, profile_id)


def list_profiles(session: Session, *, principal: Principal) -> list[InvestorProfile]:
    """The principal organisation's profiles (all of them for an admin)."""
    stmt = select(InvestorProfile).order_by(col(InvestorProfile.id))
    if not principal.is_admin:
        stmt = stmt.where(InvestorProfile.organisation_id == principal.organisation_id)
    return list(session.exec(stmt))


def update_profile(
    session: Session,
    *,
    profile: InvestorProfile,
    data: InvestorProfileUpdate,
    expected_version: int,
    principal: Principal,
) -> InvestorProfile:
    """Change the fields sent; only the owning organisation (or an admin) may, and only
    from the current version (412 if ``expected_version`` is stale)."""
    ensure_may_edit_profile(principal, profile)
    claim_version(session, profile, expected_version, what="investor profile")
    changes = data.model_dump(exclude_unset=True, mode="json")
    current = profile.model_dump(include=set(ProfileFields.model_fields))
    try:
        ProfileFields.model_validate(  # the change must hold together with what is stored
            current | {k: v for k, v in changes.items() if k in ProfileFields.model_fields}
        )
    except ValidationError as exc:  # the change is valid alone but not with what is stored
        error = exc.errors()[0]
        raise InvalidInput(error["msg"], field=".".join(map(str, error["loc"]))) from exc
    for name, value in changes.items():
        setattr(profile, name, value)
    session.add(profile)
    session.flush()
    return profile


def register_investor(
    session: Session, *, data: InvestorRegistration, passwords: Passwords
) -> tuple[Person, InvestorProfile]:
    """A new investor organisation, its owner, and a first profile that matches anything
    until it is filled in. It can search, match and express interest at once; publishers
    see it once an admin verifies the organisation."""
    person = accounts.sign_up(
        session,
        organisation_name=data.organisation_name,
        kind=OrganisationKind.investor,
        email=data.email,
        password=data.password,
        name=data.name,
        passwords=passwords,
    )
    profile = InvestorProfile(
        slug=unique_slug(
            session, col(InvestorProfile.slug), data.organisation_name, fallback="investor"
        ),
        organisation_id=person.organisation_id,
        name=data.organisation_name,
        investor_type=data.investor_type,
        home_country=data.home_country,
        languages=data.languages,
        ticket_min_thb=0,
        ticket_max_thb=MAX_THB,
        discoverable=True,  # once verified; the investor may hide it
    )
    session.add(profile)
    session.flush()
    return person, profile


# --- expressions of interest and leads ----------------------------------------------------


def _investor_profile_for(
    session: Session, principal: Principal, slug: str | None
) -> InvestorProfile:
    stmt = select(InvestorProfile).where(
        InvestorProfile.organisation_id == principal.organisation_id
    )
    if slug:
        stmt = stmt.where(InvestorProfile.slug == slug)
    profiles = session.exec(stmt.order_by(col(InvestorProfile.id))).all()
    if not profiles:
        raise InvalidInput(
            "create an investor profile first (POST /v1/investors)", field="investor_profile"
        )
    if len(profiles) > 1:
        raise InvalidInput("you have several profiles: name one", field="investor_profile")
    return profiles[0]


def express_interest(
    session: Session, *, listing: Listing, data: InterestCreate, principal: Principal
) -> tuple[Interest, bool]:
    """Record interest once per investor and listing; returns it and whether it is new."""
    ensure_investor(principal)
    if listing.status != ListingStatus.published:
        raise Conflict(f"listing is {listing.status} and takes no new interest", field="listing")
    profile = _investor_profile_for(session, principal, data.investor_profile)
    existing = session.exec(
        select(Interest).where(
            Interest.listing_id == listing.id, Interest.investor_profile_id == profile.id
        )
    ).first()
    if existing is not None and existing.withdrawn_at is None:
        return existing, False
    if existing is not None:  # interest again after withdrawing: a new lead
        existing.withdrawn_at = None
        existing.status = LeadStatus.new
        existing.message, existing.contact = data.message, data.contact
        existing.created_at = existing.updated_at = utcnow()
        session.add(existing)
        session.flush()
        return existing, True
    assert listing.id is not None
    assert profile.id is not None
    interest = Interest(
        listing_id=listing.id,
        investor_profile_id=profile.id,
        message=data.message,
        contact=data.contact,
        status=LeadStatus.new,
    )
    session.add(interest)
    session.flush()
    return interest, True


def interests_of(
    session: Session, *, principal: Principal, listing_id: int | None = None
) -> list[Interest]:
    """The interest the principal's organisation expressed (in one listing, if given),
    newest first."""
    own = select(InvestorProfile.id).where(
        InvestorProfile.organisation_id == principal.organisation_id
    )
    stmt = select(Interest).where(col(Interest.investor_profile_id).in_(own))
    if listing_id is not None:
        stmt = stmt.where(Interest.listing_id == listing_id)
    return list(
        session.exec(stmt.order_by(col(Interest.created_at).desc(), col(Interest.id).desc()))
    )


def withdraw_interest(session: Session, *, interest_id: int, principal: Principal) -> Interest:
    """Take an expression of interest back; the city sees it withdrawn. Withdrawing twice
    changes nothing."""
    interest = session.get(Interest, interest_id)
    profile = session.get(InvestorProfile, interest.investor_profile_id) if interest else None
    if interest is None or profile is None or not principal.acts_for(profile.organisation_id):
        raise NotFound(f"no interest {interest_id}", field="interest")
    if interest.withdrawn_at is None:
        interest.withdrawn_at = interest.updated_at = utcnow()
        session.add(interest)
        session.flush()
    return interest


def interest_public(session: Session, interest: Interest) -> InterestPublic:
    listing = session.get(Listing, interest.listing_id)
    profile = session.get(InvestorProfile, interest.investor_profile_id)
    assert listing is not None
    assert profile is not None
    return InterestPublic(
        id=interest.id or 0,
        listing_slug=listing.slug,
        listing_title_th=listing.title_th,
        listing_title_en=listing.title_en,
        investor_profile=profile.slug,
        message=interest.message,
        contact=interest.contact,
        status=LeadStatus(interest.status),
        created_at=interest.created_at,
        updated_at=interest.updated_at,
        withdrawn_at=interest.withdrawn_at,
    )


def lead_public(session: Session, interest: Interest) -> LeadPublic:
    listing = session.get(Listing, interest.listing_id)
    profile = session.get(InvestorProfile, interest.investor_profile_id)
    assert listing is not None
    assert profile is not None
    organisation = session.get(Organisation, profile.organisation_id)
    assert organisation is not None
    return LeadPublic(
        id=interest.id or 0,
        listing_slug=listing.slug,
        listing_title_th=listing.title_th,
        listing_title_en=listing.title_en,
        investor=profile_public(session, profile),
        investor_organisation_th=organisation.name_th,
        investor_organisation_en=organisation.name_en,
        contact_email=organisation.email or _owner_email(session, organisation.id),
        message=interest.message,
        contact=interest.contact,
        status=LeadStatus(interest.status),
        notes=interest.notes,
        created_at=interest.created_at,
        updated_at=interest.updated_at,
        withdrawn_at=interest.withdrawn_at,
    )


def _owner_email(session: Session, organisation_id: int | None) -> str | None:
    owner = session.exec(
        select(Person.email)
        .where(Person.organisation_id == organisation_id, col(Person.disabled_at).is_(None))
        .order_by(col(Person.is_owner).desc(), col(Person.id))
    ).first()
    return owner


def list_leads(session: Session, *, principal: Principal) -> list[Interest]:
    """Interest in the principal organisation's listings, newest first."""
    own = select(Listing.id).where(Listing.organisation_id == principal.organisation_id)
    return list(
        session.exec(
            select(Interest)
            .where(col(Interest.listing_id).in_(own))
            .order_by(col(Interest.created_at).desc(), col(Interest.id).desc())
        )
    )


def update_lead(
    session: Session, *, lead_id: int, data: LeadUpdate, principal: Principal
) -> Interest:
    """Move a lead along: contacted, meeting, letter of intent, won or lost."""
    interest = session.get(Interest, lead_id)
    listing = session.get(Listing, interest.listing_id) if interest else None
    if interest is None or listing is None or not principal.acts_for(listing.organisation_id):
        raise NotFound(f"no lead {lead_id}", field="lead")
    if data.status is not None:
        interest.status = data.status
    if data.notes is not None:
        interest.notes = data.notes
    interest.updated_at = utcnow()
    session.add(interest)
    session.flush()
    return interest


def first_profile_of(session: Session, *, organisation_id: int) -> InvestorProfile | None:
    """The organisation's first investor profile, if it keeps one."""
    return session.exec(
        select(InvestorProfile)
        .where(InvestorProfile.organisation_id == organisation_id)
        .order_by(col(InvestorProfile.id))
    ).first()


def interest_by_week(
    session: Session, listing_ids: list[int], starts: list[date]
) -> dict[date, int]:
    """New expressions of interest in these listings, by the week (Monday) they came."""
    found = dict.fromkeys(starts, 0)
    if not listing_ids:
        return found
    rows = session.exec(
        select(Interest.created_at).where(
            col(Interest.listing_id).in_(listing_ids),
            col(Interest.created_at) >= datetime.combine(starts[0], time.min, tzinfo=UTC),
        )
    ).all()
    for created in rows:
        day = bangkok_date(created)
        week = day - timedelta(days=day.weekday())
        if week in found:
            found[week] += 1
    return found


def leads_by_status(session: Session, listing_ids: list[int]) -> dict[str, int]:
    """How many leads of these listings are in each status now."""
    counts = dict.fromkeys((status.value for status in LeadStatus), 0)
    if listing_ids:
        for status in session.exec(
            select(Interest.status).where(col(Interest.listing_id).in_(listing_ids))
        ):
            counts[status] = counts.get(status, 0) + 1
    return counts
