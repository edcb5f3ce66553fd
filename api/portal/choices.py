"""What the portal's forms offer to choose from, named in the reader's language."""

from __future__ import annotations

from sqlmodel import Session

from api import i18n
from api.i18n import Lang
from catalog.geography import place_names
from catalog.taxonomy import SECTOR_LABELS, Sector


def province_choices(session: Session, lang: Lang) -> list[tuple[str, str]]:
    """Every province as (code, name), by name."""
    provinces, _cities = place_names(session)
    return sorted(
        ((code, i18n.pick(label, lang)) for code, label in provinces.items()),
        key=lambda item: item[1],
    )


def sector_choices(lang: Lang) -> list[tuple[str, str]]:
    """Every sector as (value, name), in the taxonomy's order."""
    return [(s.value, i18n.pick(SECTOR_LABELS[s], lang)) for s in Sector]
