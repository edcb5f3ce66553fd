"""The publisher's pages: the dashboard, editing a listing (a stale save is never
applied: the editor sees what changed meanwhile and chooses per field), publishing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api import i18n
from api.deps import LimiterDep, ScoringDep, SessionDep, StoreDep, writes
from api.errors import Rejected
from api.portal.event_day import checkpoint_evidence
from api.portal.listing_form import (
    GROUPS,
    PARTS,
    WholeListingForm,
    for_display,
    form_of_listing,
    merged,
    parts,
    summary,
)
from api.portal.rendering import PortalPublisher, check_csrf, csrf_token, page, render
from api.routes.importing import every_own_id, read_upload, spreadsheet
from catalog import analytics, browse, geography, importing, readmodel
from catalog import service as catalog_service
from catalog.checklist import publish_warnings
from catalog.merge import FieldChange, changes_since
from catalog.models import Listing
from catalog.schemas import CheckpointUpdate, ListingPublic, ListingUpdate, OwnListingFilters
from catalog.taxonomy import REPORTABLE, InvestmentModel, ListingKind, Sector, Stage
from core.db import utcnow
from core.errors import AppError, InvalidInput
from core.formatting import bangkok_date
from core.principal import Principal
from core.ratelimit import Rule
from core.spreadsheets import spreadsheet_csv
from matching import gaps
from matching import service as matching_service
from matching.schemas import LEAD_LABELS, LeadStatus, LeadUpdate

router = APIRouter()

Choice = Literal["theirs", "mine"]
LEAD_COLUMNS = (
    "listing",
    "listing_slug",
    "investor_organisation",
    "investor_profile",
    "contact",
    "date",
    "status",
    "message",
    "notes",
)


@router.get("/dashboard", response_class=HTMLResponse)
@page()
def dashboard(request: Request, session: SessionDep, principal: PortalPublisher) -> HTMLResponse:
    return _dashboard(request, session, principal)


def _dashboard(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    report: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The publisher's home; ``report``: a checkpoint report sent back with its errors."""
    ids, _ = browse.list_own(session, principal=principal, filters=OwnListingFilters(limit=100))
    leads = [
        matching_service.lead_public(session, lead)
        for lead in matching_service.list_leads(session, principal=principal)
    ]
    today = bangkok_date(utcnow())
    due = browse.due_checkpoints(session, principal=principal, today=today)
    return render(
        request,
        "dashboard.html",
        {
            **_audience(session, every_own_id(session, principal)),
            "listings": readmodel.listings_public(session, ids),
            "leads": leads,
            "due": due,
            "pitch_evidence": checkpoint_evidence(
                request, session, [(c.slug, c.months, c.due_on) for c in due]
            ),
            "lead_statuses": list(LeadStatus),
            "reportable": REPORTABLE,
            "report": report or {},
            "csrf": csrf_token(request),
            "notice": request.query_params.get("notice"),
        },
        status_code=status_code,
        principal=principal,
    )


def _audience(session: Session, listing_ids: list[int]) -> dict[str, Any]:
    """The weeks' views, impressions and interest of these listings, and their leads."""
    starts = analytics.week_starts(12)
    weeks = analytics.weekly_activity(session, listing_ids, starts)
    interest = matching_service.interest_by_week(session, listing_ids, starts)
    rows = [replace(weeks[start], interest=interest[start]) for start in starts]
    peak = max([1, *(max(w.views, w.impressions, w.interest) for w in rows)])
    return {
        "weeks": rows,
        "peak": peak,
        "leads_by_status": matching_service.leads_by_status(session, listing_ids),
    }


@router.get("/dashboard/listings/{slug}/analytics", response_class=HTMLResponse)
@page()
def listing_analytics(
    slug: str, request: Request, session: SessionDep, principal: PortalPublisher
) -> HTMLResponse:
    """One listing's audience, week by week, and its leads by status."""
    listing = _own_listing(session, slug, principal)
    return render(
        request,
        "listing_analytics.html",
        {"listing": listing, **_audience(session, [listing.id or 0])},
        principal=principal,
    )


def _always(_principal: Principal | None) -> bool:
    return True  # the fit of every discoverable investor may rebuild the matching matrix


