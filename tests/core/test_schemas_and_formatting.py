"""Update schemas derived from create schemas (``core.schemas.partial_model``), and how
amounts and dates are written in Thai and English (``core.formatting``)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field, ValidationError

from catalog.schemas import ListingUpdate
from core.formatting import Lang, long_date, thb, thb_range
from core.schemas import StrictModel, partial_model
from matching.reasons import range_en, range_th

NULL_REFUSED = "may be omitted but not set to null"


# --- partial_model ----------------------------------------------------------------------


class Source(StrictModel):
    """A create schema in miniature."""

    name: Annotated[str, Field(max_length=5)] = Field(description="Short name.")
    note: str | None = None
    score: Annotated[int | None, Field(ge=0, le=10)] = None
    count: int = 0
    tags: Annotated[list[str], Field(max_length=2)] = []


Partial = partial_model("Partial", Source, exclude=frozenset({"count"}), doc="An update.")


def _errors(model: type[BaseModel], data: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(field, type, message) of each error validating ``data``."""
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return [(".".join(map(str, e["loc"])), e["type"], e["msg"]) for e in caught.value.errors()]


def test_partial_model_leaves_omitted_fields_unset() -> None:
    update = Partial.model_validate({})
    assert update.model_fields_set == set()
    assert update.model_dump(exclude_unset=True) == {}
    one = Partial.model_validate({"name": "abc"})
    assert one.model_dump(exclude_unset=True) == {"name": "abc"}


def test_partial_model_refuses_null_for_a_field_that_may_not_be_null() -> None:
    for field, value in (("name", None), ("tags", None)):
        [(loc, kind, message)] = _errors(Partial, {field: value})
        assert loc == field
        assert kind == "value_error"
        assert NULL_REFUSED in message


def test_partial_model_accepts_null_where_the_source_admits_it() -> None:
    update = Partial.model_validate({"note": None, "score": None})
    assert update.model_fields_set == {"note", "score"}
    assert update.model_dump(exclude_unset=True) == {"note": None, "score": None}


def test_partial_model_keeps_the_sources_constraints() -> None:
    assert _errors(Partial, {"name": "toolong"})[0][:2] == ("name", "string_too_long")
    assert _errors(Partial, {"score": 11})[0][:2] == ("score", "less_than_equal")
    assert _errors(Partial, {"score": -1})[0][:2] == ("score", "greater_than_equal")
    assert _errors(Partial, {"tags": ["a", "b", "c"]})[0][:2] == ("tags", "too_long")
    assert Partial.model_validate({"name": "12345", "score": 10}).model_dump(
        exclude_unset=True
    ) == {"name": "12345", "score": 10}
    assert Partial.model_fields["name"].description == "Short name."


def test_partial_model_refuses_unknown_and_excluded_fields() -> None:
    assert _errors(Partial, {"nmae": "abc"}) == [
        ("nmae", "extra_forbidden", "Extra inputs are not permitted")
    ]
    assert _errors(Partial, {"count": 1})[0][:2] == ("count", "extra_forbidden")
    assert issubclass(Partial, StrictModel)
    assert Partial.__doc__ == "An update."


def test_listing_update_follows_listing_create() -> None:
    assert ListingUpdate.model_validate({}).model_dump(exclude_unset=True) == {}
    for field in ("title_th", "capital_min_thb", "investment_models", "incentives", "kind"):
        [(loc, _kind, message)] = _errors(ListingUpdate, {field: None})
        assert (loc, NULL_REFUSED in message) == (field, True)
    cleared = ListingUpdate.model_validate(
        {"expected_irr_pct": None, "smart_block": None, "payback_years": None}
    )
    assert cleared.model_dump(exclude_unset=True) == {
        "expected_irr_pct": None,
        "smart_block": None,
        "payback_years": None,
    }
    # The create schema's limits and clean-ups hold on update too.
    assert _errors(ListingUpdate, {"title_th": "ก" * 201})[0][:2] == (
        "title_th",
        "string_too_long",
    )
    assert _errors(ListingUpdate, {"title_th": "   "})[0][:2] == ("title_th", "string_too_short")
    assert _errors(ListingUpdate, {"capital_min_thb": -1})[0][:2] == (
        "capital_min_thb",
        "greater_than_equal",
    )
    assert _errors(ListingUpdate, {"investment_models": []})[0][:2] == (
        "investment_models",
        "too_short",
    )
    assert _errors(ListingUpdate, {"kind": "shop"})[0][:2] == ("kind", "enum")
    update = ListingUpdate.model_validate(
        {"title_th": "  ลูกชิ้นปลา  ", "investment_models": ["equity", "debt", "equity"]}
    )
    assert update.model_dump(exclude_unset=True, mode="json") == {
        "title_th": "ลูกชิ้นปลา",
        "investment_models": ["equity", "debt"],
    }
    # The slug is set once, on creation; an unknown field is a typo, not a no-op.
    assert _errors(ListingUpdate, {"slug": "renamed"})[0][:2] == ("slug", "extra_forbidden")
    assert _errors(ListingUpdate, {"title": "x"})[0][:2] == ("title", "extra_forbidden")


