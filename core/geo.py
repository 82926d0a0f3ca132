"""Datums and fences: every point is normalised to GCJ-02 before a distance is taken.

WeChat sends GCJ-02, Telegram WGS-84, Baidu maps BD-09. Converting WGS-84 and BD-09 *to*
GCJ-02 is a closed-form forward transform (the published one), so GCJ-02 is our datum.
"""

from __future__ import annotations

import math

from geographiclib.geodesic import Geodesic

# The WGS-84 ellipsoid's mean radius (2a + b) / 3, geopy's EARTH_RADIUS (6371.009 km), taken
# from geographiclib (geopy's own geodesic engine): importing geopy for it loads its geocoders'
# HTTP clients (requests, aiohttp: ~25 MB in the writer process, which needs neither).
EARTH_RADIUS_M = Geodesic.WGS84.a * (3 - Geodesic.WGS84.f) / 3

DATUMS = ("gcj02", "wgs84", "bd09")
_A = 6378245.0  # Krasovsky 1940 semi-major axis used by GCJ-02
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0


def outside_china(lat: float, lng: float) -> bool:
    return not (72.004 <= lng <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _transform_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lng(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    if outside_china(lat, lng):
        return lat, lng
    dlat = _transform_lat(lng - 105.0, lat - 35.0)
    dlng = _transform_lng(lng - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlng = (dlng * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return lat + dlat, lng + dlng


def gcj02_to_wgs84(lat: float, lng: float) -> tuple[float, float]:
    """Inverse by fixed-point iteration (the forward transform is smooth): error < 1 cm."""
    if outside_china(lat, lng):
        return lat, lng
    wlat, wlng = lat, lng
    for _ in range(10):
        glat, glng = wgs84_to_gcj02(wlat, wlng)
        wlat, wlng = wlat - (glat - lat), wlng - (glng - lng)
    return wlat, wlng


def bd09_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    x, y = lng - 0.0065, lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return z * math.sin(theta), z * math.cos(theta)


def gcj02_to_bd09(lat: float, lng: float) -> tuple[float, float]:
    z = math.sqrt(lng * lng + lat * lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lng) + 0.000003 * math.cos(lng * _X_PI)
    return z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065


def to_gcj02(lat: float, lng: float, datum: str) -> tuple[float, float]:
    """Normalise a point given in `datum` to GCJ-02."""
    if datum == "gcj02":
        return lat, lng
    if datum == "wgs84":
        return wgs84_to_gcj02(lat, lng)
    if datum == "bd09":
        return bd09_to_gcj02(lat, lng)
    raise ValueError(f"unknown datum {datum!r}; expected one of {', '.join(DATUMS)}")


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle metres on the mean sphere: within 0.5 % of the ellipsoid's geodesic, a
    few metres at fence scale, well inside a check-in's own GPS error.

    geopy's great_circle formula (same radius), inlined: it runs on every check-in, and
    building geopy's Point and Distance objects cost several times the arithmetic.
    """
    lat1, lng1, lat2, lng2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    sin1, cos1, sin2, cos2 = math.sin(lat1), math.cos(lat1), math.sin(lat2), math.cos(lat2)
    dlng = lng2 - lng1
    cos_d, sin_d = math.cos(dlng), math.sin(dlng)
    y = math.sqrt((cos2 * sin_d) ** 2 + (cos1 * sin2 - sin1 * cos2 * cos_d) ** 2)
    return EARTH_RADIUS_M * math.atan2(y, sin1 * sin2 + cos1 * cos2 * cos_d)


def valid_point(lat: float, lng: float) -> bool:
    return -90.0 <= lat <= 90.0 and -180.0 <= lng <= 180.0
