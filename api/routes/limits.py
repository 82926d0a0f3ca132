"""Reading webhook bodies without trusting their size."""

from __future__ import annotations

from fastapi import Request
from starlette.types import Receive, Scope


class BodyTooLarge(Exception):
    """The request body is over the limit; answer 413."""


class ClientGone(Exception):
    """The client disconnected before its body was read whole."""


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


async def receive_capped(scope: Scope, receive: Receive, limit: int) -> bytes:
    """read_capped for a plain ASGI app: the same checks straight on the scope and messages."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            if value.isdigit() and int(value) > limit:
                raise BodyTooLarge
            break
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
