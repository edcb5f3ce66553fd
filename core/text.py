"""String types for untrusted text: trimmed, bounded, and free of bytes databases refuse."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

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

Slug = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", min_length=1, max_length=80),
]
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), _Clean
]
OptionalTitle = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), _Clean]
Summary = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=600), _Clean
]
OptionalSummary = Annotated[str, StringConstraints(strip_whitespace=True, max_length=600), _Clean]
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000), _Clean
]
OptionalDescription = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=20_000), _Clean
]
Line = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300), _Clean]
