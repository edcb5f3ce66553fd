"""HTTP routes of the exchange rates behind indicative amounts in foreign money."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api.deps import PrincipalDep, SessionDep, writes
from api.errors import error_responses
from catalog import money
from catalog.money import FxRateCreate, FxRatePublic, FxRatesPublic

router = APIRouter(prefix="/v1", tags=["fx-rates"])


@router.get("/fx-rates")
def list_fx_rates(session: SessionDep) -> FxRatesPublic:
    """The current rate of each currency that has one: THB for one unit, and the day it
    was taken. Amounts in these currencies are indicative; every listing is in THB."""
    rates = [money.rate_public(rate) for rate in money.current_rates(session).values()]
    return FxRatesPublic(data=rates, count=len(rates))


@router.post(
    "/fx-rates",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 403, 422),
)
@writes
def set_fx_rate(
    data: FxRateCreate, session: SessionDep, principal: PrincipalDep, response: Response
) -> FxRatePublic:
    """Set a currency's rate (admins): it becomes the current one; earlier ones are kept
    as history. A rate far from any of recent decades, or a date in the future, is 422."""
    rate = money.set_rate(session, principal=principal, data=data)
    response.headers["Location"] = "/v1/fx-rates"
    return money.rate_public(rate)
