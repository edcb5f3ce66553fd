"""The data behind a page's map, in the reader's language: what ``templates/_map.html``
writes into the page as JSON and ``static/map.js`` draws with Leaflet."""

from __future__ import annotations

from typing import Any

from api.i18n import Lang, text_in
from catalog.maps import MappedCity
from core.settings import Settings

REGION_OUTLINE = "/static/map/region.geojson"  # drawn when no tile server is configured


def map_view(cities: list[MappedCity], lang: Lang, settings: Settings) -> dict[str, Any] | None:
    """Cities, their places and listings with names and links, the tile server (if any)
    and the outline of the region; None when nothing can be placed on a map."""
    if not cities:
        return None
    return {
        "tiles": {"url": settings.map_tile_url, "attribution": settings.map_tile_attribution},
        "region": REGION_OUTLINE,
        "cities": [
            {
                "name": text_in(city.name_th, city.name_en, lang),
                "href": f"/cities/{city.slug}",
                "lat": city.lat,
                "lon": city.lon,
                "places": [
                    {
                        "name": text_in(place.name_th, place.name_en, lang)
                        if place.block_slug
                        else None,
                        "lat": place.lat,
                        "lon": place.lon,
                        "boundary": place.boundary,
                        "listings": [
                            {
                                "title": text_in(listing.title_th, listing.title_en, lang),
                                "href": f"/listings/{listing.slug}",
                            }
                            for listing in place.listings
                        ],
                    }
                    for place in city.places
                ],
            }
            for city in cities
        ],
    }
