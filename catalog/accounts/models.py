"""Tables of people's accounts. Sessions, invitations and reset links are rows, so any
process on any host can serve any request, and revoking works at once everywhere."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer
from sqlmodel import Field, SQLModel

from core.audit import owner_column, track
from core.db import UTCDateTime, utcnow


class Person(SQLModel, table=True):
    """A member of one organisation, acting in one role; its owner may invite others."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)  # stored lower-cased
    name: str = Field(default="", max_length=200)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    role: str = Field(max_length=32)
    is_owner: bool = False
    password_hash: str | None = Field(default=None, max_length=200)  # None until set
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # None while a self-registered person has not followed the link mailed to them.
    email_verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PersonSession(SQLModel, table=True):
    """A signed-in browser or client; its token is kept as a digest only."""

    __tablename__ = "person_session"

    id: int | None = Field(default=None, primary_key=True)
    digest: str = Field(max_length=64, unique=True)
    person_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("person.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    address: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AccountLink(SQLModel, table=True):
    """A single-use link that expires: an invitation to set a first password, or a
    password reset. Kept as a digest; the link itself is shown or mailed once."""

    __tablename__ = "account_link"

    id: int | None = Field(default=None, primary_key=True)
    purpose: str = Field(max_length=16)  # invitation | reset
    digest: str = Field(max_length=64, unique=True)
    person_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("person.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    created_by: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SignInAttempt(SQLModel, table=True):
    """One sign-in attempt, for throttling by account and by address across processes."""

    __tablename__ = "sign_in_attempt"
    __table_args__ = (
        Index("ix_sign_in_attempt_email_at", "email", "at"),
        Index("ix_sign_in_attempt_address_at", "address", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254)
    address: str = Field(max_length=64)
    succeeded: bool
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# Membership of an organisation is audited (core.audit); the password only as "changed".
track(Person, "membership", owner=owner_column(), redact=["password_hash"])
