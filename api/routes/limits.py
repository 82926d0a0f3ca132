"""Reading webhook bodies without trusting their size."""

from __future__ import annotations

from fastapi import Request


class BodyTooLarge(Exception):
    """The request body is over the limit; answer 413."""


async def read_capped(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it is known to exceed `limit` bytes (never read whole)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)
