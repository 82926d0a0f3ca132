"""绑定 / 解绑: one-time invite codes link a chat account to a student, teacher or parent."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from bot.types import Reply
from core.audit import record
from core.invites import ALPHABET, CODE_LENGTH, normalise_code
from handlers.base import Context, on_intent
from handlers.texts import role_name
from models import BindFailure, ChannelAccount, InviteCode, Parent, School, Student, Teacher
from models.checkin_queries import account_for, children_of

HOW_TO_BIND = (
    "您好，这里是实习助手。您还没有绑定身份：请向指导教师索取 8 位绑定码，"
    "然后发送「绑定 绑定码」，例如：绑定 AB3D5F7H。",
    "Hello, this is the internship assistant. You are not linked yet: ask your teacher for "
    "your 8-character code, then send /bind <code>, e.g. /bind AB3D5F7H.",
)
ASK_CODE = (
    "请在「绑定」后面写上 8 位绑定码，例如：绑定 AB3D5F7H。",
    "Please add your 8-character code, e.g. /bind AB3D5F7H.",
)
ALREADY_BOUND = (
    "您已绑定为{who}。如需换绑，请先发送「解绑」，再用新的绑定码绑定。",
    "You are already linked as {who}. To link another person, send /unbind first.",
)
UNKNOWN_CODE = (
    "绑定码「{code}」不正确，请核对后重试（还可尝试 {left} 次）。",
    "The code “{code}” is not valid; please check it and try again ({left} tries left).",
)
USED_CODE = (
    "绑定码「{code}」已经使用过了。每个绑定码只能用一次，请向老师索取新的绑定码。",
    "The code “{code}” has already been used. Each code works once; ask your teacher for a "
    "new one.",
)
EXPIRED_CODE = (
    "绑定码「{code}」已于 {day} 过期，请向老师索取新的绑定码。",
    "The code “{code}” expired on {day}; ask your teacher for a new one.",
)
LOCKED = (
    "错误的绑定码次数过多，为保护账号安全，请于 {until} 之后再试。",
    "Too many wrong codes. For safety, please try again after {until}.",
)
BOUND = ("绑定成功：{who}。", "Linked: {who}.")
PRIVACY = (
    "隐私说明：我们只在您主动发送位置时记录位置，并保存签到、日志和反馈；"
    "仅本人、指导教师和学校管理员可见；实习结束后保留一年；发送「解绑」即可停止。",
    "Privacy: we record your location only when you send it, plus your check-ins, journals "
    "and reports; only you, your teacher and your school admin see them; they are kept for one "
    "year after the internship; send /unbind to stop.",
)
NEXT_STEP = {
    "student": (
        "每天到岗后发送位置即可签到；发送「帮助」查看全部功能。",
        "Send your location at work each day to check in; send /help for everything else.",
    ),
    "teacher": (
        "发送「今日」查看学生今天的签到情况，发送「帮助」查看全部功能。",
        "Send /today to see today's check-ins of your students; /help for more.",
    ),
    "parent": (
        "发送「状态」查看孩子本周的签到情况。",
        "Send /status to see your child's check-ins this week.",
    ),
}
UNBOUND = (
    "已解绑，此后不再记录您的任何信息。如需重新绑定，请向老师索取新的绑定码。",
    "Unlinked. Nothing more will be recorded. To link again, ask your teacher for a new code.",
)
NOT_BOUND = ("您还没有绑定身份，无需解绑。", "You are not linked, so there is nothing to unlink.")


def describe(ctx: Context, account: ChannelAccount) -> str:
    """学生 张三（学号 S001）、贵州交通职业技术学院 — who a binding points to."""
    en = ctx.lang == "en"
    kind, pid = account.person_kind, account.person_id
    school = ctx.session.get(School, account.school_id) if account.school_id else None
    where = (", " if en else "、") + school.name if school else ""
    if kind == "student":
        s = ctx.session.get(Student, pid)
        no = f" (student no. {s.student_no})" if en else f"（学号 {s.student_no}）"
        return f"{role_name(kind, ctx.lang)} {s.name}{no}{where}"
    if kind == "teacher":
        return f"{role_name(kind, ctx.lang)} {ctx.session.get(Teacher, pid).name}{where}"
    if kind == "parent":
        parent = ctx.session.get(Parent, pid)
        kids = "、".join(c.name for c in children_of(ctx.session, parent_id=pid))
        of = f" (parent of {kids})" if en else f"（{kids} 的家长）"
        return f"{role_name(kind, ctx.lang)} {parent.name}{of if kids else ''}{where}"
    return f"{role_name(kind, ctx.lang)} #{pid}{where}"


def _lockout_until(ctx: Context):
    """When the sender's lockout ends, or None: max_failures wrong codes within the window."""
    cfg = ctx.settings.invite
    window = timedelta(minutes=cfg.lockout_min)
    recent = ctx.session.exec(
        select(BindFailure.at)
        .where(
            BindFailure.channel == ctx.inbound.channel,
            BindFailure.external_id == ctx.inbound.user_id,
            BindFailure.at > ctx.now - 2 * window,
        )
        .order_by(col(BindFailure.at).desc())
        .limit(cfg.max_failures)
    ).all()
    # No failure is recorded while locked, so the newest one is the one that started it.
    if len(recent) < cfg.max_failures or recent[0] - recent[-1] > window:
        return None
    until = recent[0] + window
    return until if until > ctx.now else None


