"""Static files: a content hash in every URL, gzip done once, cached by browsers for a year."""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import threading
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

STATIC = Path(__file__).resolve().parents[1] / "static"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"  # an unversioned URL: the browser asks again, an ETag makes it cheap
COMPRESSIBLE = (".js", ".css", ".json", ".geojson", ".svg", ".html", ".txt", ".csv")
MEDIA_TYPES = {".geojson": "application/geo+json", ".js": "text/javascript; charset=utf-8"}
NOT_FOUND = "没有这个文件。"

router = APIRouter()


@dataclass(frozen=True, slots=True)
class Asset:
    digest: str
    body: bytes
    gzipped: bytes | None
    media_type: str


_cache: dict[tuple[Path, float], Asset] = {}
_lock = threading.Lock()


def _load(path: Path) -> Asset:
    """The file's bytes, hash and gzip form; computed once per file version and process."""
    key = (path, path.stat().st_mtime)
    asset = _cache.get(key)
    if asset is not None:
        return asset
    with _lock:
        asset = _cache.get(key)
        if asset is None:
            body = path.read_bytes()
            packed = gzip.compress(body, 9, mtime=0) if path.suffix in COMPRESSIBLE else None
            media = MEDIA_TYPES.get(path.suffix) or (
                mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            )
            if media.startswith("text/") and "charset" not in media:
                media += "; charset=utf-8"
            digest = hashlib.sha256(body).hexdigest()[:12]
            smaller = packed if packed and len(packed) < len(body) else None
            asset = Asset(digest, body, smaller, media)
            _cache[key] = asset
    return asset


def _resolve(name: str) -> Path | None:
    path = (STATIC / name).resolve()
    if not path.is_relative_to(STATIC) or not path.is_file():
        return None
    return path


def asset_url(name: str) -> str:
    """The URL of a static file with its content hash, e.g. /static/app.css?v=3f2a1b9c0d1e."""
    path = _resolve(name)
    if path is None:
        raise FileNotFoundError(f"no static file {name!r}")
    return f"/static/{name}?v={_load(path).digest}"


@router.get("/static/{name:path}", include_in_schema=False)
def static_file(name: str, request: Request, v: str = ""):
    path = _resolve(name)
    if path is None:
        raise HTTPException(404, NOT_FOUND)
    asset = _load(path)
    etag = f'"{asset.digest}"'
    headers = {"ETag": etag, "Vary": "Accept-Encoding"}
    # Only the current version's URL may be kept for ever; an old hash gets today's file.
    headers["Cache-Control"] = IMMUTABLE if v == asset.digest else REVALIDATE
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    body = asset.body
    if asset.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
        body = asset.gzipped
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=asset.media_type, headers=headers)
