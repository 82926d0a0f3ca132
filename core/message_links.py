"""Links to one pushed message (GET /m/<token>): signed, expiring, readable without login.

A template message shows at most a few 20-character fields; its link opens the full text. The
token names one outbox row and its expiry, signed with the server's key, so it cannot be
changed to read another message, and it stops working after `wechat.link_days`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.engine import Engine

from core.settings import Settings
from models.secrets import shared_secret

SALT = "shixi-message-link"
KEY_NAME = "message_link_key"  # the generated key, when server.secret_key is empty
MAX_TOKEN = 300  # longer is not ours


class LinkRefused(Exception):
    """A token that is not ours (`expired` False) or is past its expiry (`expired` True)."""

    def __init__(self, *, expired: bool):
        super().__init__("expired" if expired else "forged")
        self.expired = expired


def link_key(settings: Settings, engine: Engine) -> str:
    """The signing key: server.secret_key, else one generated and kept in the database."""
    return settings.server.secret_key or shared_secret(engine, KEY_NAME)


def make_token(key: str, message_id: int, expires_at: datetime) -> str:
    return URLSafeSerializer(key, salt=SALT).dumps([message_id, int(expires_at.timestamp())])


def read_token(key: str, token: str, now: datetime) -> int:
    """The outbox id a token names; LinkRefused when forged, malformed or expired."""
    if len(token) > MAX_TOKEN:
        raise LinkRefused(expired=False)
    try:
        payload = URLSafeSerializer(key, salt=SALT).loads(token)
        message_id, expires = int(payload[0]), int(payload[1])
    except (BadSignature, ValueError, TypeError, IndexError, KeyError):
        raise LinkRefused(expired=False) from None
    if now.timestamp() >= expires:
        raise LinkRefused(expired=True)
    return message_id


def message_url(settings: Settings, key: str, message_id: int, now: datetime) -> str:
    """<public_url>/m/<token>, or '' when the server's public address is not configured."""
    base = settings.server.public_url.rstrip("/")
    if not base:
        return ""
    expires_at = now + timedelta(days=settings.wechat.link_days)
    return f"{base}/m/{make_token(key, message_id, expires_at)}"
