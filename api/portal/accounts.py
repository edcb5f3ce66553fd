"""People's pages: accepting an invitation, resetting a password, the organisation's
members and API keys, and the admin's organisations. Links made here are shown to whoever
made them, to pass on (they go by e-mail once the job runner sends mail)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, select

from api.deps import JobsDep, PasswordsDep, SessionDep, SettingsDep, writes
from api.errors import Rejected
from api.portal.rendering import (
    CSRF_FIELD,
    PortalPrincipal,
    check_csrf,
    csrf_token,
    render,
    render_error,
    require_sign_in,
)
from catalog import organisations
from catalog.accounts import mail as account_mail
from catalog.accounts import service as accounts
from catalog.accounts.schemas import InvitationCreate, OrganisationCreate, PasswordSet
from catalog.models import City, Organisation
from core.errors import AppError, Conflict, Forbidden, InvalidInput
from core.jobs import JobQueue
from core.principal import OrganisationKind, Principal

router = APIRouter()
Csrf = Annotated[str, Form(max_length=100, alias=CSRF_FIELD)]
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]  # a database id: larger is a 4xx, not a 500


def _errors_of(exc: ValidationError) -> dict[str, str]:
    """Each field's first error, as a message key (``messages`` has it in Thai and English)."""
    found: dict[str, str] = {}
    for error in exc.errors():
        name = str(error["loc"][0])
        found.setdefault(name, FORM_ERRORS.get(name, "required"))
    return found


# What a field's refusal says, by field; the services' own refusals by what they are.
FORM_ERRORS = {"email": "bad_email", "password": "password_rule", "kind": "required"}


def _message_key(exc: AppError) -> str:
    if isinstance(exc, Conflict) and exc.field == "email":
        return "email_taken"
    if isinstance(exc, InvalidInput) and exc.field == "city":
        return "unknown_city"
    return "not_allowed"


def _shown(
    request: Request, session: Session, link: accounts.IssuedLink, jobs: JobQueue | None
) -> dict[str, str]:
    """What the page says of a new link: sent by e-mail, or the link to pass on."""
    delivery = account_mail.deliver(session, link, jobs=jobs, base_url=str(request.base_url))
    return {
        "email": link.person.email,
        "url": delivery.url or "",
        "emailed": "yes" if delivery.emailed else "",
    }


# --- setting a password through a link ------------------------------------------------


def _password_page(
    request: Request,
    purpose: str,
    token: str,
    *,
    email: str,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "set_password.html",
        {
            "csrf": csrf_token(request),
            "purpose": purpose,
            "action": f"{account_mail.LINK_PATHS[purpose]}/{token}",
            "email": email,
            "values": values or {},
            "errors": errors or {},
        },
        status_code=status_code,
    )


def _link_form(request: Request, session: Session, token: str, purpose: str) -> HTMLResponse:
    try:
        person = accounts.check_link(session, token, purpose)
    except AppError as exc:
        return render_error(request, exc.status_code, exc.code)
    return _password_page(request, purpose, token, email=person.email)


def _use_link(
    request: Request,
    session: Session,
    passwords: accounts.Passwords,
    token: str,
    purpose: str,
    form: dict[str, str],
) -> Response:
    person = accounts.check_link(session, token, purpose)
    errors: dict[str, str] = {}
    if form["password"] != form["password_again"]:
        errors["password_again"] = "passwords_differ"
    try:
        data = PasswordSet(password=form["password"], name=form.get("name", ""))
    except ValidationError as exc:
        errors |= _errors_of(exc)
    if errors:
        page = _password_page(
            request,
            purpose,
            token,
            email=person.email,
            values={"name": form.get("name", "")},
            errors=errors,
            status_code=422,
        )
        raise Rejected(page)
    accounts.use_link(session, token=token, purpose=purpose, data=data, passwords=passwords)
    return RedirectResponse(f"/signin?notice={purpose}_done", status_code=303)


@router.get("/invitations/{token}", response_class=HTMLResponse)
def invitation_form(request: Request, session: SessionDep, token: str) -> HTMLResponse:
    return _link_form(request, session, token, accounts.INVITATION)


