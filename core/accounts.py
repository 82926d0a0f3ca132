"""Console users and API tokens: argon2 password hashes, tokens stored as SHA-256."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from models import ApiToken, ConsoleUser, School, Teacher
from models.console import ROLES

_hasher = PasswordHasher()
TOKEN_PREFIX = "sx_"
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


def create_token(session: Session, *, username: str, name: str = "") -> str:
    """Create an API token and return it; only its digest is stored."""
    user = session.exec(select(ConsoleUser).where(ConsoleUser.username == username)).first()
    if user is None:
        raise AccountError(f"找不到用户：{username}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=token_digest(token), name=name))
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> ConsoleUser | None:
    row = session.exec(
        select(ConsoleUser)
        .join(ApiToken, ApiToken.user_id == ConsoleUser.id)
        .where(
            ApiToken.token_hash == token_digest(token),
            ApiToken.revoked.is_(False),
            ConsoleUser.active.is_(True),
        )
    ).first()
    return row