@router.get("/dashboard/listings/{slug}/investors", response_class=HTMLResponse)
@page(worker_thread_for=_always)
def investors_who_fit(
    slug: str,
    request: Request,
    session: SessionDep,
    principal: PortalPublisher,
    store: StoreDep,
    settings: ScoringDep,
) -> HTMLResponse:
    """The discoverable investors who fit one of the organisation's listings, with their
    scores and reasons, and the single changes that would bring in more."""
    listing = _own_listing(session, slug, principal)
    fits = gaps.investors_for_listing(
        session,
        listing=listing,
        principal=principal,
        catalogue=store.matrix(session),
        settings=settings,
        k=50,
    )
    return render(
        request,
        "investors_who_fit.html",
        {"listing": listing, "fits": fits},
        principal=principal,
    )


@router.post("/dashboard/leads/{lead_id}", response_model=None)
@writes
def update_lead(
    lead_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    request: Request,
    session: SessionDep,
    principal: PortalPublisher,
    csrf_token: Annotated[str, Form(max_length=100)],
    status: Annotated[str, Form(max_length=40)] = "",
    notes: Annotated[str, Form(max_length=5_000)] = "",
) -> Response:
    """Move a lead along and keep notes on it, from the leads table."""
    check_csrf(request, csrf_token)
    try:
        data = LeadUpdate.model_validate({"status": status or None, "notes": notes})
    except ValidationError as exc:
        raise InvalidInput("choose a status from the list", field="status") from exc
    matching_service.update_lead(session, lead_id=lead_id, data=data, principal=principal)
    return RedirectResponse(f"/dashboard?notice=lead_saved#lead-{lead_id}", status_code=303)


@router.get("/dashboard/leads.csv", response_model=None)
@page()
def leads_csv(request: Request, session: SessionDep, principal: PortalPublisher) -> Response:
    """Every lead of the organisation as a spreadsheet, headers in the reader's language."""
    lang = i18n.choose_language(request)
    leads = [
        matching_service.lead_public(session, lead)
        for lead in matching_service.list_leads(session, principal=principal)
    ]
    body = spreadsheet_csv(
        [i18n.say(f"lead_column_{name}", lang) for name in LEAD_COLUMNS],
        [
            [
                i18n.text_in(lead.listing_title_th, lead.listing_title_en, lang),
                lead.listing_slug,
                i18n.text_in(lead.investor_organisation_th, lead.investor_organisation_en, lang),
                lead.investor.name,
                "\n".join(filter(None, (lead.contact_email, lead.contact))),
                lead.created_at.date().isoformat(),
                i18n.pick(LEAD_LABELS[lead.status], lang),
                lead.message,
                lead.notes,
            ]
            for lead in leads
        ],
    )
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="leads.csv"'},
    )


