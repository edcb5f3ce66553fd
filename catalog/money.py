"""Indicative amounts for foreign readers: the exchange rates an admin sets and dates.

Baht is the only money of the catalogue; a rate (THB for one US dollar, euro, yen or
yuan on a date) lets a page add an indicative amount beside it. Rates are appended, never
changed: the latest set for a currency is the current one, and the rest is its history.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, ValidationInfo, field_validator
from sqlalchemy import func
from sqlmodel import Session, col, select

from catalog.access import ensure_may_set_fx_rates
from catalog.accounts.models import Person
from catalog.models import FxRate
from core.db import utcnow
from core.formatting import bangkok_date
from core.principal import Principal
from core.schemas import StrictDate, StrictModel


class Currency(StrEnum):
    """The currencies a reader may see indicative amounts in."""

    USD = "USD"
    EUR = "EUR"
    JPY = "JPY"
    CNY = "CNY"


# THB for one unit that a rate may be: wide bands around every rate of the last thirty
# years, so that a slip (the rate typed the wrong way round, a digit too many, yen per
# baht) is refused rather than shown to every reader.
PLAUSIBLE_THB_PER_UNIT: dict[Currency, tuple[float, float]] = {
    Currency.USD: (15.0, 80.0),
    Currency.EUR: (15.0, 90.0),
    Currency.JPY: (0.1, 1.0),
    Currency.CNY: (1.5, 15.0),
}


class FxRateCreate(StrictModel):
    currency: Currency
    thb_per_unit: Annotated[float, Field(gt=0, allow_inf_nan=False)] = Field(
        description="Baht for one unit of the currency, e.g. 35.5 for a US dollar."
    )
    as_of: StrictDate = Field(description="The day the rate was taken; not in the future.")

    @field_validator("thb_per_unit")
    @classmethod
    def _plausible(cls, value: float, info: ValidationInfo) -> float:
        currency = info.data.get("currency")
        if currency is None:
            return value  # the currency's own error is reported
        low, high = PLAUSIBLE_THB_PER_UNIT[currency]
        if not low <= value <= high:
            raise ValueError(
                f"a rate for {currency.value} is between {low:g} and {high:g} THB per unit"
            )
        return value

    @field_validator("as_of")
    @classmethod
    def _not_in_the_future(cls, value: date) -> date:
        if value > bangkok_date(utcnow()):
            raise ValueError("the date of a rate cannot be in the future (Bangkok time)")
        return value


class FxRatePublic(BaseModel):
    currency: Currency
    thb_per_unit: float = Field(description="Baht for one unit of the currency.")
    as_of: date = Field(description="The day the rate was taken.")
    created_at: datetime = Field(description="When the admin set it.")


class FxRatesPublic(BaseModel):
    """The current rate of each currency that has one (indicative only: THB is the money
    of every listing)."""

    data: list[FxRatePublic]
    count: int


class FxRateHistory(BaseModel):
    """A rate as the admin's history shows it: who set it too."""

    id: int
    currency: Currency
    thb_per_unit: float
    as_of: date
    created_at: datetime
    set_by: str | None = Field(description="The admin's e-mail; None when set with a key.")


def set_rate(session: Session, *, principal: Principal, data: FxRateCreate) -> FxRate:
    """Append a rate (admins only); from now on it is the currency's current one."""
    ensure_may_set_fx_rates(principal)
    rate = FxRate(
        currency=data.currency.value,
        thb_per_unit=data.thb_per_unit,
        as_of=data.as_of,
        set_by=principal.person_id,
    )
    session.add(rate)
    session.flush()
    return rate


_LATEST_IDS = select(func.max(FxRate.id)).group_by(col(FxRate.currency))


def current_rates(session: Session) -> dict[Currency, FxRate]:
    """The latest rate set for each currency that has one, in the order of ``Currency``."""
    rows = session.exec(select(FxRate).where(col(FxRate.id).in_(_LATEST_IDS.scalar_subquery())))
    found = {row.currency: row for row in rows if row.currency in Currency.__members__}
    return {currency: found[currency.value] for currency in Currency if currency.value in found}


def current_rate(session: Session, *, currency: Currency) -> FxRate | None:
    """The latest rate set for ``currency``, if any."""
    return session.exec(
        select(FxRate).where(FxRate.currency == currency.value).order_by(col(FxRate.id).desc())
    ).first()


def rate_public(rate: FxRate) -> FxRatePublic:
    return FxRatePublic.model_validate(rate, from_attributes=True)


def rate_history(
    session: Session, *, principal: Principal, limit: int = 100
) -> list[FxRateHistory]:
    """The rates set, newest first, with who set them (admins only)."""
    ensure_may_set_fx_rates(principal)
    rows = session.exec(
        select(FxRate, Person.email)
        .outerjoin(Person, col(Person.id) == FxRate.set_by)
        .order_by(col(FxRate.id).desc())
        .limit(limit)
    ).all()
    return [
        FxRateHistory(
            id=rate.id or 0,
            currency=Currency(rate.currency),
            thb_per_unit=rate.thb_per_unit,
            as_of=rate.as_of,
            created_at=rate.created_at,
            set_by=email,
        )
        for rate, email in rows
    ]
