"""`shixi user disable|enable|reset-password|list` and `shixi token create|list|revoke`."""

from __future__ import annotations

from sqlmodel import select

from core.accounts import AccountError, create_token
from core.settings import Settings
from core.user_admin import (
    find_user,
    generated_password,
    reset_password,
    revoke_token,
    set_active,
    token_rows,
    token_state,
)
from models import ApiToken, ConsoleUser
from models.audit import record
from models.db import session_scope
from models.types import utcnow

ROLE_LABELS = {"province": "省厅", "school": "学校", "teacher": "教师"}


def _local(settings: Settings, at) -> str:
    return at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M") if at else "-"


def _audit(session, action: str, user: ConsoleUser, **detail) -> None:
    record(
        session,
        actor="cli",
        action=action,
        target_kind="console_user",
        target_id=user.id,
        school_id=user.school_id,
        username=user.username,
        **detail,
    )


def set_user_active(engine, username: str, *, active: bool) -> str:
    with session_scope(engine) as session:
        user = find_user(session, username)
        set_active(session, user=user, active=active)
        _audit(session, "user.enable" if active else "user.disable", user)
    if active:
        return f"已启用用户 {username}"
    return f"已停用用户 {username}：其登录会话和 API 令牌立即失效"


def reset_user_password(engine, username: str, password: str) -> str:
    """Set the given password, or a generated one that is printed once."""
    generated = not password
    password = password or generated_password()
    with session_scope(engine) as session:
        user = find_user(session, username)
        reset_password(session, user=user, password=password)
        _audit(session, "user.reset_password", user, generated=generated)
    note = f"已重置 {username} 的密码，其所有登录会话已结束"
    return f"{note}。新密码（只显示这一次）: {password}" if generated else note + "。"


def user_lines(settings: Settings, engine) -> list[str]:
    with session_scope(engine) as session:
        users = session.exec(select(ConsoleUser).order_by(ConsoleUser.username)).all()
        lines = ["用户名\t角色\t状态\t最近登录"]
        for u in users:
            state = "启用" if u.active else "停用"
            role = ROLE_LABELS.get(u.role, u.role)
            lines.append(f"{u.username}\t{role}\t{state}\t{_local(settings, u.last_login_at)}")
    return lines


def new_token(settings: Settings, engine, username: str, *, name: str, days: int | None) -> str:
    days = days or settings.console.token_ttl_days
    now = utcnow()
    with session_scope(engine) as session:
        token = create_token(session, username=username, name=name, now=now, ttl_days=days)
        user = find_user(session, username)
        _audit(session, "token.create", user, name=name, days=days)
    return token


def token_lines(settings: Settings, engine, *, username: str | None) -> list[str]:
    now = utcnow()
    with session_scope(engine) as session:
        condition = None
        if username:
            condition = ConsoleUser.id == find_user(session, username).id
        rows = token_rows(session, user_condition=condition)
    lines = ["编号\t用户\t用途\t创建\t到期\t最近使用\t状态"]
    for token, owner, _ in rows:
        lines.append(
            "\t".join(
                (
                    str(token.id),
                    owner,
                    token.name or "-",
                    _local(settings, token.created_at),
                    _local(settings, token.expires_at),
                    _local(settings, token.last_used_at),
                    token_state(token, now),
                )
            )
        )
    return lines


def revoke(engine, token_id: int) -> str:
    with session_scope(engine) as session:
        token = session.get(ApiToken, token_id)
        if token is None:
            raise AccountError(f"没有编号为 {token_id} 的令牌（用 shixi token list 查看）")
        owner = session.get(ConsoleUser, token.user_id)
        if not revoke_token(session, token=token, now=utcnow()):
            return f"令牌 {token_id} 早已撤销"
        _audit(session, "token.revoke", owner, token_id=token_id)
    return f"已撤销令牌 {token_id}（{owner.username}），立即失效"
