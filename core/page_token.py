"""Signed links to the check-in page (SPEC 11): one student's chat, valid for minutes.

`/checkin?t=<token>`: the token names the chat (channel, user) and the student it was issued
to, and when it expires, signed with HMAC-SHA256; nothing else is trusted from the page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

PAGE_KEY_NAME = "checkin_page_key"  # the shared secret's name (models.secrets)
MAX_TOKEN_CHARS = 400


@dataclass(frozen=True, slots=True)
class PageToken:
    channel: str
    user_id: str
    student_id: int
    expires: int  # unix seconds


class TokenError(ValueError):
    """Why a token is refused: `reason` is "expired" or "invalid"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def derive_key(secret: str) -> str:
    """The page-link key from a general secret (its own purpose: a session key is not reused)."""
    return hmac.new(secret.encode(), b"shixi-checkin-page", hashlib.sha256).hexdigest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _mac(key: str, body: str) -> str:
    return _b64(hmac.new(key.encode(), body.encode(), hashlib.sha256).digest()[:18])


def issue(key: str, *, channel: str, user_id: str, student_id: int, now: datetime, ttl: timedelta):
    """A token for this chat's student, valid until now + ttl."""
    payload = [channel, user_id, student_id, int((now + ttl).timestamp())]
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    return f"{body}.{_mac(key, body)}"


def read(key: str, token: str, *, now: datetime) -> PageToken:
    """The token's content; raises TokenError (invalid before expired: a forged token is not
    told whether it would have expired)."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        raise TokenError("invalid")
    body, _, mac = token.partition(".")
    if not hmac.compare_digest(_mac(key, body), mac):
        raise TokenError("invalid")
    try:
        channel, user_id, student_id, expires = json.loads(
            base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        )
        found = PageToken(str(channel), str(user_id), int(student_id), int(expires))
    except (ValueError, TypeError):
        raise TokenError("invalid") from None
    if now.timestamp() > found.expires:
        raise TokenError("expired")
    return found