@router.post("/dashboard/listings/{slug}/checkpoints/{months}", response_model=None)
@writes
def report_checkpoint(
    slug: str,
    months: Annotated[int, Path(ge=6, le=12)],
    request: Request,
    session: SessionDep,
    principal: PortalPublisher,
    csrf_token: Annotated[str, Form(max_length=100)],
    status: Annotated[str, Form(max_length=40)] = "",
    note: Annotated[str, Form(max_length=25_000)] = "",
    evidence_url: Annotated[str, Form(max_length=600)] = "",
    back: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Report a checkpoint: status, a note and an evidence link; errors come back beside
    their fields with what was typed (on the page the form was on)."""
    check_csrf(request, csrf_token)
    listing = _own_listing(session, slug, principal)
    typed = {"status": status, "note": note, "evidence_url": evidence_url}
    errors: dict[str, str] = {}
    try:
        data = CheckpointUpdate.model_validate(
            {"status": status or None, "note": note, "evidence_url": evidence_url.strip() or None}
        )
        catalog_service.update_checkpoint(
            session, listing=listing, months=months, data=data, principal=principal
        )
    except ValidationError as exc:
        errors = {str(e["loc"][0]): f"checkpoint_{e['loc'][0]}_invalid" for e in exc.errors()}
    except AppError:
        errors = {"status": "checkpoint_not_found"}
    if errors:
        report = {"slug": slug, "months": months, "values": typed, "errors": errors}
        answer = (
            _checkpoints_page(request, session, principal, listing, report=report, status_code=422)
            if back == "listing"
            else _dashboard(request, session, principal, report=report, status_code=422)
        )
        raise Rejected(answer)
    if back == "listing":
        return RedirectResponse(
            f"/dashboard/listings/{slug}/checkpoints?notice=checkpoint_reported", status_code=303
        )
    return RedirectResponse("/dashboard?notice=checkpoint_reported", status_code=303)


def _checkpoints_page(
    request: Request,
    session: Session,
    principal: Principal,
    listing: Listing,
    *,
    report: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """Every checkpoint of one listing, each with its report form (early too)."""
    stored = readmodel.listing_public(session, listing.id or 0)
    today = bangkok_date(utcnow())
    checkpoints = [
        (
            browse.DueCheckpoint(
                stored.slug,
                stored.title_th,
                stored.title_en,
                c.months,
                c.due_on,
                c.state == "overdue",
            ),
            c,
        )
        for c in stored.checkpoints
    ]
    return render(
        request,
        "listing_checkpoints.html",
        {
            "listing": stored,
            "checkpoints": checkpoints,
            "pitch_evidence": checkpoint_evidence(
                request, session, [(stored.slug, c.months, c.due_on) for c in stored.checkpoints]
            ),
            "today": today,
            "reportable": REPORTABLE,
            "report": report or {},
            "csrf": csrf_token(request),
            "notice": request.query_params.get("notice"),
        },
        status_code=status_code,
        principal=principal,
    )


@router.get("/dashboard/listings/{slug}/checkpoints", response_class=HTMLResponse)
@page()
def listing_checkpoints(
    slug: str, request: Request, session: SessionDep, principal: PortalPublisher
) -> HTMLResponse:
    return _checkpoints_page(request, session, principal, _own_listing(session, slug, principal))


def _own_listing(session: Session, slug: str, principal: Principal) -> Listing:
    listing = catalog_service.find_listing(session, ref=slug, viewer=principal)
    catalog_service.ensure_can_edit(listing, principal)
    return listing


def _new_listing_page(
    request: Request,
    session: Session,
    principal: Principal,
    form: WholeListingForm,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "listing_form.html",
        {
            "form": form,
            "groups": GROUPS,
            "cities": geography.list_cities(session),
            "kinds": list(ListingKind),
            "sectors": list(Sector),
            "stages": list(Stage),
            "models": list(InvestmentModel),
            "csrf": csrf_token(request),
        },
        status_code=status_code,
        principal=principal,
    )


def _import_page(
    request: Request,
    principal: Principal,
    *,
    report: importing.ImportReport | None = None,
    checked: bool = False,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "import.html",
        {
            "report": report,
            "checked": checked,
            "columns": importing.COLUMNS,
            "csrf": csrf_token(request),
        },
        status_code=status_code,
        principal=principal,
    )


@router.get("/dashboard/import", response_class=HTMLResponse)
def import_form(request: Request, principal: PortalPublisher) -> HTMLResponse:
    return _import_page(request, principal)


@router.post("/dashboard/import", response_model=None)
@writes
async def import_upload(
    request: Request, session: SessionDep, principal: PortalPublisher, limiter: LimiterDep
) -> Response:
    """Check a spreadsheet (``action=check``) or import it (``action=import``): all rows
    as drafts in one transaction, or, with any problem, none and the report."""
    limiter.hit_organisation(Rule.imports, principal)
    async with request.form() as posted:  # closes the uploaded file's spool
        check_csrf(request, str(posted.get("csrf_token", "")))
        upload = posted.get("file")
        data = await upload.read() if upload is not None and not isinstance(upload, str) else b""
        commit = posted.get("action") == "import"
    return await run_in_threadpool(_import, request, session, principal, data, commit)


def _import(
    request: Request, session: Session, principal: Principal, data: bytes, commit: bool
) -> Response:
    read = read_upload(data)
    if isinstance(read, importing.ImportReport):
        raise Rejected(_import_page(request, principal, report=read, status_code=422))
    report = importing.import_listings(session, principal=principal, table=read)
    if report.problems or not commit:
        status = 422 if report.problems else 200
        raise Rejected(
            _import_page(request, principal, report=report, checked=True, status_code=status)
        )
    return RedirectResponse(
        f"/dashboard?notice=imported&count={len(report.created)}", status_code=303
    )


@router.get("/dashboard/import/template.{fmt}", response_model=None)
def import_template(fmt: str, principal: PortalPublisher) -> Response:
    return spreadsheet([importing.headers()], _format(fmt), "citydeal-listings-template")


@router.get("/dashboard/export.{fmt}", response_model=None)
@page()
def export(fmt: str, session: SessionDep, principal: PortalPublisher) -> Response:
    ids = every_own_id(session, principal)
    rows = importing.export_rows(readmodel.listings_public(session, ids))
    return spreadsheet(rows, _format(fmt), f"{principal.organisation_slug}-listings")


def _format(fmt: str) -> Literal["csv", "xlsx"]:
    if fmt == "xlsx":
        return "xlsx"
    if fmt == "csv":
        return "csv"
    raise InvalidInput("CSV or XLSX", field="format")


@router.get("/dashboard/listings/new", response_class=HTMLResponse)
@page()
def new_listing_form(
    request: Request, session: SessionDep, principal: PortalPublisher
) -> HTMLResponse:
    return _new_listing_page(request, session, principal, WholeListingForm.empty())


CREATE_REFUSALS = importing.REFUSALS


@router.post("/dashboard/listings/new", response_model=None)
@writes
async def create_listing(
    request: Request, session: SessionDep, principal: PortalPublisher
) -> Response:
    """Save a new draft, or (``action=add-<group>``) give the form back with another row."""
    posted = await request.form()
    check_csrf(request, str(posted.get("csrf_token", "")))
    fields = {key: value for key, value in posted.items() if isinstance(value, str)}
    models = [str(value) for value in posted.getlist("investment_models")]
    return await run_in_threadpool(_create_listing, request, session, principal, fields, models)


def _create_listing(
    request: Request,
    session: Session,
    principal: Principal,
    fields: dict[str, str],
    models: list[str],
) -> Response:
    form = WholeListingForm.from_post(fields, models)
    action = fields.get("action", "save")
    if action.startswith("add-"):
        form.add_row(action.removeprefix("add-"))
        return _new_listing_page(request, session, principal, form)
    data = form.validate()
    if data is not None:
        try:
            listing = catalog_service.create_listing(session, data=data, principal=principal)
        except AppError as exc:
            form.errors[exc.field or "form"] = CREATE_REFUSALS.get(exc.field or "", "bad_value")
        else:
            return RedirectResponse(f"/dashboard/listings/{listing.slug}/publish", status_code=303)
    raise Rejected(_new_listing_page(request, session, principal, form, status_code=422))


@router.get("/dashboard/listings/{slug}/edit", response_class=HTMLResponse)
@page()
def edit_form(
    slug: str, request: Request, session: SessionDep, principal: PortalPublisher
) -> HTMLResponse:
    listing = _own_listing(session, slug, principal)
    stored = readmodel.listing_public(session, listing.id or 0)
    return _edit_page(request, session, stored, principal, form_of_listing(stored))


def _edit_page(
    request: Request,
    session: Session,
    listing: ListingPublic,
    principal: Principal,
    form: WholeListingForm,
    *,
    original: dict[str, str | None] | None = None,
    changes: list[FieldChange] | None = None,
    choices: dict[str, str] | None = None,
    stale: bool = False,
) -> HTMLResponse:
    """The whole listing to edit: as stored; or as sent, with its errors; or, after a
    save from an older version, what the other editor changed, part by part, with a
    choice for each. The form's version is always the stored one."""
    status_code = 409 if stale else 422 if form.errors else 200
    return render(
        request,
        "listing_form.html",
        {
            "mode": "edit",
            "listing": listing,
            "form": for_display(form),
            "original": original if original is not None else parts(form_of_listing(listing)),
            "changes": changes or [],
            "summary": summary,
            "choices": choices or {},
            "stale": stale,
            "groups": GROUPS,
            "cities": geography.list_cities(session),
            "kinds": list(ListingKind),
            "sectors": list(Sector),
            "stages": list(Stage),
            "models": list(InvestmentModel),
            "csrf": csrf_token(request),
        },
        status_code=status_code,
        principal=principal,
    )


@router.post("/dashboard/listings/{slug}/edit", response_class=HTMLResponse, response_model=None)
@writes
async def edit_listing(
    slug: str, request: Request, session: SessionDep, principal: PortalPublisher
) -> Response:
    posted = await request.form()
    check_csrf(request, str(posted.get("csrf_token", "")))
    fields = {key: value for key, value in posted.items() if isinstance(value, str)}
    models = [str(value) for value in posted.getlist("investment_models")]
    return await run_in_threadpool(_edit_listing, slug, request, session, principal, fields, models)


def _edit_listing(
    slug: str,
    request: Request,
    session: Session,
    principal: Principal,
    fields: dict[str, str],
    models: list[str],
) -> Response:
    """Save the form, unless the listing changed since the version it was made from: then
    nothing is saved, and the page shows each part changed meanwhile (old and new) beside
    what was typed, to take theirs or keep mine. Only a save with every such part
    resolved, against the version stored now, goes through."""
    listing = _own_listing(session, slug, principal)
    stored = readmodel.listing_public(session, listing.id or 0)
    theirs_form = form_of_listing(stored)
    mine = WholeListingForm.from_post(fields, models, base=theirs_form)
    action = fields.get("action", "save")
    if action.startswith("add-"):
        mine.add_row(action.removeprefix("add-"))
        original = {name: fields.get(f"original_{name}") for name in PARTS}
        return _edit_page(request, session, stored, principal, mine, original=original)
    theirs = parts(theirs_form)
    version = _int(fields.get("version"))
    same_version = version == stored.version
    original = {
        name: fields.get(f"original_{name}", theirs[name] if same_version else None)
        for name in PARTS
    }
    changes = changes_since(PARTS, original=original, mine=parts(mine), theirs=theirs)
    choices = {c.name: fields.get(f"resolve_{c.name}") for c in changes}
    if not same_version or None in choices.values() or "" in choices.values():
        for change in changes:
            if not choices[change.name] and same_version:
                mine.errors[f"resolve_{change.name}"] = "choose_one"
        preselected = {
            c.name: choices[c.name] or ("" if c.both_changed else "theirs") for c in changes
        }
        return _edit_page(
            request,
            session,
            stored,
            principal,
            mine,
            original=original,
            changes=changes,
            choices=preselected,
            stale=True,
        )
    final = merged(
        mine, theirs_form, {name for name, choice in choices.items() if choice == "theirs"}
    )
    data = final.validate()
    if data is not None:
        try:
            catalog_service.update_listing(
                session,
                listing=listing,
                data=ListingUpdate.model_validate(data.model_dump(mode="json", exclude={"slug"})),
                expected_version=stored.version,
                principal=principal,
            )
        except AppError as exc:
            final.errors[exc.field or "form"] = CREATE_REFUSALS.get(exc.field or "", "bad_value")
        else:
            return RedirectResponse("/dashboard?notice=saved", status_code=303)
    # nothing of a rejected edit may be committed: raising rolls it back
    raise Rejected(_edit_page(request, session, stored, principal, final, original=original))


def _int(text: str | None) -> int | None:
    try:
        return int(text or "")
    except ValueError:
        return None


@router.get("/dashboard/listings/{slug}/publish", response_class=HTMLResponse)
@page()
def publish_checklist(
    slug: str, request: Request, session: SessionDep, principal: PortalPublisher
) -> HTMLResponse:
    """Before publishing: what a reader would miss (none of it blocks publishing)."""
    listing = readmodel.listing_public(session, _own_listing(session, slug, principal).id or 0)
    return render(
        request,
        "publish.html",
        {
            "listing": listing,
            "warnings": publish_warnings(listing, bangkok_date(utcnow())),
            "csrf": csrf_token(request),
        },
        principal=principal,
    )


@router.post("/dashboard/listings/{slug}/publish", response_model=None)
@writes
def publish(
    slug: str,
    request: Request,
    session: SessionDep,
    principal: PortalPublisher,
    csrf_token: Annotated[str, Form(max_length=100)],
    version: Annotated[int, Form(ge=1)],
) -> Response:
    check_csrf(request, csrf_token)
    return _move(
        session, slug, principal, version, catalog_service.publish_listing, "published_now"
    )


@router.post("/dashboard/listings/{slug}/archive", response_model=None)
@writes
def archive(
    slug: str,
    request: Request,
    session: SessionDep,
    principal: PortalPublisher,
    csrf_token: Annotated[str, Form(max_length=100)],
    version: Annotated[int, Form(ge=1)],
) -> Response:
    """Withdraw a listing from the catalogue; it can be published again."""
    check_csrf(request, csrf_token)
    archive_listing = catalog_service.archive_listing
    return _move(session, slug, principal, version, archive_listing, "archived_now")


def _move(
    session: Session,
    slug: str,
    principal: Principal,
    version: int,
    transition: Callable[..., Listing],
    notice: str,
) -> Response:
    """Publish or archive the listing from the version the button was made with."""
    listing = _own_listing(session, slug, principal)
    transition(session, listing=listing, principal=principal, expected_version=version)
    return RedirectResponse(f"/dashboard?notice={notice}", status_code=303)
