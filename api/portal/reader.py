"""What any page may ask about its reader while it renders: the currency they chose for
indicative amounts (``?cur=``, then the cookie the selector set) and the listings on
their shortlist.

Both are read on first use only, in a short read-only unit of work of their own
(``render`` has no session): a reader who chose no currency, or is not signed in,
costs nothing. A page renders where its work runs (``page``), so on PostgreSQL the read
happens in a worker thread, never on the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TypeVar

from babel.numbers import get_currency_name
from fastapi import Request, Response
from markupsafe import Markup
from sqlmodel import Session

from api import i18n
from api.deps import services_of
from api.i18n import Lang
from catalog import money
from catalog.money import Currency, FxRatePublic
from core.formatting import currency_name, exchange_rate, foreign_amount, foreign_range
from core.principal import Principal
from matching import shortlist

T = TypeVar("T")
CURRENCY_COOKIE = "cur"
CURRENCY_PARAMETER = "cur"
NO_CURRENCY = "THB"  # what the selector sends for "baht only"


def choose_currency(request: Request) -> Currency | None:
    """``?cur=`` first (``THB`` or anything unknown: baht only), then the cookie."""
    chosen = request.query_params.get(CURRENCY_PARAMETER)
    candidate = chosen if chosen is not None else request.cookies.get(CURRENCY_COOKIE, "")
    candidate = candidate.strip().upper()
    return Currency(candidate) if candidate in Currency.__members__ else None


def remember_currency(request: Request, response: Response) -> None:
    """Keep the choice a ``?cur=`` made, like the language switch keeps ``?lang=``."""
    if CURRENCY_PARAMETER not in request.query_params:
        return
    currency = choose_currency(request)
    stored = request.cookies.get(CURRENCY_COOKIE)
    if currency is None and stored is not None:
        response.delete_cookie(CURRENCY_COOKIE, samesite="lax")
    elif currency is not None and stored != currency.value:
        response.set_cookie(CURRENCY_COOKIE, currency.value, max_age=365 * 86400, samesite="lax")


class Reader:
    """One page's reader: their currency and shortlist, each read once, when first asked."""

    def __init__(self, request: Request, lang: Lang, principal: Principal | None) -> None:
        self._request = request
        self.lang = lang
        self.principal = principal
        self.currency = choose_currency(request)
        self.currencies = list(Currency)

    def _read(self, work: Callable[[Session], T]) -> T:
        with services_of(self._request).database.reading() as session:
            return work(session)

    @cached_property
    def rate(self) -> FxRatePublic | None:
        """The current rate of the chosen currency (None: none chosen, or none set)."""
        currency = self.currency
        if currency is None:
            return None

        def read(session: Session) -> FxRatePublic | None:
            found = money.current_rate(session, currency=currency)
            return money.rate_public(found) if found is not None else None

        return self._read(read)

    @property
    def no_rate(self) -> bool:
        """A currency is chosen but the admin has set no rate for it yet."""
        return self.currency is not None and self.rate is None

    def currency_label(self, code: str) -> str:
        """``US Dollar (USD)`` in English; ``ดอลลาร์สหรัฐ`` in Thai, whose names need no code
        (and a Thai page shows no Latin words)."""
        if self.lang is Lang.th:
            return get_currency_name(code, locale="th_TH")
        return f"{get_currency_name(code, locale='en')} ({code})"

    def indicative(self, low: float, high: float | None = None) -> Markup:
        """``≈ US$1.2M (indicative, at 35.50 THB per USD on 1 December 2026)`` beside a
        baht amount (or range), in the reader's language; nothing without a chosen
        currency and its rate."""
        rate = self.rate
        if rate is None or rate.thb_per_unit <= 0:
            return Markup("")
        code, lang = rate.currency, self.lang
        amount = (
            foreign_amount(low / rate.thb_per_unit, code, lang)
            if high is None
            else foreign_range(low / rate.thb_per_unit, high / rate.thb_per_unit, code, lang)
        )
        words = i18n.say(
            "fx_indicative",
            lang,
            amount=amount,
            rate=exchange_rate(rate.thb_per_unit, lang),
            currency=currency_name(code, lang),
            date=i18n.long_date(rate.as_of, lang),
        )
        return Markup(' <span class="fx" data-testid="indicative">{}</span>').format(words)

    @cached_property
    def _shortlisted(self) -> frozenset[int]:
        principal = self.principal
        if principal is None or principal.person_id is None:
            return frozenset()
        return frozenset(
            self._read(lambda session: shortlist.shortlisted_ids(session, principal=principal))
        )

    def shortlisted(self, listing_id: int) -> bool:
        """Whether the listing is on the signed-in person's shortlist."""
        return listing_id in self._shortlisted

    @property
    def keeps_shortlist(self) -> bool:
        """Whether the reader is a person signed in (an API key keeps no shortlist)."""
        return self.principal is not None and self.principal.person_id is not None
