"""Console users' and API tokens' lifecycle: disable, enable, reset a password, list, revoke."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlmodel import Session, select

from core.accounts import MIN_PASSWORD, AccountError, hash_password
from models import ApiToken, ConsoleUser

# Readable on a phone and over the telephone: no 0/O, 1/l/I.
PASSWORD_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ"
GENERATED_LENGTH = 12


def find_user(session: Session, username: str) -> ConsoleUser:
    user = session.exec(select(ConsoleUser).where(ConsoleUser.username == username.strip())).first()
    if user is None:
        raise AccountError(f"找不到用户：{username}")
    return user


def end_sessions(user: ConsoleUser) -> None:
    """A new nonce: every session cookie of the user stops working."""
    user.session_nonce = secrets.token_hex(16)


def set_active(session: Session, *, user: ConsoleUser, active: bool) -> None:
    """Disable (sessions and API tokens stop working at once) or enable a user again."""
    user.active = active
    if not active:
        end_sessions(user)
    else:
        user.failed_logins, user.locked_until = 0, None
    session.add(user)


def generated_password() -> str:
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(GENERATED_LENGTH))


def reset_password(session: Session, *, user: ConsoleUser, password: str) -> None:
    """Set a new password, end every session and lift a lock-out."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"密码至少 {MIN_PASSWORD} 位")
    user.password_hash = hash_password(password)
    user.failed_logins, user.locked_until = 0, None
    end_sessions(user)
    session.add(user)


def token_rows(session: Session, *, user_condition=None) -> list:
    """Tokens with their owner's username, newest first (optionally only some users')."""
    query = (
        select(ApiToken, ConsoleUser.username, ConsoleUser.school_id)
        .join(ConsoleUser, ConsoleUser.id == ApiToken.user_id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    if user_condition is not None:
        query = query.where(user_condition)
    return list(session.execute(query).all())


def token_state(token: ApiToken, now: datetime) -> str:
    """有效 / 已撤销 / 已过期, as lists show it."""
    if token.revoked:
        return "已撤销"
    if token.expires_at is None or token.expires_at <= now:
        return "已过期"
    return "有效"


def revoke_token(session: Session, *, token: ApiToken, now: datetime) -> bool:
    """Revoke a token at once; False when it already was."""
    if token.revoked:
        return False
    token.revoked, token.revoked_at = True, now
    session.add(token)
    return True
