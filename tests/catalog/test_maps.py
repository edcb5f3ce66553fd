"""Where a listing goes on a map: the checks of a smart block's boundary and its centre."""

from __future__ import annotations

from typing import Any

import pytest

from catalog.maps import boundary_polygons, centroid

SQUARE = [[100.13, 15.69], [100.14, 15.69], [100.14, 15.70], [100.13, 15.70], [100.13, 15.69]]


def test_the_centre_of_a_square_is_its_middle() -> None:
    polygons = boundary_polygons({"type": "Polygon", "coordinates": [SQUARE]})
    assert polygons is not None
    lat, lon = centroid(polygons)
    assert lat == pytest.approx(15.695)
    assert lon == pytest.approx(100.135)


def test_the_centre_weighs_area_not_corners() -> None:
    # Many corners bunched on one short side would pull a mean of corners towards it.
    ring = [[0.0, 0.0], [4.0, 0.0], [4.0, 2.0], [0.1, 2.0], [0.05, 2.0], [0.0, 2.0], [0.0, 0.0]]
    polygons = boundary_polygons({"type": "Polygon", "coordinates": [ring]})
    assert polygons is not None
    assert centroid(polygons) == pytest.approx((1.0, 2.0))


def test_a_multipolygon_is_centred_on_all_its_parts() -> None:
    west = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]
    east = [[3.0, 0.0], [4.0, 0.0], [4.0, 1.0], [3.0, 1.0], [3.0, 0.0]]
    polygons = boundary_polygons({"type": "MultiPolygon", "coordinates": [[west], [east]]})
    assert polygons is not None
    assert len(polygons) == 2
    assert centroid(polygons) == pytest.approx((0.5, 2.0))


def test_a_feature_holding_a_polygon_is_read() -> None:
    feature = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [SQUARE]}}
    assert boundary_polygons(feature) is not None


def test_a_ring_enclosing_no_area_is_centred_on_its_corners() -> None:
    line = [[1.0, 1.0], [3.0, 1.0], [1.0, 1.0], [3.0, 1.0], [1.0, 1.0]]
    polygons = boundary_polygons({"type": "Polygon", "coordinates": [line]})
    assert polygons is not None
    assert centroid(polygons) == pytest.approx((1.0, 2.0))


@pytest.mark.parametrize(
    "boundary",
    [
        None,
        "POLYGON((100 15, 101 15, 101 16, 100 15))",
        {"type": "Point", "coordinates": [100.1, 15.7]},
        {"type": "Polygon"},
        {"type": "Polygon", "coordinates": []},
        {"type": "Polygon", "coordinates": "nonsense"},
        {"type": "Polygon", "coordinates": [SQUARE[:-1]]},  # not closed
        {"type": "Polygon", "coordinates": [SQUARE[:2] + SQUARE[:1]]},  # too few corners
        {
            "type": "Polygon",
            "coordinates": [[["100.13", "15.69"], *SQUARE[1:-1], ["100.13", "15.69"]]],
        },
        {"type": "Polygon", "coordinates": [[[True, False], *SQUARE[1:-1], [True, False]]]},
        {"type": "Polygon", "coordinates": [[[100.13, 95.0], *SQUARE[1:-1], [100.13, 95.0]]]},
        {
            "type": "Polygon",
            "coordinates": [[[float("inf"), 1.0], *SQUARE[1:-1], [float("inf"), 1.0]]],
        },
        {"type": "MultiPolygon", "coordinates": [[SQUARE], "nonsense"]},
        {"type": "Feature", "geometry": None},
    ],
)
def test_anything_but_a_polygon_is_refused(boundary: Any) -> None:
    assert boundary_polygons(boundary) is None