@router.post("/invitations/{token}", response_model=None)
@writes
def accept_invitation(
    request: Request,
    session: SessionDep,
    passwords: PasswordsDep,
    token: str,
    csrf: Csrf,
    password: Annotated[str, Form(max_length=200)] = "",
    password_again: Annotated[str, Form(max_length=200)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(request, csrf)
    form = {"password": password, "password_again": password_again, "name": name}
    return _use_link(request, session, passwords, token, accounts.INVITATION, form)


@router.get("/password-reset", response_class=HTMLResponse)
def reset_request_form(request: Request, principal: PortalPrincipal) -> HTMLResponse:
    return render(
        request,
        "reset_request.html",
        {"csrf": csrf_token(request), "sent": False},
        principal=principal,
    )


@router.post("/password-reset", response_class=HTMLResponse)
@writes
def request_reset(
    request: Request,
    session: SessionDep,
    jobs: JobsDep,
    settings: SettingsDep,
    csrf: Csrf,
    email: Annotated[str, Form(max_length=254)] = "",
) -> HTMLResponse:
    """The same answer whether or not the address has an account."""
    check_csrf(request, csrf)
    account_mail.mail_reset(
        session,
        email=email,
        jobs=jobs,
        base_url=str(request.base_url),
        settings=settings.accounts,
    )
    return render(request, "reset_request.html", {"csrf": csrf_token(request), "sent": True})


@router.get("/password-reset/{token}", response_class=HTMLResponse)
def reset_form(request: Request, session: SessionDep, token: str) -> HTMLResponse:
    return _link_form(request, session, token, accounts.RESET)


@router.post("/password-reset/{token}", response_model=None)
@writes
def reset_password(
    request: Request,
    session: SessionDep,
    passwords: PasswordsDep,
    token: str,
    csrf: Csrf,
    password: Annotated[str, Form(max_length=200)] = "",
    password_again: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(request, csrf)
    form = {"password": password, "password_again": password_again}
    return _use_link(request, session, passwords, token, accounts.RESET, form)


# --- the organisation: members and keys --------------------------------------------------


def _organisation_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    link: dict[str, str] | None = None,
    new_key: str | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    organisation = session.get(Organisation, principal.organisation_id)
    assert organisation is not None
    assert organisation.id is not None
    people = accounts.members(session, principal=principal, organisation=organisation)
    return render(
        request,
        "organisation.html",
        {
            "csrf": csrf_token(request),
            "organisation": organisation,
            "members": people,
            "keys": organisations.organisation_keys(session, organisation.id),
            "may_manage": accounts.may_manage_members(session, principal, organisation.id),
            "is_person": principal.person_id is not None,
            "link": link,
            "new_key": new_key,
            "values": values or {},
            "errors": errors or {},
        },
        status_code=status_code,
        principal=principal,
    )


@router.get("/organisation", response_class=HTMLResponse)
def organisation_page(
    request: Request, session: SessionDep, principal: PortalPrincipal
) -> HTMLResponse:
    return _organisation_page(request, session, require_sign_in(principal))


@router.post("/organisation/invitations", response_class=HTMLResponse)
@writes
def invite_member(
    request: Request,
    session: SessionDep,
    jobs: JobsDep,
    settings: SettingsDep,
    principal: PortalPrincipal,
    csrf: Csrf,
    email: Annotated[str, Form(max_length=254)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    owner: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    principal = require_sign_in(principal)
    check_csrf(request, csrf)
    organisation = session.get(Organisation, principal.organisation_id)
    assert organisation is not None
    values = {"email": email, "name": name}
    try:
        data = InvitationCreate(email=email.strip(), name=name, owner=owner)
        link = accounts.invite(
            session,
            principal=principal,
            organisation=organisation,
            data=data,
            settings=settings.accounts,
        )
    except ValidationError as exc:
        raise Rejected(
            _organisation_page(
                request, session, principal, values=values, errors=_errors_of(exc), status_code=422
            )
        ) from exc
    except AppError as exc:
        errors = {"email": _message_key(exc)}
        raise Rejected(
            _organisation_page(
                request,
                session,
                principal,
                values=values,
                errors=errors,
                status_code=exc.status_code,
            )
        ) from exc
    return _organisation_page(
        request, session, principal, link=_shown(request, session, link, jobs)
    )


@router.post("/organisation/members/{person_id}/reset-link", response_class=HTMLResponse)
@writes
def member_reset_link(
    request: Request,
    session: SessionDep,
    jobs: JobsDep,
    settings: SettingsDep,
    principal: PortalPrincipal,
    person_id: RowId,
    csrf: Csrf,
) -> HTMLResponse:
    principal = require_sign_in(principal)
    check_csrf(request, csrf)
    link = accounts.reset_link(
        session, principal=principal, person_id=person_id, settings=settings.accounts
    )
    return _organisation_page(
        request, session, principal, link=_shown(request, session, link, jobs)
    )


@router.post("/organisation/keys", response_class=HTMLResponse)
@writes
def create_key(
    request: Request,
    session: SessionDep,
    principal: PortalPrincipal,
    csrf: Csrf,
    label: Annotated[str, Form(max_length=200)] = "",
) -> HTMLResponse:
    principal = require_sign_in(principal)
    check_csrf(request, csrf)
    accounts.person_of(session, principal)
    _row, key = organisations.issue_key(
        session,
        organisation_slug=principal.organisation_slug,
        role=principal.role,
        label=label.strip(),
        created_by=principal.person_id,
    )
    return _organisation_page(request, session, principal, new_key=key)


@router.post("/organisation/keys/{key_id}/revoke", response_model=None)
@writes
def revoke_key(
    request: Request, session: SessionDep, principal: PortalPrincipal, key_id: RowId, csrf: Csrf
) -> Response:
    principal = require_sign_in(principal)
    check_csrf(request, csrf)
    organisations.revoke_key(session, principal=principal, key_id=key_id)
    return RedirectResponse("/organisation?notice=key_revoked", status_code=303)


# --- the admin's organisations -----------------------------------------------------------


def _admin(principal: Principal | None) -> Principal:
    principal = require_sign_in(principal)
    if not principal.is_admin:
        raise Forbidden("only an admin manages organisations", field="session")
    return principal


def _organisations_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    link: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context: dict[str, Any] = {
        "csrf": csrf_token(request),
        "organisations": session.exec(select(Organisation).order_by(Organisation.name_en)).all(),
        "cities": session.exec(select(City).order_by(City.name_en)).all(),
        "kinds": [kind.value for kind in OrganisationKind],
        "link": link,
        "values": values or {},
        "errors": errors or {},
    }
    return render(
        request, "admin_organisations.html", context, status_code=status_code, principal=principal
    )


@router.get("/admin/organisations", response_class=HTMLResponse)
def organisations_page(
    request: Request, session: SessionDep, principal: PortalPrincipal
) -> HTMLResponse:
    return _organisations_page(request, session, _admin(principal))


@router.post("/admin/organisations", response_class=HTMLResponse)
@writes
def create_organisation(
    request: Request,
    session: SessionDep,
    jobs: JobsDep,
    settings: SettingsDep,
    principal: PortalPrincipal,
    csrf: Csrf,
    name_th: Annotated[str, Form(max_length=200)] = "",
    name_en: Annotated[str, Form(max_length=200)] = "",
    kind: Annotated[str, Form(max_length=40)] = "",
    city: Annotated[str, Form(max_length=80)] = "",
    owner_email: Annotated[str, Form(max_length=254)] = "",
    owner_name: Annotated[str, Form(max_length=200)] = "",
) -> HTMLResponse:
    """An organisation and the invitation of its owner, in one step (one transaction)."""
    principal = _admin(principal)
    check_csrf(request, csrf)
    values = {
        "name_th": name_th,
        "name_en": name_en,
        "kind": kind,
        "city": city,
        "owner_email": owner_email,
        "owner_name": owner_name,
    }
    errors: dict[str, str] = {}
    try:
        data = OrganisationCreate(
            name_th=name_th.strip(), name_en=name_en.strip(), kind=kind, city=city or None
        )
    except ValidationError as exc:
        errors |= _errors_of(exc)
    try:
        invitation = InvitationCreate(email=owner_email.strip(), name=owner_name, owner=True)
    except ValidationError as exc:
        errors |= {f"owner_{name}": error for name, error in _errors_of(exc).items()}
    if not errors:
        try:
            organisation = accounts.create_organisation(session, principal=principal, data=data)
            link = accounts.invite(
                session,
                principal=principal,
                organisation=organisation,
                data=invitation,
                settings=settings.accounts,
            )
        except AppError as exc:
            field = "owner_email" if exc.field == "email" else exc.field or "name_en"
            errors[field] = _message_key(exc)
    if errors:
        raise Rejected(
            _organisations_page(
                request, session, principal, values=values, errors=errors, status_code=422
            )
        )
    return _organisations_page(
        request, session, principal, link=_shown(request, session, link, jobs)
    )


@router.post("/admin/organisations/{slug}/verification", response_model=None)
@writes
def verify_organisation(
    request: Request,
    session: SessionDep,
    principal: PortalPrincipal,
    csrf: Csrf,
    slug: Annotated[str, Path(max_length=80)],
    verified: Annotated[str, Form(max_length=8)] = "yes",
) -> RedirectResponse:
    """Vouch for an organisation that signed itself up, or withdraw it (admins)."""
    principal = _admin(principal)
    check_csrf(request, csrf)
    accounts.verify_organisation(
        session,
        principal=principal,
        organisation=accounts.organisation_by_slug(session, slug),
        verified=verified == "yes",
    )
    return RedirectResponse("/admin/organisations#unverified", status_code=303)


@router.get("/admin/jobs", response_class=HTMLResponse)
def jobs_page(
    request: Request, session: SessionDep, jobs: JobsDep, principal: PortalPrincipal
) -> HTMLResponse:
    """The latest background jobs, with their state, attempts and last error."""
    principal = _admin(principal)
    recent = jobs.recent(session) if jobs is not None else []
    states = {f"job_{state}" for state in ("queued", "running", "done", "failed")}
    return render(
        request, "admin_jobs.html", {"jobs": recent, "job_states": states}, principal=principal
    )