# --- formatting ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "lang", "expected"),
    [
        (12_000_000, Lang.th, "12 ล้านบาท"),
        (12_000_000, Lang.en, "THB 12M"),
        (1_250_000, Lang.th, "1.25 ล้านบาท"),
        (500_000, Lang.th, "500,000 บาท"),
        (500_000, Lang.en, "THB 500K"),
        (2_500_000_000, Lang.th, "2,500 ล้านบาท"),  # Thai counts in millions, even billions
        (2_500_000_000, Lang.en, "THB 2.5B"),
        (0, Lang.en, "THB 0"),
    ],
)
def test_thb(amount: int, lang: Lang, expected: str) -> None:
    assert thb(amount, lang) == expected


@pytest.mark.parametrize(
    ("low", "high", "lang", "expected"),
    [
        (5_000_000, 12_000_000, Lang.en, "THB 5M–12M"),
        (5_000_000, 12_000_000, Lang.th, "5–12 ล้านบาท"),
        (12_000_000, 12_000_000, Lang.th, "12 ล้านบาท"),  # one amount, written once
        (12_000_000, 12_000_000, Lang.en, "THB 12M"),
        (500_000, 3_000_000, Lang.en, "THB 500K–3M"),
    ],
)
def test_thb_range(low: int, high: int, lang: Lang, expected: str) -> None:
    assert thb_range(low, high, lang) == expected
    assert "-" not in expected  # an en dash, never a hyphen


def test_123_456_789_is_written_the_same_way_wherever_it_appears() -> None:
    amount = 123_456_789
    assert thb(amount, Lang.en) == "THB 123.46M"
    assert thb(amount, Lang.th) == "123.46 ล้านบาท"
    assert thb_range(amount, amount, Lang.en) == "THB 123.46M"
    assert thb_range(1_000_000, amount, Lang.en) == "THB 1M–123.46M"
    assert thb_range(amount, 200_000_000, Lang.en) == "THB 123.46M–200M"
    assert thb_range(1_000_000, amount, Lang.th) == "1–123.46 ล้านบาท"
    assert thb_range(amount, 200_000_000, Lang.th) == "123.46–200 ล้านบาท"
    # Match reasons write amounts with the same formatter.
    assert range_en(amount, 200_000_000) == "THB 123.46M–200M"
    assert range_th(1_000_000, amount) == "1–123.46 ล้านบาท"


@pytest.mark.parametrize(
    ("value", "lang", "expected"),
    [
        (date(2026, 5, 3), Lang.th, "3 พฤษภาคม พ.ศ. 2569"),
        (date(2026, 5, 3), Lang.en, "3 May 2026"),
        (date(2027, 1, 31), Lang.th, "31 มกราคม พ.ศ. 2570"),
        (date(2026, 12, 1), Lang.en, "1 December 2026"),
        (datetime(2026, 5, 3, 9, 0, tzinfo=UTC), Lang.th, "3 พฤษภาคม พ.ศ. 2569"),
        (None, Lang.th, ""),
        (None, Lang.en, ""),
    ],
)
def test_long_date(value: date | datetime | None, lang: Lang, expected: str) -> None:
    assert long_date(value, lang) == expected
