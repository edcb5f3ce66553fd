"""Exchange rates for indicative amounts: admins set them, the latest of a currency is
the current one, and nonsense (a rate typed the wrong way round, a date to come) is
refused naming the field; foreign amounts are written by Babel in each language."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import ValidationError
from sqlmodel import Session

from catalog import money
from catalog.money import Currency, FxRateCreate
from core.db import utcnow
from core.errors import Forbidden
from core.formatting import Lang, bangkok_date, foreign_amount, foreign_range
from core.principal import Principal, Role
from tests.factories import World, publisher_of

ADMIN = Principal(organisation_id=4, organisation_slug="citydeal-ops", role=Role.admin)


def rate(currency: str, thb: float, on: date = date(2026, 11, 30)) -> FxRateCreate:
    return FxRateCreate(currency=Currency(currency), thb_per_unit=thb, as_of=on)


def test_the_latest_rate_of_each_currency_is_current(session: Session, world: World) -> None:
    assert money.current_rates(session) == {}
    money.set_rate(session, principal=ADMIN, data=rate("USD", 36.1, date(2026, 11, 30)))
    money.set_rate(session, principal=ADMIN, data=rate("JPY", 0.241))
    # Set later, though dated earlier: the admin's last word is the current rate.
    money.set_rate(session, principal=ADMIN, data=rate("USD", 35.5, date(2026, 11, 1)))
    current = money.current_rates(session)
    assert list(current) == [Currency.USD, Currency.JPY]
    assert current[Currency.USD].thb_per_unit == 35.5
    assert current[Currency.USD].as_of == date(2026, 11, 1)
    assert money.current_rate(session, currency=Currency.USD) == current[Currency.USD]
    assert money.current_rate(session, currency=Currency.EUR) is None
    history = money.rate_history(session, principal=ADMIN)
    assert [(h.currency, h.thb_per_unit) for h in history] == [
        (Currency.USD, 35.5),
        (Currency.JPY, 0.241),
        (Currency.USD, 36.1),
    ]


def test_only_an_admin_sets_or_reads_the_history(session: Session, world: World) -> None:
    publisher = publisher_of(session)
    with pytest.raises(Forbidden):
        money.set_rate(session, principal=publisher, data=rate("USD", 35.5))
    with pytest.raises(Forbidden):
        money.rate_history(session, principal=publisher)
    investor = Principal(3, "siam-infra-fund", Role.investor, person_id=None)
    with pytest.raises(Forbidden):
        money.set_rate(session, principal=investor, data=rate("EUR", 38.0))


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"currency": "USD", "thb_per_unit": 0.028}, "thb_per_unit"),  # USD per THB
        ({"currency": "USD", "thb_per_unit": 3550}, "thb_per_unit"),  # the point forgotten
        ({"currency": "JPY", "thb_per_unit": 24.1}, "thb_per_unit"),  # per 100 yen
        ({"currency": "EUR", "thb_per_unit": 0}, "thb_per_unit"),
        ({"currency": "EUR", "thb_per_unit": -38}, "thb_per_unit"),
        ({"currency": "EUR", "thb_per_unit": float("nan")}, "thb_per_unit"),
        ({"currency": "EUR", "thb_per_unit": float("inf")}, "thb_per_unit"),
        ({"currency": "GBP", "thb_per_unit": 44.0}, "currency"),
        ({"currency": "THB", "thb_per_unit": 1.0}, "currency"),
    ],
)
def test_a_rate_far_from_any_real_one_is_refused(fields: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        FxRateCreate.model_validate(fields | {"as_of": "2026-11-30"})
    assert [error["loc"][0] for error in refused.value.errors()] == [field]


def test_a_rate_cannot_be_dated_in_the_future() -> None:
    today = bangkok_date(utcnow())
    assert rate("CNY", 4.9, today).as_of == today
    with pytest.raises(ValidationError) as refused:
        rate("CNY", 4.9, today + timedelta(days=1))
    assert refused.value.errors()[0]["loc"] == ("as_of",)


def test_foreign_amounts_are_written_in_each_language() -> None:
    assert foreign_amount(1_234_567, "USD", Lang.en) == "US$1.2M"
    assert foreign_amount(1_234_567, "USD", Lang.th) == "1.2 ล้านดอลลาร์สหรัฐ"
    assert foreign_amount(950, "EUR", Lang.th) == "950 ยูโร"
    assert foreign_amount(180_000_000, "JPY", Lang.en) == "JP¥180M"
    assert foreign_range(140_845, 338_028, "USD", Lang.en) == "US$140.8K–US$338K"
    assert foreign_range(140_845, 338_028, "USD", Lang.th) == "1.4 แสน – 3.4 แสนดอลลาร์สหรัฐ"
    assert foreign_range(1_000_000, 1_010_000, "CNY", Lang.en) == "CN¥1M"  # the same, rounded