def _failures_left(ctx: Context) -> int:
    since = ctx.now - timedelta(minutes=ctx.settings.invite.lockout_min)
    count = len(
        ctx.session.exec(
            select(BindFailure.id).where(
                BindFailure.channel == ctx.inbound.channel,
                BindFailure.external_id == ctx.inbound.user_id,
                BindFailure.at > since,
            )
        ).all()
    )
    return max(0, ctx.settings.invite.max_failures - count)


def _well_formed(code: str) -> bool:
    return len(code) == CODE_LENGTH and all(c in ALPHABET for c in code)


@on_intent("bind")
def bind(ctx: Context) -> list[Reply]:
    """Checks the code and links this chat account to the code's person."""
    if ctx.account is not None:
        return ctx.reply(ALREADY_BOUND, who=describe(ctx, ctx.account))
    until = _lockout_until(ctx)
    if until is not None:
        return ctx.reply(LOCKED, until=until.astimezone(ctx.settings.tz).strftime("%H:%M"))
    words = ctx.args.split()
    if not words:
        return ctx.reply(ASK_CODE)
    code = normalise_code(words[0])
    invite = None
    if _well_formed(code):
        invite = ctx.session.exec(select(InviteCode).where(InviteCode.code == code)).first()
    if invite is None:
        ctx.session.add(
            BindFailure(channel=ctx.inbound.channel, external_id=ctx.inbound.user_id, at=ctx.now)
        )
        ctx.session.flush()
        until = _lockout_until(ctx)
        if until is not None:
            return ctx.reply(LOCKED, until=until.astimezone(ctx.settings.tz).strftime("%H:%M"))
        return ctx.reply(UNKNOWN_CODE, code=code, left=_failures_left(ctx))
    if invite.used_at is not None:
        return ctx.reply(USED_CODE, code=code)
    if invite.expires_at <= ctx.now:
        day = invite.expires_at.astimezone(ctx.settings.tz).date().isoformat()
        return ctx.reply(EXPIRED_CODE, code=code, day=day)
    account = account_for(ctx.session, channel=ctx.inbound.channel, external_id=ctx.inbound.user_id)
    if account is None:
        account = ChannelAccount(channel=ctx.inbound.channel, external_id=ctx.inbound.user_id)
    account.person_kind, account.person_id = invite.person_kind, invite.person_id
    account.school_id, account.language = invite.school_id, ctx.inbound.language
    account.display_name = ctx.inbound.display_name[:64]
    account.active, account.bound_at, account.last_inbound_at = True, ctx.now, ctx.now
    ctx.session.add(account)
    ctx.session.flush()
    invite.used_at, invite.used_by = ctx.now, account.id
    ctx.session.add(invite)
    ctx.account = account
    _audit(ctx, account, "bind")
    ctx.clear_state()
    lines = [ctx.say(BOUND, who=describe(ctx, account)), ctx.say(PRIVACY)]
    if account.person_kind in NEXT_STEP:
        lines.append(ctx.say(NEXT_STEP[account.person_kind]))
    return [Reply("\n".join(lines), ask_location=account.person_kind == "student")]


@on_intent("unbind")
def unbind(ctx: Context) -> list[Reply]:
    """Ends the binding of this chat account."""
    if ctx.account is None:
        return ctx.reply(NOT_BOUND)
    account = ctx.account
    account.active = False
    ctx.session.add(account)
    ctx.clear_state()
    _audit(ctx, account, "unbind")
    return ctx.reply(UNBOUND)


def _audit(ctx: Context, account: ChannelAccount, action: str) -> None:
    record(
        ctx.session,
        actor=f"chat:{account.channel}:{account.external_id}",
        action=action,
        target_kind=account.person_kind,
        target_id=account.person_id,
        school_id=account.school_id,
    )
