"""Listings from and to spreadsheets over the API (CSV or XLSX, Thai and English headers)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Query, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api import i18n
from api.deps import LimiterDep, PublisherDep, SessionDep, writes
from api.errors import Rejected, error_responses
from catalog import browse, importing, readmodel
from catalog.schemas import OwnListingFilters
from core.principal import Principal
from core.ratelimit import Rule
from core.spreadsheets import SpreadsheetError, read_table, spreadsheet_csv, xlsx_bytes

router = APIRouter(prefix="/v1", tags=["listings"])
Format = Literal["csv", "xlsx"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ProblemPublic(BaseModel):
    row: int
    column: str
    code: str
    th: str
    en: str


class ImportReportPublic(BaseModel):
    rows: int
    problems: list[ProblemPublic]
    created: list[str]
    dry_run: bool


def report_public(report: importing.ImportReport, *, dry_run: bool) -> ImportReportPublic:
    return ImportReportPublic(
        rows=report.rows,
        problems=[
            ProblemPublic(
                row=p.row,
                column=p.column,
                code=p.reason,
                th=i18n.say(p.reason, i18n.Lang.th),
                en=i18n.say(p.reason, i18n.Lang.en),
            )
            for p in report.problems
        ],
        created=report.created if not dry_run else [],
        dry_run=dry_run,
    )


SPREADSHEET: dict[str, Any] = {
    "description": "A spreadsheet: CSV (UTF-8) or XLSX, as `format` asks",
    "content": {
        "text/csv": {"schema": {"type": "string"}},
        XLSX: {"schema": {"type": "string", "format": "binary"}},
    },
}


def spreadsheet(rows: list[list[str]], fmt: Format, name: str) -> Response:
    if fmt == "xlsx":
        body, media = xlsx_bytes(rows), XLSX
    else:
        body, media = spreadsheet_csv(rows[0], rows[1:]).encode(), "text/csv; charset=utf-8"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )


def every_own_id(session: SessionDep, principal: Principal) -> list[int]:
    ids: list[int] = []
    while True:
        page, total = browse.list_own(
            session, principal=principal, filters=OwnListingFilters(limit=100, offset=len(ids))
        )
        ids += page
        if not page or len(ids) >= total:
            return ids


def read_upload(data: bytes) -> list[list[str]] | importing.ImportReport:
    try:
        return read_table(data)
    except SpreadsheetError as exc:
        return importing.ImportReport(0, [importing.Problem(1, "", exc.reason)], [])


@router.get(
    "/listings/import-template",
    response_class=Response,
    responses={200: SPREADSHEET, **error_responses(422)},
)
def import_template(fmt: Annotated[Format, Query(alias="format")] = "csv") -> Response:
    """The import's columns, headed in Thai and English, with no rows."""
    return spreadsheet([importing.headers()], fmt, "citydeal-listings-template")


@router.post(
    "/listings/import",
    status_code=201,
    responses={
        200: {"description": "A dry run's report"},
        **error_responses(401, 403),
        422: {
            "description": "The file's problems, every one row by row (nothing was "
            "created), or a request that failed validation",
            "content": {
                "application/json": {
                    "schema": {
                        "anyOf": [
                            {"$ref": "#/components/schemas/ImportReportPublic"},
                            {"$ref": "#/components/schemas/ValidationErrorBody"},
                        ]
                    }
                }
            },
        },
    },
    response_model=ImportReportPublic,
)
@writes
async def import_listings(
    session: SessionDep,
    principal: PublisherDep,
    limiter: LimiterDep,
    file: Annotated[UploadFile, File(description="CSV (UTF-8) or XLSX, as the template")],
    dry_run: bool = False,
) -> Response:
    """Import listings as drafts, all or none: any problem (every one is reported, row by
    row) and nothing is created. ``dry_run=true`` checks without creating."""
    limiter.hit_organisation(Rule.imports, principal)
    read = read_upload(await file.read())
    if isinstance(read, importing.ImportReport):
        body = report_public(read, dry_run=dry_run)
        raise Rejected(JSONResponse(body.model_dump(), status_code=422))
    report = importing.import_listings(session, principal=principal, table=read)
    body = report_public(report, dry_run=dry_run)
    if report.problems or dry_run:
        # Rolled back whole: a dry run, or a file with problems, creates nothing.
        status = 422 if report.problems else 200
        raise Rejected(JSONResponse(body.model_dump(), status_code=status))
    return JSONResponse(body.model_dump(), status_code=201)


@router.get(
    "/listings/export",
    response_class=Response,
    responses={200: SPREADSHEET, **error_responses(401, 403, 422)},
)
def export_listings(
    session: SessionDep,
    principal: PublisherDep,
    fmt: Annotated[Format, Query(alias="format")] = "csv",
) -> Response:
    """The organisation's listings in the import's columns (every status)."""
    rows = importing.export_rows(
        readmodel.listings_public(session, every_own_id(session, principal))
    )
    return spreadsheet(rows, fmt, f"{principal.organisation_slug}-listings")
