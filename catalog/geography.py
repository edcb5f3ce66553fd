"""Geography: Thailand's 77 provinces from the Department of Provincial Administration's
list (shipped in the ``geothai`` package) with their regions, and the programme's cities
and smart blocks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import cache

import geothai
from sqlmodel import Session, col, select

from catalog.models import City, Province, SmartBlock
from catalog.schemas import CityPublic, ProvincePublic, SmartBlockPublic
from catalog.taxonomy import CityKind, Label, Region
from core.db import read_rows
from core.errors import InvalidInput, NotFound

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


# --- places in the programme ----------------------------------------------------------


def get_city(session: Session, *, slug: str, field: str = "city") -> City:
    """The city with this slug, or a 422 naming ``field``."""
    city = session.exec(select(City).where(City.slug == slug)).first()
    if city is None:
        raise InvalidInput(f"unknown city '{slug}'", field=field)
    return city


def get_smart_block(session: Session, *, slug: str, field: str = "smart_block") -> SmartBlock:
    """The smart block with this slug, or a 422 naming ``field``."""
    block = session.exec(select(SmartBlock).where(SmartBlock.slug == slug)).first()
    if block is None:
        raise InvalidInput(f"unknown smart block '{slug}'", field=field)
    return block


_CITY_NAMES_SQL = select(City.slug, City.name_th, City.name_en)


def place_names(session: Session) -> tuple[dict[str, Label], dict[str, Label]]:
    """Thai and English names of every province (by code) and city (by slug)."""
    provinces = province_labels()
    cities = {slug: Label(th, en) for slug, th, en in read_rows(session, _CITY_NAMES_SQL)}
    return provinces, cities


def list_provinces(session: Session) -> list[ProvincePublic]:
    """All provinces ordered by official code."""
    rows = session.exec(select(Province).order_by(col(Province.code)))
    return [ProvincePublic.model_validate(p, from_attributes=True) for p in rows]


def list_cities(session: Session) -> list[CityPublic]:
    """All cities in the programme with their smart blocks, ordered by English name."""
    cities = session.exec(select(City).order_by(col(City.name_en))).all()
    return _cities_public(session, cities)


def city_public(session: Session, *, slug: str) -> CityPublic:
    """One city's public profile, or 404."""
    city = session.exec(select(City).where(City.slug == slug)).first()
    if city is None:
        raise NotFound(f"no city '{slug}'", field="slug")
    return _cities_public(session, [city])[0]


def _cities_public(session: Session, cities: Sequence[City]) -> list[CityPublic]:
    city_ids = [c.id for c in cities]
    provinces = {p.code: p for p in session.exec(select(Province))}
    blocks: dict[int, list[SmartBlock]] = defaultdict(list)
    for block in session.exec(
        select(SmartBlock).where(col(SmartBlock.city_id).in_(city_ids)).order_by(col(SmartBlock.id))
    ):
        blocks[block.city_id].append(block)
    return [
        CityPublic(
            slug=c.slug,
            name_th=c.name_th,
            name_en=c.name_en,
            kind=CityKind(c.kind),
            province=ProvincePublic.model_validate(
                provinces[c.province_code], from_attributes=True
            ),
            is_pilot=c.is_pilot,
            is_charter_member=c.is_charter_member,
            lat=c.lat,
            lon=c.lon,
            profile_th=c.profile_th,
            profile_en=c.profile_en,
            smart_blocks=[
                SmartBlockPublic.model_validate(b, from_attributes=True) for b in blocks[c.id or 0]
            ],
        )
        for c in cities
    ]
