"""Who may read and change the catalogue's resources: every rule here, once.

A resource someone may not read is reported as missing, not forbidden, so that its
existence does not leak.
"""

from __future__ import annotations

from catalog.taxonomy import ListingStatus
from core.errors import Forbidden
from core.principal import Principal, Role

MAX_ID = 2**31 - 1  # ids are 4-byte integers on PostgreSQL


def listing_ref(ref: str) -> int | str | None:
    """A listing reference as the database can look it up: an id (ASCII digits within the
    id column's range), else a slug; None for digits no id can have (so: not found)."""
    if ref.isascii() and ref.isdigit():
        number = int(ref)
        return number if number <= MAX_ID else None
    return ref


PUBLISHED = frozenset({ListingStatus.published.value})
EVER_PUBLISHED = frozenset({ListingStatus.published.value, ListingStatus.archived.value})


def may_read_listing(
    viewer: Principal | None,
    *,
    status: str,
    organisation_id: int,
    public_statuses: frozenset[str] = PUBLISHED,
) -> bool:
    """Listings in ``public_statuses`` are for everyone; the rest for their organisation."""
    return status in public_statuses or (viewer is not None and viewer.acts_for(organisation_id))


def may_edit_listing(principal: Principal, *, organisation_id: int) -> bool:
    """Publishers change their own organisation's listings; admins change any."""
    return principal.is_admin or (
        principal.role is Role.publisher and principal.acts_for(organisation_id)
    )


def ensure_can_edit_listing(principal: Principal, *, organisation_id: int) -> None:
    if not may_edit_listing(principal, organisation_id=organisation_id):
        raise Forbidden("this listing belongs to another organisation", field="listing")


def ensure_publisher(principal: Principal) -> None:
    """Publisher work: a publisher key, or an admin's."""
    if not principal.has_role(Role.publisher):
        raise Forbidden("this needs a publisher key", field="authorization")


def ensure_may_set_fx_rates(principal: Principal) -> None:
    """Exchange rates for indicative amounts are set by admins only."""
    if not principal.is_admin:
        raise Forbidden("only an admin sets exchange rates", field="authorization")
