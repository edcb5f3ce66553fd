"""Building blocks of every API schema: strict inputs, and update schemas derived from
their create schemas (omitted means unchanged; null only where a value may be cleared)."""

from __future__ import annotations

import types
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model

T = TypeVar("T")


class StrictModel(BaseModel):
    """Input models refuse unknown fields, so a typo is an error instead of a silent no-op."""

    model_config = ConfigDict(extra="forbid")


def refuse_null(value: T) -> T:
    if value is None:
        raise ValueError("may be omitted but not set to null")
    return value


# The one spelling of "may be omitted but not set to null": the default (None) is never
# validated, an explicit null is.
Omittable = Annotated[T | None, AfterValidator(refuse_null)]


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
        optional = (
            inner | None
            if _admits_none(info.annotation)
            else Annotated[inner | None, AfterValidator(refuse_null)]
        )
        fields[field_name] = (optional, Field(default=None, description=info.description))
    model = create_model(name, __base__=StrictModel, __doc__=doc or None, **fields)
    model.__module__ = source.__module__
    return model


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
    "string_pattern_mismatch": "bad_value",
}


def reason_of(error_type: str) -> str:
    return REASONS.get(error_type, "bad_value")
