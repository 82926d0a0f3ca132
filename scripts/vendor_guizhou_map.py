"""Vendor Guizhou's prefecture map: echarts@4.9.0's map/json/province/guizhou.json as GeoJSON.

    npm pack echarts@4.9.0 && tar xzf echarts-4.9.0.tgz package/map/json/province/guizhou.json
    python scripts/vendor_guizhou_map.py package/map/json/province/guizhou.json

ECharts stores its maps quantised and delta-encoded in strings ("UTF8Encoding"); this writes
the same shapes as plain GeoJSON (RFC 7946) to api/static/vendor/guizhou.geojson, so any tool
can read them. The licence and provenance are in api/static/vendor/LICENSES.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "api" / "static" / "vendor" / "guizhou.geojson"


def _ring(encoded: str, offsets: list[int], scale: float) -> list[list[float]]:
    # ECharts' decodeRing: each pair of characters is a zig-zag delta from the previous point.
    x, y = offsets
    out = []
    for i in range(0, len(encoded), 2):
        dx, dy = ord(encoded[i]) - 64, ord(encoded[i + 1]) - 64
        x += (dx >> 1) ^ -(dx & 1)
        y += (dy >> 1) ^ -(dy & 1)
        out.append([round(x / scale, 5), round(y / scale, 5)])
    if out and out[0] != out[-1]:
        out.append(out[0])  # GeoJSON rings are closed
    return out


def decode(data: dict) -> dict:
    scale = data.get("UTF8Scale", 1024)
    features = []
    for f in data["features"]:
        geom = f["geometry"]
        coords, offsets = geom["coordinates"], geom["encodeOffsets"]
        if geom["type"] == "Polygon":
            rings = [_ring(c, o, scale) for c, o in zip(coords, offsets, strict=True)]
        else:  # MultiPolygon
            rings = [
                [_ring(c, o, scale) for c, o in zip(poly, offs, strict=True)]
                for poly, offs in zip(coords, offsets, strict=True)
            ]
        props = {"adcode": f["id"], "name": f["properties"]["name"]}
        props["center"] = f["properties"]["cp"]
        features.append(
            {
                "type": "Feature",
                "properties": props,
                "geometry": {"type": geom["type"], "coordinates": rings},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def main(path: str) -> None:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not data.get("UTF8Encoding"):
        raise SystemExit("expected an ECharts-encoded map (UTF8Encoding)")
    OUT.write_text(json.dumps(decode(data), ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main(sys.argv[1])
