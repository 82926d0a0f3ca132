"""Datum transforms against published pairs, round trips, and the fence distance."""

from __future__ import annotations

import pytest
from geopy.distance import geodesic, great_circle

from core.geo import (
    bd09_to_gcj02,
    distance_m,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    to_gcj02,
    wgs84_to_gcj02,
)

# Published results of wandergis/coordtransform (test/app.js) for the input (39.915, 116.404).
POINT = (39.915, 116.404)
PUBLISHED = {
    "wgs84_to_gcj02": (39.91640428150164, 116.41024449916938),
    "bd09_to_gcj02": (39.90865673957631, 116.39762729119315),
    "gcj02_to_bd09": (39.92133699351021, 116.41036949371029),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_transforms_match_published_pairs(name):
    fn = {
        "wgs84_to_gcj02": wgs84_to_gcj02,
        "bd09_to_gcj02": bd09_to_gcj02,
        "gcj02_to_bd09": gcj02_to_bd09,
    }[name]
    assert fn(*POINT) == pytest.approx(PUBLISHED[name], abs=1e-9)


def test_tiananmen_wgs84_to_gcj02_moves_about_600_metres_east():
    gcj = wgs84_to_gcj02(39.908, 116.397)
    assert gcj == pytest.approx((39.9094, 116.4032), abs=1e-4)
    assert 500 < distance_m((39.908, 116.397), gcj) < 700


@pytest.mark.parametrize("point", [(26.5783, 106.7135), (39.908, 116.397), (22.54, 114.06)])
def test_gcj02_wgs84_round_trip_is_within_half_a_metre(point):
    back = wgs84_to_gcj02(*gcj02_to_wgs84(*point))
    assert distance_m(back, point) < 0.5


def test_bd09_round_trip_is_within_half_a_metre():
    point = (26.5783, 106.7135)
    assert distance_m(bd09_to_gcj02(*gcj02_to_bd09(*point)), point) < 0.5


def test_guiyang_datums_differ_by_about_540_metres():
    workplace = (26.5783, 106.7135)
    assert 500 < distance_m(gcj02_to_wgs84(*workplace), workplace) < 600


def test_points_outside_china_are_not_shifted():
    assert wgs84_to_gcj02(48.8566, 2.3522) == (48.8566, 2.3522)


def test_unknown_datum_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown datum"):
        to_gcj02(26.5, 106.7, "utm")


@pytest.mark.parametrize(
    "a, b",
    [((26.5783, 106.7135), (26.5801, 106.7152)), ((39.908, 116.397), (39.9094, 116.4032)),
     ((22.54, 114.06), (22.54, 114.07)), ((45.75, 126.63), (45.7, 126.6))],
)  # fmt: skip
def test_fence_distance_is_geopys_great_circle_and_near_the_geodesic(a, b):
    assert distance_m(a, b) == pytest.approx(great_circle(a, b).m, abs=1e-3)
    assert distance_m(a, b) == pytest.approx(geodesic(a, b).m, rel=5e-3)
