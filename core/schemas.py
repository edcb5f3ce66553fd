"""Building blocks of every API schema: strict inputs, and update schemas derived from
their create schemas (omitted means unchanged; null only where a value may be cleared)."""

from __future__ import annotations

import re
import types
from datetime import date, datetime
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    create_model,
    field_validator,
)
from pydantic_core import PydanticCustomError

T = TypeVar("T")


class StrictModel(BaseModel):
    """Input models refuse unknown fields, so a typo is an error instead of a silent no-op,
    and true/false where a number is meant (pydantic would read ``false`` as 0),
    or a number where true/false is (``0`` as false)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_truth_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, int | float) or info.field_name is None:
            return value
        field = cls.model_fields.get(info.field_name)
        if field is None:
            return value
        if isinstance(value, bool) and not _admits(field.annotation, bool):
            raise PydanticCustomError("bool_not_number", "Input should not be true or false")
        if not isinstance(value, bool) and _is_flag(field.annotation):
            raise PydanticCustomError("bool_type", "Input should be true or false")
        return value


def _admits(annotation: Any, kind: type) -> bool:
    if annotation is kind or annotation is Any:
        return True
    return any(_admits(arg, kind) for arg in get_args(annotation))


def _is_flag(annotation: Any) -> bool:
    """A field that takes true or false (and perhaps null), and no number."""
    return _admits(annotation, bool) and not (
        _admits(annotation, int) or _admits(annotation, float)
    )


def refuse_null(value: T) -> T:
    if value is None:
        raise ValueError("may be omitted but not set to null")
    return value


def _not_null(schema: dict[str, Any]) -> None:
    """The JSON schema of a field that may be omitted but not null: its type without the
    null (and without the default, which is "unchanged", not a value to send)."""
    options = schema.pop("anyOf", None)
    if options is not None:
        kept = [option for option in options if option != {"type": "null"}]
        if len(kept) == 1:
            schema.update(kept[0])
        else:
            schema["anyOf"] = kept
    schema.pop("default", None)


# The one spelling of "may be omitted but not set to null": the default (None) is never
# validated, an explicit null is; the JSON schema leaves null out, so that the spec does
# not offer what the app refuses.
Omittable = Annotated[T | None, AfterValidator(refuse_null), Field(json_schema_extra=_not_null)]


def _admits_none(annotation: Any) -> bool:
    if get_origin(annotation) is Annotated:
        return _admits_none(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        return type(None) in get_args(annotation)
    return annotation is None or annotation is type(None)


def partial_model(
    name: str, source: type[BaseModel], *, exclude: frozenset[str] = frozenset(), doc: str = ""
) -> type[StrictModel]:
    """An update schema with ``source``'s fields (less ``exclude``), each optional with
    the same field constraints and description. A field that ``source`` lets be null may
    be sent as null (to clear it); any other may be omitted but not set to null.
    ``source``'s own validators (rules across fields, such as min below max) are not
    carried over: an update is checked against what is stored, by its service."""
    fields: dict[str, Any] = {}
    for field_name, info in source.model_fields.items():
        if field_name in exclude:
            continue
        inner: Any = (
            Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        )
        if _admits_none(info.annotation):
            fields[field_name] = (inner | None, Field(default=None, description=info.description))
        else:
            fields[field_name] = (
                Annotated[inner | None, AfterValidator(refuse_null)],
                Field(default=None, description=info.description, json_schema_extra=_not_null),
            )
    model = create_model(name, __base__=StrictModel, __doc__=doc or None, **fields)
    model.__module__ = source.__module__
    return model


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_date_only(value: object) -> object:
    """A date as ISO text (``2027-03-01``) or a date: never a number, which pydantic
    would read as seconds since 1970 (``"held_on": 0`` was 1970-01-01)."""
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.match(value.strip())):
        return value
    raise PydanticCustomError("date_parsing", "Input should be a date written as YYYY-MM-DD")


def _iso_datetime_only(value: object) -> object:
    """A moment as ISO text (``2027-03-01T09:00:00+07:00``) or a datetime: never a number."""
    if isinstance(value, datetime) or (
        isinstance(value, str) and _ISO_DATETIME.match(value.strip())
    ):
        return value
    raise PydanticCustomError(
        "datetime_parsing", "Input should be a moment written as YYYY-MM-DDTHH:MM:SS±HH:MM"
    )


# The dates and moments request schemas take: ISO text only (numbers and digit strings,
# which pydantic would otherwise take as a Unix time, are refused naming the field).
StrictDate = Annotated[date, BeforeValidator(_iso_date_only)]
StrictAwareDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_datetime_only)]


# Pydantic's error types, as the message keys people read (Thai and English, in the
# portal's messages and in import reports): never pydantic's own English sentences.
REASONS = {
    "missing": "required",
    "string_too_short": "required",
    "too_short": "required",
    "string_too_long": "too_long",
    "too_long": "too_many",
    "int_parsing": "not_a_number",
    "float_parsing": "not_a_number",
    "bool_not_number": "not_a_number",
    "int_from_float": "not_a_whole_number",
    "greater_than_equal": "too_small",
    "greater_than": "too_small",
    "less_than_equal": "too_large",
    "less_than": "too_large",
    "url_parsing": "bad_url",
    "url_scheme": "bad_url",
    "url_type": "bad_url",
    "value_error": "bad_value",
    "enum": "choose_from_list",
    "literal_error": "choose_from_list",
    "date_from_datetime_parsing": "bad_date",
    "date_parsing": "bad_date",
    "datetime_parsing": "bad_date",
    "string_pattern_mismatch": "bad_value",
}


def reason_of(error_type: str) -> str:
    return REASONS.get(error_type, "bad_value")
