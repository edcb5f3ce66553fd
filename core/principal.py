"""Who is making a request: an organisation acting in one role."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    publisher = "publisher"
    investor = "investor"
    organiser = "organiser"
    admin = "admin"


class OrganisationKind(StrEnum):
    city_company = "city-company"
    municipality = "municipality"
    investor = "investor"
    organiser = "organiser"
    platform = "platform"


# The one role the people and keys of each kind of organisation act in.
ROLE_OF_KIND = {
    OrganisationKind.city_company: Role.publisher,
    OrganisationKind.municipality: Role.publisher,
    OrganisationKind.investor: Role.investor,
    OrganisationKind.organiser: Role.organiser,
    OrganisationKind.platform: Role.admin,
}


@dataclass(frozen=True)
class Principal:
    """An organisation acting in one role: through a person's session or an API key."""

    organisation_id: int
    organisation_slug: str
    role: Role
    api_key_id: int | None = None
    person_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.admin

    def acts_for(self, organisation_id: int | None) -> bool:
        """Whether this principal may act for the organisation: its own, or any as admin."""
        return self.is_admin or (
            organisation_id is not None and self.organisation_id == organisation_id
        )

    def has_role(self, *roles: Role) -> bool:
        """Whether the principal acts in one of ``roles``; an admin acts in every role."""
        return self.is_admin or self.role in roles
