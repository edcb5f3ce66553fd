"""Signing in with an organisation's API key, and out again. The session cookie is signed
and holds only the key's id, so any app process can serve any request."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import SessionDep
from api.portal.rendering import (
    CSRF_FIELD,
    SESSION_KEY,
    PortalPrincipal,
    check_csrf,
    csrf_token,
    render,
)
from catalog.organisations import resolve_key
from core.errors import Unauthorized
from core.principal import Role

router = APIRouter()
# Where a signed-in key lands: publishers manage listings, organisers their pitch days,
# investors browse the catalogue (pitch pages then show their fit).
HOME_BY_ROLE = {
    Role.publisher: "/dashboard",
    Role.admin: "/dashboard",
    Role.organiser: "/events",
    Role.investor: "/",
}


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request, principal: PortalPrincipal) -> HTMLResponse:
    return render(
        request, "signin.html", {"csrf": csrf_token(request), "error": None}, principal=principal
    )


@router.post("/signin", response_class=HTMLResponse, response_model=None)
def signin(
    request: Request,
    session: SessionDep,
    api_key: Annotated[str, Form(max_length=200)],
    csrf_token_sent: Annotated[str, Form(max_length=100, alias=CSRF_FIELD)],
) -> Response:
    check_csrf(request, csrf_token_sent)
    try:
        principal = resolve_key(session, api_key.strip())
    except Unauthorized as exc:
        return render(
            request,
            "signin.html",
            {"csrf": csrf_token(request), "error": exc.message},
            status_code=401,
        )
    request.session[SESSION_KEY] = principal.api_key_id
    request.session[CSRF_FIELD] = secrets.token_urlsafe(32)  # a new session, a new token
    return RedirectResponse(HOME_BY_ROLE[principal.role], status_code=303)


@router.post("/signout", response_model=None)
def signout(
    request: Request, csrf_token_sent: Annotated[str, Form(max_length=100, alias=CSRF_FIELD)]
) -> Response:
    check_csrf(request, csrf_token_sent)
    request.session.clear()
    return RedirectResponse("/", status_code=303)
