"""Who may read and change investor profiles and pitch days: every rule here, once.

A profile someone may not read is reported as missing, not forbidden: ids are
sequential, and a 403 would confirm that a hidden profile exists.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from core.errors import Forbidden, NotFound
from core.principal import Principal, Role
from matching.models import InvestorProfile
from matching.pitchday.models import EventInvestor, PitchEvent

PROFILE_KEEPERS = (Role.investor, Role.organiser)  # and admins
ORGANISERS = (Role.organiser,)  # and admins


def _attends_events_of(session: Session, profile_id: int, organisation_id: int) -> bool:
    """Whether the profile attends one of the organisation's pitch days."""
    return (
        session.exec(
            select(EventInvestor.event_id)
            .join(PitchEvent, col(PitchEvent.id) == EventInvestor.event_id)
            .where(
                EventInvestor.investor_profile_id == profile_id,
                PitchEvent.organisation_id == organisation_id,
            )
            .limit(1)
        ).first()
        is not None
    )


def may_read_profile(session: Session, profile: InvestorProfile, viewer: Principal | None) -> bool:
    """Discoverable profiles are for everyone; a hidden one for its organisation, admins,
    and an organiser while the profile attends one of that organiser's events."""
    if profile.discoverable:
        return True
    if viewer is None:
        return False
    if viewer.acts_for(profile.organisation_id):
        return True
    return viewer.role is Role.organiser and _attends_events_of(
        session, profile.id or 0, viewer.organisation_id
    )


def ensure_may_read_profile(
    session: Session, profile: InvestorProfile | None, viewer: Principal | None, profile_id: int
) -> InvestorProfile:
    if profile is None or not may_read_profile(session, profile, viewer):
        raise NotFound(f"no investor profile {profile_id}", field="investor")
    return profile


def ensure_may_keep_profiles(principal: Principal) -> None:
    """Investors keep their own profiles; organisers keep some for their events."""
    if not principal.has_role(*PROFILE_KEEPERS):
        raise Forbidden("an investor, organiser or admin key is needed", field="authorization")


def ensure_may_edit_profile(principal: Principal, profile: InvestorProfile) -> None:
    if not principal.acts_for(profile.organisation_id):
        raise Forbidden("this profile belongs to another organisation", field="investor")


def may_invite_profile(principal: Principal, profile: InvestorProfile) -> bool:
    """An organiser invites discoverable profiles and its own."""
    return profile.discoverable or principal.acts_for(profile.organisation_id)


def may_name_at_event(
    event: PitchEvent, profile: InvestorProfile, viewer: Principal | None
) -> bool:
    """Discoverable investors are named to all; others to the organiser and themselves."""
    return profile.discoverable or (
        viewer is not None
        and (viewer.acts_for(event.organisation_id) or viewer.acts_for(profile.organisation_id))
    )


def may_organise(event: PitchEvent, principal: Principal | None) -> bool:
    """Whether ``principal`` runs this event: its organiser, or an admin."""
    return principal is not None and (
        principal.is_admin
        or (principal.role is Role.organiser and principal.acts_for(event.organisation_id))
    )


def ensure_organiser(principal: Principal) -> None:
    if not principal.has_role(*ORGANISERS):
        raise Forbidden("this needs an organiser key", field="authorization")


def ensure_may_organise(event: PitchEvent, principal: Principal) -> None:
    ensure_organiser(principal)
    if not may_organise(event, principal):
        raise Forbidden("this event belongs to another organiser", field="event")


def ensure_may_see_investors_of(principal: Principal, listing_organisation_id: int) -> None:
    """A listing's fitting investors are for its publisher (and admins)."""
    if not principal.acts_for(listing_organisation_id):
        raise Forbidden("only the listing's publisher sees its investors", field="listing")


def ensure_investor(principal: Principal) -> None:
    if principal.role is not Role.investor:
        raise Forbidden("an investor key is needed to express interest", field="authorization")
