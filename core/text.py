"""String types for untrusted text: trimmed, bounded, and free of bytes databases refuse."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, GetJsonSchemaHandler, StringConstraints
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

# C0 controls except tab/newline/carriage return: PostgreSQL refuses NUL outright and the
# rest are never meaningful in a listing.
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: str) -> str:
    """Reject control characters and lone surrogates; return the text unchanged."""
    if _FORBIDDEN.search(value):
        raise ValueError("control characters (such as NUL) are not allowed")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from exc
    return value


_Clean = AfterValidator(clean_text)

# What ``clean_text`` (and trimming) accept, told to the JSON schema so that the spec
# offers no text the app refuses: no control characters and, where text is required,
# something besides white space. (Lone surrogates, refused too, cannot be written in a
# pattern test tools read.)
_ALLOWED = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_VISIBLE = r"[^\s\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
CLEAN_PATTERN = f"^{_ALLOWED}*$"
PRESENT_PATTERN = f"^{_ALLOWED}*{_VISIBLE}{_ALLOWED}*$"


@dataclass(frozen=True)
class _Pattern:
    """A ``pattern`` in the JSON schema only (the validators above do the checking)."""

    pattern: str

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema: dict[str, Any] = handler(core_schema)
        schema["pattern"] = self.pattern
        return schema


CLEAN_TEXT = _Pattern(CLEAN_PATTERN)
SOME_TEXT = _Pattern(PRESENT_PATTERN)

Slug = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", min_length=1, max_length=80),
]
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), _Clean, SOME_TEXT
]
OptionalTitle = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=200), _Clean, CLEAN_TEXT
]
Summary = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=600), _Clean, SOME_TEXT
]
OptionalSummary = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=600), _Clean, CLEAN_TEXT
]
Description = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000),
    _Clean,
    SOME_TEXT,
]
OptionalDescription = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=20_000), _Clean, CLEAN_TEXT
]
Line = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300), _Clean, CLEAN_TEXT]
