"""Reference geography: Thailand's 77 provinces from the Department of Provincial
Administration's list (shipped in the ``geothai`` package) with their regions."""

from __future__ import annotations

from functools import cache

import geothai
from sqlmodel import Session, select

from catalog.models import Province
from catalog.taxonomy import Label, Region

# The first digit of an official province code groups provinces by the Ministry of
# Interior's regions; the six-region system differs for a few codes, listed here.
_REGION_BY_FIRST_DIGIT = {
    "1": Region.central,
    "2": Region.east,
    "3": Region.northeast,
    "4": Region.northeast,
    "5": Region.north,
    "6": Region.north,
    "7": Region.west,
    "8": Region.south,
    "9": Region.south,
}
_REGION_EXCEPTIONS = {
    "26": Region.central,  # Nakhon Nayok
    "63": Region.west,  # Tak
    "72": Region.central,  # Suphan Buri
    "73": Region.central,  # Nakhon Pathom
    "74": Region.central,  # Samut Sakhon
    "75": Region.central,  # Samut Songkhram
}


@cache
def province_codes() -> frozenset[str]:
    """The official codes of Thailand's 77 provinces."""
    return frozenset(p.code for p in geothai.provinces())


@cache
def province_labels() -> dict[str, Label]:
    """Thai and English names by official code: reference data shipped with the code (the
    province table is kept equal to it by ``sync_provinces``), so no query is needed."""
    return {p.code: Label(p.name_th, p.name_en) for p in geothai.provinces()}


def known_province(code: str) -> str:
    """``code`` if it is an official province code; a validation error otherwise."""
    if code not in province_codes():
        raise ValueError(f"'{code}' is not a Thai province code")
    return code


def region_of(province_code: str) -> Region:
    """The six-region classification of a province code."""
    return _REGION_EXCEPTIONS.get(province_code) or _REGION_BY_FIRST_DIGIT[province_code[0]]


def sync_provinces(session: Session) -> int:
    """Insert or correct all 77 provinces; returns how many rows changed."""
    existing = {p.code: p for p in session.exec(select(Province))}
    changed = 0
    for source in geothai.provinces():
        wanted = Province(
            code=source.code,
            name_th=source.name_th,
            name_en=source.name_en,
            region=region_of(source.code),
        )
        current = existing.get(source.code)
        if current is None:
            session.add(wanted)
            changed += 1
        elif (current.name_th, current.name_en, current.region) != (
            wanted.name_th,
            wanted.name_en,
            wanted.region,
        ):
            current.name_th, current.name_en, current.region = (
                wanted.name_th,
                wanted.name_en,
                wanted.region,
            )
            changed += 1
    session.flush()
    return changed
