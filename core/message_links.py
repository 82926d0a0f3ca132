"""Links to one pushed message (GET /m/<token>): signed, expiring, readable without login.

A template message shows at most a few 20-character fields; its link opens the full text. The
token names one outbox row and its expiry, signed with the server's key, so it cannot be
changed to read another message, and it stops working after `wechat.link_days`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy.engine import Engine

from core.settings import Settings
from models.secrets import shared_secret

SALT = "shixi-message-link"
KEY_NAME = "message_link_key"  # the generated key, when server.secret_key is empty
MAX_TOKEN = 100  # longer is not ours
SIGNATURE_BYTES = 16  # 128 bits of HMAC-SHA256: as hard to forge as to guess the key


class LinkRefused(Exception):
    """A token that is not ours (`expired` False) or is past its expiry (`expired` True)."""

    def __init__(self, *, expired: bool):
        super().__init__("expired" if expired else "forged")
        self.expired = expired


def link_key(settings: Settings, engine: Engine) -> str:
    """The signing key: server.secret_key, else one generated and kept in the database."""
    return settings.server.secret_key or shared_secret(engine, KEY_NAME)


@lru_cache(maxsize=4)
def _derived(key: str) -> bytes:
    """A key for these links only, so a token is never valid as anything else."""
    return hmac.new(key.encode(), SALT.encode(), hashlib.sha256).digest()


def _signature(key: str, body: str) -> str:
    mac = hmac.new(_derived(key), body.encode(), hashlib.sha256).digest()[:SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def make_token(key: str, message_id: int, expires_at: datetime) -> str:
    """<id>.<expiry, epoch seconds>.<HMAC-SHA256 of both>: short, URL-safe, cheap to sign."""
    body = f"{int(message_id)}.{int(expires_at.timestamp())}"
    return f"{body}.{_signature(key, body)}"


def read_token(key: str, token: str, now: datetime) -> int:
    """The outbox id a token names; LinkRefused when forged, malformed or expired."""
    parts = token.split(".") if len(token) <= MAX_TOKEN else []
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts[:2]):
        raise LinkRefused(expired=False)
    body = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_signature(key, body), parts[2]):
        raise LinkRefused(expired=False)
    if now.timestamp() >= int(parts[1]):
        raise LinkRefused(expired=True)
    return int(parts[0])


def message_url(settings: Settings, key: str, message_id: int, now: datetime) -> str:
    """<public_url>/m/<token>, or '' when the server's public address is not configured."""
    base = settings.server.public_url.rstrip("/")
    if not base:
        return ""
    expires_at = now + timedelta(days=settings.wechat.link_days)
    return f"{base}/m/{make_token(key, message_id, expires_at)}"
