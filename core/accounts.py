"""Console users and API tokens: argon2 password hashes, tokens stored as SHA-256."""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import or_, update
from sqlmodel import Session, select

from models import ApiToken, ConsoleUser, School, Teacher
from models.console import ROLES
from models.types import utcnow

# OWASP's argon2id setting (m=19 MiB, t=2, p=1): as strong as the library's default of 64 MiB,
# t=3, p=4 for guessing, and one lane suits a 2-core server: a sign-in costs ~20 ms, not ~200.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
TOKEN_PREFIX = "sx_"
DEFAULT_TOKEN_DAYS = 90
MIN_PASSWORD = 8


class AccountError(ValueError):
    """A request about console accounts that cannot be carried out; the message says why."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """A hash made with other parameters (older defaults): replace it at the next sign-in."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return False


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def verify_nobody(password: str) -> bool:
    """Spend a real verification on a name that has no (usable) account, so that the answer
    takes as long as for a real one: usernames cannot be told apart by timing. Always False."""
    verify_password(_dummy_hash(), password)
    return False


def reserve_login_attempt(session: Session, *, user_id: int, now: datetime, limit: int) -> bool:
    """Count a sign-in attempt before its password is checked, atomically; False when the
    account is locked or `limit` attempts are already counted (then nothing is checked).

    A correct password gives the attempt back (login_succeeded); so however many requests
    arrive at once, at most `limit` wrong passwords are ever tried per lock-out.
    """
    stmt = (
        update(ConsoleUser)
        .where(
            ConsoleUser.id == user_id,
            ConsoleUser.failed_logins < limit,
            or_(ConsoleUser.locked_until.is_(None), ConsoleUser.locked_until <= now),
        )
        .values(failed_logins=ConsoleUser.failed_logins + 1)
        .execution_options(synchronize_session=False)
    )
    reserved = session.execute(stmt).rowcount == 1
    session.commit()  # seen at once by concurrent attempts
    return reserved


def lock_if_exhausted(
    session: Session, *, user_id: int, now: datetime, limit: int, minutes: int
) -> bool:
    """After a wrong password: lock the account once `limit` attempts are counted, ending its
    sessions. True for the one request that locked it."""
    stmt = (
        update(ConsoleUser)
        .where(ConsoleUser.id == user_id, ConsoleUser.failed_logins >= limit)
        .values(
            failed_logins=0,
            locked_until=now + timedelta(minutes=minutes),
            session_nonce=secrets.token_hex(16),
        )
        .execution_options(synchronize_session=False)
    )
    return session.execute(stmt).rowcount == 1


def login_succeeded(session: Session, *, user_id: int, now: datetime) -> None:
    """A correct password: clear the attempts and any lock, note the time."""
    session.execute(
        update(ConsoleUser)
        .where(ConsoleUser.id == user_id)
        .values(failed_logins=0, locked_until=None, last_login_at=now)
        .execution_options(synchronize_session=False)
    )


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    school_name: str | None = None,
    phone: str | None = None,
) -> ConsoleUser:
    username = username.strip()
    if not username:
        raise AccountError("用户名不能为空")
    if role not in ROLES:
        raise AccountError(f"角色必须是 {' / '.join(ROLES)} 之一")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"密码至少 {MIN_PASSWORD} 位")
    if session.exec(select(ConsoleUser).where(ConsoleUser.username == username)).first():
        raise AccountError(f"用户 {username} 已存在")
    school_id = teacher_id = None
    if role in ("school", "teacher"):
        if not school_name:
            raise AccountError(f"{role} 角色需要 --school 学校名称")
        school = session.exec(select(School).where(School.name == school_name.strip())).first()
        if school is None:
            raise AccountError(f"找不到学校：{school_name}")
        school_id = school.id
    if role == "teacher":
        if not phone:
            raise AccountError("teacher 角色需要 --phone 教师手机号")
        teacher = session.exec(
            select(Teacher).where(Teacher.phone == phone.strip(), Teacher.school_id == school_id)
        ).first()
        if teacher is None:
            raise AccountError(f"{school_name} 没有手机号为 {phone} 的教师")
        teacher_id = teacher.id
    user = ConsoleUser(
        username=username,
        password_hash=hash_password(password),
        role=role,
        school_id=school_id,
        teacher_id=teacher_id,
    )
    session.add(user)
    session.flush()
    return user


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session,
    *,
    username: str,
    name: str = "",
    now: datetime | None = None,
    ttl_days: int = DEFAULT_TOKEN_DAYS,
) -> str:
    """Create an API token valid for `ttl_days` and return it; only its digest is stored."""
    user = session.exec(select(ConsoleUser).where(ConsoleUser.username == username)).first()
    if user is None:
        raise AccountError(f"找不到用户：{username}")
    if ttl_days < 1:
        raise AccountError("有效天数至少为 1")
    now = now or utcnow()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            user_id=user.id,
            token_hash=token_digest(token),
            name=name[:64],
            created_at=now,
            expires_at=now + timedelta(days=ttl_days),
        )
    )
    session.flush()
    return token


# last_used_at is written at most this often per token: an API client polling every second
# should not turn every read into a write.
LAST_USED_GRANULARITY = timedelta(minutes=1)


def user_for_token(session: Session, token: str, now: datetime | None = None) -> ConsoleUser | None:
    """The active user of an unrevoked, unexpired token (noting when it was used), or None."""
    now = now or utcnow()
    row = session.execute(
        select(ConsoleUser, ApiToken.id, ApiToken.last_used_at)
        .join(ApiToken, ApiToken.user_id == ConsoleUser.id)
        .where(
            ApiToken.token_hash == token_digest(token),
            ApiToken.revoked.is_(False),
            ApiToken.expires_at > now,
            ConsoleUser.active.is_(True),
        )
    ).first()
    if row is None:
        return None
    user, token_id, last_used = row
    if last_used is None or now - last_used >= LAST_USED_GRANULARITY:
        session.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id)
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        session.commit()
    return user
