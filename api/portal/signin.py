"""Signing in (a person with e-mail and password; an integration with an API key) and out
again. The cookie holds a session token or a key id, signed; the session row in the
database is the truth, so any process can serve any request and signing out ends every
session of the person at once."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import LimiterDep, PasswordsDep, SessionDep, SettingsDep, writes
from api.portal.rendering import (
    CSRF_FIELD,
    HOME_BY_ROLE,
    PERSON_SESSION,
    SESSION_KEY,
    PortalPrincipal,
    check_csrf,
    csrf_token,
    render,
)
from api.routes.accounts import client_address
from catalog.accounts import service as accounts
from catalog.organisations import resolve_key
from core.errors import TooManyRequests, Unauthorized
from core.principal import Principal, Role

router = APIRouter()
NOTICES = frozenset({"invitation_done", "reset_done"})  # what a link back here may announce
# Where a signed-in person lands: publishers manage listings, organisers their pitch days,
# investors browse the catalogue (pitch pages then show their fit).


def _form(
    request: Request,
    *,
    email: str = "",
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    principal: Principal | None = None,
    minutes: int = 0,
) -> HTMLResponse:
    return render(
        request,
        "signin.html",
        {
            "csrf": csrf_token(request),
            "email": email,
            "errors": errors or {},
            "minutes": minutes,
            "notice": notice if (notice := request.query_params.get("notice")) in NOTICES else None,
        },
        status_code=status_code,
        principal=principal,
    )


def start_session(request: Request, *, token: str | None = None, key_id: int | None = None) -> None:
    request.session.clear()
    if token is not None:
        request.session[PERSON_SESSION] = token
    if key_id is not None:
        request.session[SESSION_KEY] = key_id
    request.session[CSRF_FIELD] = secrets.token_urlsafe(32)  # a new session, a new token


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request, principal: PortalPrincipal) -> HTMLResponse:
    return _form(request, principal=principal)


@router.post("/signin", response_class=HTMLResponse, response_model=None)
@writes
def signin(
    request: Request,
    session: SessionDep,
    passwords: PasswordsDep,
    settings: SettingsDep,
    limiter: LimiterDep,
    csrf_token_sent: Annotated[str, Form(max_length=100, alias=CSRF_FIELD)],
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    api_key: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(request, csrf_token_sent)
    if api_key.strip():
        return _signin_with_key(request, session, api_key.strip())
    if not email.strip() or not password:
        typed = {"email": email, "password": password}
        missing = {name: "required" for name, value in typed.items() if not value.strip()}
        return _form(request, email=email, errors=missing, status_code=422)
    try:
        limiter.hit_sign_in(address=client_address(request), email=email)
        signed_in = accounts.sign_in(
            session,
            email=email,
            password=password,
            address=client_address(request),
            passwords=passwords,
            settings=settings.accounts,
        )
    except TooManyRequests as exc:
        response = _form(
            request,
            email=email,
            errors={"email": "too_many_sign_ins"},
            status_code=429,
            minutes=exc.retry_after // 60 + 1,
        )
        response.headers.update(exc.headers)
        return response
    if signed_in is None:
        # Returned, not raised: the failed attempt is committed, and counts.
        errors = {"password": "wrong_email_or_password"}
        return _form(request, email=email, errors=errors, status_code=401)
    start_session(request, token=signed_in.token)
    return RedirectResponse(HOME_BY_ROLE[Role(signed_in.person.role)], status_code=303)


def _signin_with_key(request: Request, session: SessionDep, key: str) -> Response:
    try:
        principal = resolve_key(session, key)
    except Unauthorized:
        return _form(request, errors={"api_key": "unknown_key"}, status_code=401)
    start_session(request, key_id=principal.api_key_id)
    return RedirectResponse(HOME_BY_ROLE[principal.role], status_code=303)


@router.post("/signout", response_model=None)
@writes
def signout(
    request: Request,
    session: SessionDep,
    principal: PortalPrincipal,
    csrf_token_sent: Annotated[str, Form(max_length=100, alias=CSRF_FIELD)],
) -> Response:
    """Sign out everywhere: every session of the person ends, on every device."""
    check_csrf(request, csrf_token_sent)
    if principal is not None and principal.person_id is not None:
        accounts.end_sessions(session, principal.person_id)
    request.session.clear()
    return RedirectResponse("/", status_code=303)
