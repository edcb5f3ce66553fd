"""The investor profile as a form: what was typed, lists ticked, errors by field; read
from a stored profile or a post, and turned into the API's update (amounts as people
type them: ``10M``, ``10 ล้าน``, ``10,000,000``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from catalog.schemas import MAX_THB
from core.formatting import parse_thb
from core.schemas import reason_of
from matching.models import InvestorProfile
from matching.schemas import InvestorProfileUpdate

TEXTS = ("name", "investor_type", "home_country", "thesis")
AMOUNTS = ("ticket_min_thb", "ticket_max_thb")
NUMBERS = ("horizon_years", "min_irr_pct", "min_score")
LISTS = (
    "languages",
    "sectors",
    "provinces",
    "regions",
    "models",
    "stages",
    "excluded_sectors",
    "excluded_models",
)


def _amount_text(amount: int, default: int) -> str:
    return "" if amount == default else f"{amount:,}"


def _number_text(value: float | int | None) -> str:
    return "" if value is None else f"{value:g}"


@dataclass
class ProfileForm:
    values: dict[str, str] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)
    discoverable: bool = True
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, profile: InvestorProfile) -> ProfileForm:
        values = {name: str(getattr(profile, name)) for name in TEXTS}
        values["ticket_min_thb"] = _amount_text(profile.ticket_min_thb, 0)
        values["ticket_max_thb"] = _amount_text(profile.ticket_max_thb, MAX_THB)
        values |= {name: _number_text(getattr(profile, name)) for name in NUMBERS}
        return cls(
            values=values,
            lists={name: list(getattr(profile, name)) for name in LISTS},
            discoverable=profile.discoverable,
        )

    @classmethod
    def posted(cls, form: Mapping[str, Any], lists: Mapping[str, list[str]]) -> ProfileForm:
        names = (*TEXTS, *AMOUNTS, *NUMBERS)
        return cls(
            values={name: str(form.get(name, "")).strip() for name in names},
            lists={name: list(lists.get(name, [])) for name in LISTS},
            discoverable=form.get("discoverable") == "on",
        )

    def update(self) -> InvestorProfileUpdate | None:
        """The change the form asks for, or None with ``errors`` filled in, every field
        at once."""
        data: dict[str, Any] = {name: self.values.get(name, "") for name in TEXTS}
        data |= self.lists
        data["discoverable"] = self.discoverable
        for name, default in (("ticket_min_thb", 0), ("ticket_max_thb", MAX_THB)):
            typed = self.values.get(name, "")
            try:
                data[name] = parse_thb(typed) if typed else default
            except ValueError:
                self.errors[name] = "not_an_amount"
        for name in NUMBERS:
            data[name] = self.values.get(name) or None
        try:
            update = InvestorProfileUpdate.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors():
                where = str(error["loc"][0]) if error["loc"] else "form"
                self.errors.setdefault(where, _reason(error["type"], where))
            return None
        if self.errors:
            return None
        return update


def _reason(error_type: str, where: str) -> str:
    if where == "ticket_max_thb" and error_type == "value_error":
        return "min_above_max"
    return reason_of(error_type)
