"""The whole listing as one HTML form: every field the API takes, Thai beside English,
and the repeating parts (incentives, documents, contacts, how-to-invest steps) as rows
named ``<group>-<row>-<field>``.

It works without JavaScript: a button adds an empty row (the form comes back with what
was typed), a box removes a row, a number orders the steps. With JavaScript
(``/static/listing_form.js``) rows are added, removed and moved in place. Errors come
back beside their fields, as message keys the page shows in the reader's language.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from catalog.schemas import ListingCreate, ListingPublic
from core.schemas import reason_of

SCALARS = (
    "kind",
    "sector",
    "city",
    "smart_block",
    "stage",
    "title_th",
    "title_en",
    "summary_th",
    "summary_en",
    "description_th",
    "description_en",
    "capital_min_thb",
    "capital_max_thb",
    "expected_irr_pct",
    "payback_years",
)
GROUPS: dict[str, tuple[str, ...]] = {
    "incentives": ("title_th", "title_en", "detail_th", "detail_en"),
    "documents": ("title", "url"),
    "contacts": ("name", "name_latin", "role", "organisation", "email", "phone"),
    "how_to_invest": (
        "title_th",
        "title_en",
        "detail_th",
        "detail_en",
        "office",
        "permit",
        "typical_days",
        "last_verified",
    ),
}
OPTIONAL_NONE = {
    "smart_block",
    "expected_irr_pct",
    "payback_years",
    "email",
    "phone",
    "permit",
    "typical_days",
    "last_verified",
}
MAX_ROWS = 30


@dataclass
class WholeListingForm:
    """What the form holds: the values as typed, its rows, and errors by field name."""

    values: dict[str, str] = field(default_factory=dict)
    models: list[str] = field(default_factory=list)
    rows: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> WholeListingForm:
        form = cls(values={"kind": "trade"}, rows={group: [] for group in GROUPS})
        for group in GROUPS:
            form.add_row(group)
        return form

    @classmethod
    def from_post(
        cls,
        posted: Mapping[str, str],
        models: list[str],
        base: WholeListingForm | None = None,
    ) -> WholeListingForm:
        """The form as posted. With ``base`` (the stored listing, when editing), a part
        the post does not carry at all stays as stored (the page marks the models and
        each group as sent, since an unticked box or an empty list sends nothing)."""
        form = cls(
            values={
                name: str(posted.get(name, "")).strip()
                if base is None or name in posted
                else base.values.get(name, "")
                for name in SCALARS
            },
            models=models
            if base is None or "investment_models_sent" in posted
            else list(base.models),
        )
        for group, names in GROUPS.items():
            if base is not None and f"{group}_sent" not in posted:
                form.rows[group] = list(base.rows[group])
                continue
            rows = []
            for index in range(MAX_ROWS):
                row = {
                    name: str(posted.get(f"{group}-{index}-{name}", "")).strip() for name in names
                }
                row["position"] = str(posted.get(f"{group}-{index}-position", "")).strip()
                removed = posted.get(f"{group}-{index}-remove") == "on"
                if not removed and any(row[name] for name in names):
                    rows.append(row)
            form.rows[group] = rows
        form.rows["how_to_invest"].sort(key=_position)
        return form

    def add_row(self, group: str) -> None:
        if group in GROUPS and len(self.rows[group]) < MAX_ROWS:
            self.rows[group].append(dict.fromkeys((*GROUPS[group], "position"), ""))

    def payload(self) -> dict[str, Any]:
        """What ``ListingCreate`` validates: blanks of optional fields become None."""
        data: dict[str, Any] = {
            name: (None if name in OPTIONAL_NONE and not value else value)
            for name, value in self.values.items()
        }
        data["investment_models"] = self.models
        for group in GROUPS:
            data[group] = [
                {
                    name: (None if name in OPTIONAL_NONE and not value else value)
                    for name, value in row.items()
                    if name != "position"
                }
                for row in self.rows[group]
            ]
        return data

    def validate(self) -> ListingCreate | None:
        try:
            return ListingCreate.model_validate(self.payload())
        except ValidationError as exc:
            for error in exc.errors():
                self.errors.setdefault(_field_name(error["loc"]), reason_of(error["type"]))
            return None


def _position(row: dict[str, str]) -> float:
    try:
        return float(row.get("position") or "inf")
    except ValueError:
        return float("inf")


def _field_name(loc: tuple[int | str, ...]) -> str:
    """``("how_to_invest", 1, "office")`` -> ``how_to_invest-1-office``, the input's name."""
    return "-".join(str(part) for part in loc[:3]) or "form"


# Every part of a listing the form edits: each scalar, the models, each group as a whole
# (a three-way merge of a stale save compares these, a group as one value).
PARTS = (*SCALARS, "investment_models", *GROUPS)


def _text(value: object) -> str:
    return "" if value is None else str(value)


def form_of_listing(listing: ListingPublic) -> WholeListingForm:
    """The stored listing as the form shows it."""
    dumped = listing.model_dump(mode="json")
    values = {name: _text(dumped.get(name)) for name in SCALARS}
    values["city"] = listing.city.slug
    values["smart_block"] = listing.smart_block.slug if listing.smart_block else ""
    rows = {
        group: [
            {name: _text(item.get(name)) for name in names} | {"position": str(index + 1)}
            for index, item in enumerate(dumped.get(group) or [])
        ]
        for group, names in GROUPS.items()
    }
    return WholeListingForm(values=values, models=list(dumped["investment_models"]), rows=rows)


def parts(form: WholeListingForm) -> dict[str, str]:
    """Each part as one comparable string (lists as JSON)."""
    payload = form.payload()
    return {
        name: json.dumps(payload[name], ensure_ascii=False, sort_keys=True)
        if isinstance(payload[name], list)
        else _text(payload[name])
        for name in PARTS
    }


def merged(
    mine: WholeListingForm, theirs: WholeListingForm, take_theirs: set[str]
) -> WholeListingForm:
    """``mine``, with the parts in ``take_theirs`` as they are stored."""
    form = WholeListingForm(
        values=dict(mine.values),
        models=list(theirs.models if "investment_models" in take_theirs else mine.models),
        rows={group: list(mine.rows[group]) for group in GROUPS},
    )
    for name in take_theirs:
        if name in SCALARS:
            form.values[name] = theirs.values.get(name, "")
        elif name in GROUPS:
            form.rows[name] = list(theirs.rows[name])
    return form


def summary(part: str, value: str | None) -> str:
    """A part as the conflict page shows it: text as it is; a list, its items' titles."""
    if value is None or part not in (*GROUPS, "investment_models"):
        return value or ""
    items = json.loads(value)
    if part == "investment_models":
        return ", ".join(items)
    first = GROUPS[part][0]
    return " · ".join(str(item.get(first) or "") for item in items)


def for_display(form: WholeListingForm) -> WholeListingForm:
    """``form`` with an empty row in each group that has none, to type a first one into
    (empty rows are never sent on: they are dropped when the form is read back)."""
    shown = WholeListingForm(
        values=form.values,
        models=form.models,
        rows={group: list(rows) for group, rows in form.rows.items()},
        errors=form.errors,
    )
    for group in GROUPS:
        if not shown.rows[group]:
            shown.add_row(group)
    return shown
