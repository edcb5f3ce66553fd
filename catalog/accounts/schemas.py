"""What the accounts API takes and returns."""

from __future__ import annotations

from datetime import datetime

from pydantic import EmailStr, Field

from core.principal import OrganisationKind, Role
from core.schemas import StrictModel

MIN_PASSWORD_CHARS = 10


class OrganisationCreate(StrictModel):
    name_th: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    kind: OrganisationKind
    city: str | None = Field(default=None, max_length=80, description="City slug, publishers")


class OrganisationPublic(StrictModel):
    slug: str
    name_th: str
    name_en: str
    kind: OrganisationKind
    verified_at: datetime | None = Field(
        description="When an admin verified it; an investor's profiles are shown to "
        "publishers only once it is verified"
    )


class InvitationCreate(StrictModel):
    email: EmailStr
    name: str = Field(default="", max_length=200)
    owner: bool = Field(default=False, description="May invite colleagues and manage keys")


class PasswordSet(StrictModel):
    password: str = Field(min_length=MIN_PASSWORD_CHARS, max_length=200)
    name: str = Field(default="", max_length=200)


class SignInRequest(StrictModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=200)


class ResetRequest(StrictModel):
    email: str = Field(min_length=3, max_length=254)


class PersonPublic(StrictModel):
    id: int
    email: str
    name: str
    organisation: str
    role: Role
    is_owner: bool
    has_password: bool
    created_at: datetime


class LinkPublic(StrictModel):
    """A single-use link: shown to whoever made it, to pass on, when no e-mail goes out."""

    person: PersonPublic
    url: str | None = Field(description="The link itself; null when it went by e-mail")
    emailed: bool
    expires_at: datetime


class SessionPublic(StrictModel):
    token: str = Field(description="Send as `Authorization: Bearer …`; shown once")
    expires_at: datetime
    person: PersonPublic


class MePublic(StrictModel):
    organisation: str
    role: Role
    person: PersonPublic | None = Field(description="Null when an API key is speaking")
    api_key_id: int | None = None


class ApiKeyCreate(StrictModel):
    label: str = Field(default="", max_length=200, description="What the key is for")


class ApiKeyPublic(StrictModel):
    id: int
    label: str
    role: Role
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyIssued(ApiKeyPublic):
    key: str = Field(description="The key itself: shown this once, stored only as a digest")
