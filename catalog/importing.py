"""Listings in and out of spreadsheets: the template, a report row by row, an import
that happens whole or not at all, and the export in the same columns.

A row is a listing's own fields, its investment models (comma-separated) and one
contact; steps, documents and more contacts are added in the portal afterwards. Headers
carry Thai, English and the column's key (``ชื่อโครงการ (ไทย) / Title (Thai) [title_th]``);
a bare key or either label alone is read too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from catalog import service
from catalog.schemas import ListingCreate, ListingPublic
from catalog.taxonomy import Label
from core.errors import AppError
from core.principal import Principal
from core.schemas import reason_of

MAX_ROWS = 500

COLUMNS: dict[str, Label] = {
    "kind": Label("ประเภท", "Kind"),
    "sector": Label("ภาคธุรกิจ", "Sector"),
    "city": Label("เมือง", "City"),
    "smart_block": Label("ย่านเมืองอัจฉริยะ", "Smart block"),
    "stage": Label("ระยะโครงการ", "Stage"),
    "title_th": Label("ชื่อโครงการ (ไทย)", "Title (Thai)"),
    "title_en": Label("ชื่อโครงการ (อังกฤษ)", "Title (English)"),
    "summary_th": Label("สรุป (ไทย)", "Summary (Thai)"),
    "summary_en": Label("สรุป (อังกฤษ)", "Summary (English)"),
    "description_th": Label("รายละเอียด (ไทย)", "Description (Thai)"),
    "description_en": Label("รายละเอียด (อังกฤษ)", "Description (English)"),
    "capital_min_thb": Label("เงินลงทุนขั้นต่ำ (บาท)", "Capital from (THB)"),
    "capital_max_thb": Label("เงินลงทุนสูงสุด (บาท)", "Capital to (THB)"),
    "investment_models": Label("รูปแบบการลงทุน (คั่นด้วยจุลภาค)", "Investment models (comma-separated)"),
    "expected_irr_pct": Label("ผลตอบแทนที่คาดหวัง (%)", "Expected IRR (%)"),
    "payback_years": Label("ระยะคืนทุน (ปี)", "Payback (years)"),
    "contact_name": Label("ผู้ประสานงาน", "Contact name"),
    "contact_name_latin": Label("ชื่อผู้ประสานงาน (อักษรโรมัน)", "Contact name (Latin script)"),
    "contact_role": Label("ตำแหน่งผู้ประสานงาน", "Contact role"),
    "contact_email": Label("อีเมลผู้ประสานงาน", "Contact e-mail"),
    "contact_phone": Label("โทรศัพท์ผู้ประสานงาน", "Contact phone"),
}
CONTACT = ("name", "name_latin", "role", "email", "phone")
NUMBERS = ("capital_min_thb", "capital_max_thb", "expected_irr_pct", "payback_years")
FORMULA_STARTS = ("=", "+", "-", "@")
_KEY_IN_HEADER = re.compile(r"\[([a-z_]+)\]\s*$")
# The services' refusals of a new listing, by the field they name, as message keys.
REFUSALS = {
    "slug": "slug_taken",
    "city": "unknown_city",
    "smart_block": "unknown_smart_block",
    "capital_max_thb": "min_above_max",
    "capital_min_thb": "min_above_max",
}


def header(key: str) -> str:
    label = COLUMNS[key]
    return f"{label.th} / {label.en} [{key}]"


def headers() -> list[str]:
    return [header(key) for key in COLUMNS]


@dataclass(frozen=True)
class Problem:
    row: int  # as the spreadsheet numbers it: the header is row 1
    column: str  # a key of COLUMNS, or "" for the file as a whole
    reason: str  # a message key, in Thai and English in the portal and the API


@dataclass(frozen=True)
class ImportReport:
    rows: int
    problems: list[Problem]
    created: list[str]  # slugs, when imported


def _column_of(cell: str) -> str | None:
    text = cell.strip()
    found = _KEY_IN_HEADER.search(text)
    if found and found.group(1) in COLUMNS:
        return found.group(1)
    for key, label in COLUMNS.items():
        if text in (key, label.th, label.en):
            return key
    return None


def _cell(value: str) -> str:
    text = value.strip()
    # What our export escaped so that a spreadsheet would not run it.
    if text.startswith("'") and text[1:2] in FORMULA_STARTS:
        return text[1:]
    return text


def _number(key: str, text: str) -> str | float | int:
    cleaned = text.replace(",", "").replace(" ", "")
    try:
        return int(cleaned) if key.startswith("capital") else float(cleaned)
    except ValueError:
        return text  # the schema names the problem


def row_payload(row: dict[str, str]) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    for key in COLUMNS:
        text = _cell(row.get(key, ""))
        if key.startswith("contact_") or not text:
            continue
        if key == "investment_models":
            payload[key] = [part.strip() for part in re.split(r"[,;]", text) if part.strip()]
        elif key in NUMBERS:
            payload[key] = _number(key, text)
        else:
            payload[key] = text
    contact = {name: _cell(row.get(f"contact_{name}", "")) for name in CONTACT}
    if any(contact.values()):
        payload["contacts"] = [{k: v for k, v in contact.items() if v}]
    payload.setdefault("investment_models", [])
    return payload


def _formula_problems(number: int, row: dict[str, str]) -> list[Problem]:
    return [
        Problem(number, key, "formula_not_allowed")
        for key, value in row.items()
        if value.strip().startswith("=")
    ]


def _schema_problems(number: int, exc: ValidationError) -> list[Problem]:
    found = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        column = (
            "contact_" + str(error["loc"][2])
            if field == "contacts" and len(error["loc"]) > 2
            else field
        )
        found.append(Problem(number, column, reason_of(error["type"])))
    return found


def import_listings(
    session: Session,
    *,
    principal: Principal,
    table: Sequence[Sequence[str]],
) -> ImportReport:
    """Check every row (and create each, in a savepoint, so that the services' own rules
    are checked too: a city that does not exist, a smart block of another city). The
    caller commits only a report without problems; anything else rolls back whole."""
    if not table:
        return ImportReport(0, [Problem(1, "", "empty_file")], [])
    columns = [_column_of(cell) for cell in table[0]]
    if "title_th" not in columns:
        return ImportReport(0, [Problem(1, "", "no_header")], [])
    body = [row for row in table[1:] if any(cell.strip() for cell in row)]
    if len(body) > MAX_ROWS:
        return ImportReport(len(body), [Problem(MAX_ROWS + 2, "", "too_many_rows")], [])
    problems: list[Problem] = []
    created: list[str] = []
    for offset, cells in enumerate(table[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        row = {key: cell for key, cell in zip(columns, cells, strict=False) if key}
        formulas = _formula_problems(offset, row)
        if formulas:
            problems += formulas
            continue
        try:
            data = ListingCreate.model_validate(row_payload(row))
        except ValidationError as exc:
            problems += _schema_problems(offset, exc)
            continue
        savepoint = session.begin_nested()
        try:
            listing = service.create_listing(session, data=data, principal=principal)
        except AppError as exc:
            savepoint.rollback()
            problems.append(
                Problem(offset, exc.field or "", REFUSALS.get(exc.field or "", "bad_value"))
            )
        else:
            savepoint.commit()
            created.append(listing.slug)
    return ImportReport(len(body), problems, created)


def export_rows(listings: Sequence[ListingPublic]) -> list[list[str]]:
    """The organisation's listings in the import's columns, header first."""
    rows = [headers()]
    for listing in listings:
        dumped = listing.model_dump(mode="json")
        contact = dumped["contacts"][0] if dumped["contacts"] else {}
        values = {
            **{key: dumped.get(key) for key in COLUMNS if not key.startswith("contact_")},
            "city": listing.city.slug,
            "smart_block": listing.smart_block.slug if listing.smart_block else "",
            "investment_models": ", ".join(dumped["investment_models"]),
            **{f"contact_{name}": contact.get(name) for name in CONTACT},
        }
        rows.append(["" if values[key] is None else str(values[key]) for key in COLUMNS])
    return rows
