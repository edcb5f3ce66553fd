"""The admin's exchange rates: set a currency's rate for indicative amounts, and see
every rate set before."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from api import i18n
from api.deps import SessionDep, writes
from api.errors import Rejected
from api.portal.rendering import CSRF_FIELD, PortalPrincipal, check_csrf, csrf_token, render
from catalog import money
from catalog.access import ensure_may_set_fx_rates
from catalog.money import Currency, FxRateCreate
from core.db import utcnow
from core.errors import Unauthorized
from core.formatting import bangkok_date, exchange_rate
from core.principal import Principal

router = APIRouter()
Csrf = Annotated[str, Form(max_length=100, alias=CSRF_FIELD)]

# What each field's refusal says, by pydantic's error type (else the field's own key).
_ERRORS = {
    "currency": {"enum": "choose_from_list", "missing": "choose_from_list"},
    "thb_per_unit": {
        "float_parsing": "not_a_number",
        "finite_number": "not_a_number",
        "float_type": "not_a_number",
        "greater_than": "too_small",
        "value_error": "fx_rate_implausible",
    },
    "as_of": {"value_error": "fx_date_future", "date_from_datetime_parsing": "bad_date"},
}


def _admin(principal: Principal | None) -> Principal:
    if principal is None:
        raise Unauthorized("sign in first", field="session")
    ensure_may_set_fx_rates(principal)
    return principal


def _errors_of(exc: ValidationError) -> dict[str, str]:
    """Each field's first refusal, as a message key shown beside it."""
    found: dict[str, str] = {}
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "thb_per_unit"
        default = "required" if error["type"] == "missing" else "bad_value"
        found.setdefault(name, _ERRORS.get(name, {}).get(error["type"], default))
    return found


def _rates_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    lang = i18n.choose_language(request)
    context: dict[str, Any] = {
        "csrf": csrf_token(request),
        "current": money.current_rates(session),
        "history": money.rate_history(session, principal=principal),
        "currencies": list(Currency),
        "plausible": money.PLAUSIBLE_THB_PER_UNIT,
        "today": bangkok_date(utcnow()),
        "values": values or {},
        "errors": errors or {},
        "notice": request.query_params.get("notice"),
        "rate_text": lambda value: exchange_rate(value, lang),
    }
    return render(
        request, "admin_fx_rates.html", context, status_code=status_code, principal=principal
    )


@router.get("/admin/fx-rates", response_class=HTMLResponse)
def fx_rates_page(
    request: Request, session: SessionDep, principal: PortalPrincipal
) -> HTMLResponse:
    """The current rates, the form to set one, and the history."""
    return _rates_page(request, session, _admin(principal))


@router.post("/admin/fx-rates", response_model=None)
@writes
def set_fx_rate(
    request: Request,
    session: SessionDep,
    principal: PortalPrincipal,
    csrf: Csrf,
    currency: Annotated[str, Form(max_length=10)] = "",
    thb_per_unit: Annotated[str, Form(max_length=40)] = "",
    as_of: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Set a rate; a refused one comes back with what was typed and the reason beside
    each field."""
    principal = _admin(principal)
    check_csrf(request, csrf)
    values = {"currency": currency, "thb_per_unit": thb_per_unit.strip(), "as_of": as_of.strip()}
    try:
        typed = values | {"thb_per_unit": values["thb_per_unit"].replace(",", "")}
        data = FxRateCreate.model_validate({name: value for name, value in typed.items() if value})
    except ValidationError as exc:
        raise Rejected(
            _rates_page(
                request,
                session,
                principal,
                values=values,
                errors=_errors_of(exc),
                status_code=422,
            )
        ) from exc
    money.set_rate(session, principal=principal, data=data)
    return RedirectResponse("/admin/fx-rates?notice=fx_rate_set", status_code=303)
