"""Where listings go on a map: at the centre of their smart block when the city drew the
block's boundary, else at the city centre; grouped by city, then by place within it.

A boundary is GeoJSON typed by whoever loaded the city: it is checked here (a Polygon or
MultiPolygon of longitude-latitude pairs) and one that is not is left off the map rather
than handed to a browser to fail on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import select as sql_select
from sqlmodel import Session, col

from catalog.models import City, Listing, SmartBlock
from core.db import read_rows

Ring = list[tuple[float, float]]  # (lon, lat) pairs, first and last the same


@dataclass(frozen=True, slots=True)
class MappedListing:
    slug: str
    title_th: str
    title_en: str


@dataclass(slots=True)
class Place:
    """A point on the map: a smart block's centre, or the city centre (``block_slug``
    None), with the listings there."""

    lat: float
    lon: float
    block_slug: str | None = None
    name_th: str = ""
    name_en: str = ""
    boundary: dict[str, Any] | None = None  # a checked Polygon or MultiPolygon
    listings: list[MappedListing] = field(default_factory=list)


@dataclass(slots=True)
class MappedCity:
    slug: str
    name_th: str
    name_en: str
    lat: float
    lon: float
    places: list[Place] = field(default_factory=list)

    @property
    def listing_count(self) -> int:
        return sum(len(place.listings) for place in self.places)


_PLACE_COLUMNS: tuple[Any, ...] = (
    col(Listing.id).label("id"),
    col(Listing.slug).label("slug"),
    col(Listing.title_th).label("title_th"),
    col(Listing.title_en).label("title_en"),
    col(City.slug).label("city_slug"),
    col(City.name_th).label("city_name_th"),
    col(City.name_en).label("city_name_en"),
    col(City.lat).label("city_lat"),
    col(City.lon).label("city_lon"),
    col(SmartBlock.slug).label("block_slug"),
    col(SmartBlock.name_th).label("block_name_th"),
    col(SmartBlock.name_en).label("block_name_en"),
    col(SmartBlock.boundary).label("boundary"),
)
_PLACES_SQL = (
    sql_select(*_PLACE_COLUMNS)
    .join(City, col(City.id) == Listing.city_id)
    .outerjoin(SmartBlock, col(SmartBlock.id) == Listing.smart_block_id)
    .where(col(Listing.id).in_(bindparam("ids", expanding=True)))
)


def _position(value: Any) -> tuple[float, float] | None:
    if not isinstance(value, list | tuple) or len(value) < 2:
        return None
    lon, lat = value[0], value[1]
    if isinstance(lon, bool) or isinstance(lat, bool):
        return None
    if not isinstance(lon, int | float) or not isinstance(lat, int | float):
        return None
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        return None
    return float(lon), float(lat)


def _polygon(value: Any) -> list[Ring] | None:
    """The rings of one GeoJSON polygon (outer first), or None if it is not one."""
    if not isinstance(value, list) or not value:
        return None
    rings = []
    for raw in value:
        if not isinstance(raw, list) or len(raw) < 4:
            return None
        ring = [_position(p) for p in raw]
        if any(p is None for p in ring) or ring[0] != ring[-1]:
            return None
        rings.append([p for p in ring if p is not None])
    return rings


def boundary_polygons(boundary: Any) -> list[list[Ring]] | None:
    """The polygons of a GeoJSON Polygon or MultiPolygon geometry (or a Feature holding
    one), or None when ``boundary`` is anything else."""
    if isinstance(boundary, dict) and boundary.get("type") == "Feature":
        boundary = boundary.get("geometry")
    if not isinstance(boundary, dict):
        return None
    kind, coordinates = boundary.get("type"), boundary.get("coordinates")
    if kind == "Polygon":
        polygon = _polygon(coordinates)
        return [polygon] if polygon else None
    if kind == "MultiPolygon" and isinstance(coordinates, list) and coordinates:
        polygons = [_polygon(p) for p in coordinates]
        return None if any(p is None for p in polygons) else [p for p in polygons if p]
    return None


def centroid(polygons: list[list[Ring]]) -> tuple[float, float]:
    """The area-weighted centre (lat, lon) of the outer rings; the mean of their corners
    when they enclose no area. Plane geometry on degrees: a smart block is a few hundred
    metres across."""
    area = cx = cy = 0.0
    corners: Ring = []
    for polygon in polygons:
        ring = polygon[0]
        corners.extend(ring[:-1])
        for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False):
            cross = x0 * y1 - x1 * y0
            area += cross
            cx += (x0 + x1) * cross
            cy += (y0 + y1) * cross
    if abs(area) < 1e-12:
        return (
            sum(lat for _, lat in corners) / len(corners),
            sum(lon for lon, _ in corners) / len(corners),
        )
    return cy / (3 * area), cx / (3 * area)


def _as_geometry(polygons: list[list[Ring]]) -> dict[str, Any]:
    coordinates = [[[list(p) for p in ring] for ring in polygon] for polygon in polygons]
    if len(coordinates) == 1:
        return {"type": "Polygon", "coordinates": coordinates[0]}
    return {"type": "MultiPolygon", "coordinates": coordinates}


def mapped_cities(
    session: Session, listing_ids: Sequence[int], *, boundaries: bool = False
) -> list[MappedCity]:
    """The listings ``listing_ids`` names, by city and place, in the order of their first
    listing; a listing whose city has no coordinates and whose block has no boundary is
    left out (the page's list still shows it). ``boundaries``: keep each block's checked
    outline, for a map zoomed in enough to draw it. The caller has already decided that
    the reader may see these listings."""
    if not listing_ids:
        return []
    rows = {
        row["id"]: row
        for row in read_rows(session, _PLACES_SQL, {"ids": list(listing_ids)}).mappings()
    }
    cities: dict[str, MappedCity] = {}
    places: dict[tuple[str, str | None], Place] = {}
    for listing_id in listing_ids:
        row = rows.get(listing_id)
        if row is None:
            continue
        polygons = boundary_polygons(row["boundary"]) if row["block_slug"] else None
        if polygons:
            lat, lon = centroid(polygons)
            key = (row["city_slug"], row["block_slug"])
        elif row["city_lat"] is not None and row["city_lon"] is not None:
            lat, lon = row["city_lat"], row["city_lon"]
            key = (row["city_slug"], None)
        else:
            continue
        city = cities.get(row["city_slug"])
        if city is None:
            city = cities[row["city_slug"]] = MappedCity(
                slug=row["city_slug"],
                name_th=row["city_name_th"],
                name_en=row["city_name_en"],
                lat=row["city_lat"] if row["city_lat"] is not None else math.nan,
                lon=row["city_lon"] if row["city_lon"] is not None else math.nan,
            )
        place = places.get(key)
        if place is None:
            place = places[key] = Place(lat=lat, lon=lon)
            if key[1] is not None:
                place.block_slug = key[1]
                place.name_th, place.name_en = row["block_name_th"], row["block_name_en"]
                if boundaries and polygons:
                    place.boundary = _as_geometry(polygons)
            city.places.append(place)
        place.listings.append(MappedListing(row["slug"], row["title_th"], row["title_en"]))
    for city in cities.values():
        if math.isnan(city.lat):  # no city centre: the middle of its places
            city.lat = sum(p.lat for p in city.places) / len(city.places)
            city.lon = sum(p.lon for p in city.places) / len(city.places)
    return list(cities.values())
