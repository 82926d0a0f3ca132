"""绑定 / 解绑: one-time invite codes link a chat account to a student, teacher or parent."""

from __future__ import annotations

from datetime import timedelta

from bot.types import MENU_CHANNELS, Reply
from core.invites import ALPHABET, CODE_LENGTH, normalise_code
from core.privacy import record_consent
from handlers.base import Context, on_intent
from handlers.people import describe, describe_student
from models.accounts import (
    claim_and_bind,
    count_bind_failures,
    deactivate_account,
    invite_code,
    recent_bind_failures,
    record_bind_failure,
    set_code_user,
)
from models.audit import record
from models.people_queries import student_lines_of_codes_read
from models.queue import outbox_row, queue_rows

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
# True of the running system (core.privacy.NOTICE_VERSION names this text; change both).
PRIVACY = (
    "隐私说明：我们保存您发送的位置、微信上报的位置（若您允许）和 Telegram 实时位置，以及签到、"
    "日志和反馈；精确位置仅本人、指导教师和学校管理员可见，签到情况家长可查，日志和反馈省级主管"
    "部门也可查看，企业导师可批阅日志；实习结束 {days} 天后删除；发送「解绑」即可停止。",
    "Privacy: we keep the locations you send, WeChat's location reports (if you allow them) "
    "and Telegram live locations, plus your check-ins, journals and reports; exact locations "
    "are seen only by you, your teacher and your school admin, parents can see attendance, the "
    "provincial authority can also read journals and reports, and company mentors can grade "
    "journals; all is deleted {days} days after the internship ends; send /unbind to stop.",
)
NEXT_STEP = {
    "student": (
        "每天到岗后发送位置即可签到；发送「帮助」查看全部功能。",
        "Send your location at work each day to check in; send /help for everything else.",
    ),
    "teacher": (
        "发送「今日」查看学生今天的签到情况，「批阅」查看待批阅的日志，「帮助」查看全部功能。",
        "Send /today to see today's check-ins of your students, /grade for journals waiting; "
        "/help for more.",
    ),
    "mentor": (
        "发送「今日」查看实习生今天的签到情况，「批阅」查看待批阅的日志；实习生提交日志时会通知您。",
        "Send /today to see your interns' check-ins today and /grade for journals waiting; "
        "you are told when an intern submits a journal.",
    ),
    "school_admin": (
        "学生失联预警和升级的工单会发到这里；发送「处理 编号 说明」即可处理。",
        "Lost-contact alerts and escalated tickets will come here; send /handle <no> <note>.",
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


_FAILURES = "bind_failures"


def _recent_failures(ctx: Context, since) -> list:
    """The sender's wrong codes since `since`, newest first: read once for the batch's unbound
    senders while binds follow one another (Batch.kept; a failure recorded drops it)."""

    def read() -> tuple:
        found = recent_bind_failures(
            ctx.conn, channel=ctx.inbound.channel, external_ids=ctx.batch_unbound(), since=since
        )
        return since, found

    kept = ctx.kept(_FAILURES, read, lambda kept: kept[0] <= since)
    return [at for at in kept[1].get(ctx.inbound.user_id, []) if at > since]


def failures_since(settings, now):
    """Since when a sender's wrong codes can bear on a lockout at `now`."""
    return now - 2 * timedelta(minutes=settings.invite.lockout_min)


def _lockout_until(ctx: Context):
    """When the sender's lockout ends, or None: max_failures wrong codes within the window."""
    cfg = ctx.settings.invite
    window = timedelta(minutes=cfg.lockout_min)
    recent = _recent_failures(ctx, failures_since(ctx.settings, ctx.now))[: cfg.max_failures]
    # No failure is recorded while locked, so the newest one is the one that started it.
    if len(recent) < cfg.max_failures or recent[0] - recent[-1] > window:
        return None
    until = recent[0] + window
    return until if until > ctx.now else None


def _failures_left(ctx: Context) -> int:
    since = ctx.now - timedelta(minutes=ctx.settings.invite.lockout_min)
    count = count_bind_failures(
        ctx.conn, channel=ctx.inbound.channel, external_id=ctx.inbound.user_id, since=since
    )
    return max(0, ctx.settings.invite.max_failures - count)


def _well_formed(code: str) -> bool:
    return len(code) == CODE_LENGTH and all(c in ALPHABET for c in code)


def _locked(ctx: Context, until) -> list[Reply]:
    return ctx.reply(LOCKED, until=until.astimezone(ctx.settings.tz).strftime("%H:%M"))


def code_to_claim(args: str) -> str | None:
    """The invite code the 绑定 handler tries to claim for `args`, or None (no code, or one
    that cannot be a code: a wrong code, never claimed)."""
    words = args.split()
    code = normalise_code(words[0]) if words else ""
    return code if _well_formed(code) else None


@on_intent("bind")
def bind(ctx: Context) -> list[Reply]:
    """Checks the code and links this chat account to the code's person."""
    if ctx.account is not None:
        return ctx.reply(ALREADY_BOUND, who=describe(ctx.conn, ctx.account, ctx.lang))
    code = code_to_claim(ctx.args)
    ahead = ctx.claimed_ahead(code) if code is not None else None
    if ahead is not None:  # no wrong code within the lockout's reach: none is locked out
        account, me = ahead
    else:
        until = _lockout_until(ctx)
        if until is not None:
            return _locked(ctx, until)
        words = ctx.args.split()
        if not words:
            return ctx.reply(ASK_CODE)
        if code is None:
            return _not_claimed(ctx, normalise_code(words[0]))
        account, me = _claim(ctx, code)
        if account is None:
            return _not_claimed(ctx, code)
    set_code_user(ctx.conn, code=code, account_id=account.id, batch=ctx.batch)
    ctx.rebind(account)
    _audit(ctx, account, "bind")
    ctx.clear_state()
    record_consent(ctx.conn, account=account, at=ctx.now, batch=ctx.batch)
    _queue_menu(ctx, account.person_kind)
    days = ctx.settings.privacy.retain_days_after_end
    who = (
        describe_student(me, ctx.lang) if me is not None else describe(ctx.conn, account, ctx.lang)
    )
    lines = [ctx.say(BOUND, who=who), ctx.say(PRIVACY, days=days)]
    if account.person_kind in NEXT_STEP:
        lines.append(ctx.say(NEXT_STEP[account.person_kind]))
    return [Reply("\n".join(lines), ask_location=account.person_kind == "student")]


def _claim(ctx: Context, code: str):
    """Claim `code` and bind the sender: (the binding or None, a student's receipt line). On
    PostgreSQL the claim, the binding and the line are one round trip."""
    inbound = ctx.inbound
    account, (lines,) = claim_and_bind(
        ctx.conn,
        code=code,
        now=ctx.now,
        channel=inbound.channel,
        external_id=inbound.user_id,
        language=inbound.language,
        display_name=inbound.display_name,
        also=[student_lines_of_codes_read(ctx.conn, codes=[code])],
    )
    return account, lines.get(code) if account is not None else None


def _not_claimed(ctx: Context, code: str) -> list[Reply]:
    """Why a code could not be claimed: unknown (a failure toward the lockout), used, expired."""
    invite = invite_code(ctx.conn, code=code) if _well_formed(code) else None
    inbound = ctx.inbound
    if invite is None:
        record_bind_failure(
            ctx.conn, channel=inbound.channel, external_id=inbound.user_id, at=ctx.now
        )
        ctx.forget(_FAILURES)  # read again, with this one
        until = _lockout_until(ctx)
        if until is not None:
            return _locked(ctx, until)
        return ctx.reply(UNKNOWN_CODE, code=code, left=_failures_left(ctx))
    if invite.used_at is None and invite.expires_at <= ctx.now:
        day = invite.expires_at.astimezone(ctx.settings.tz).date().isoformat()
        return ctx.reply(EXPIRED_CODE, code=code, day=day)
    return ctx.reply(USED_CODE, code=code)


@on_intent("unbind")
def unbind(ctx: Context) -> list[Reply]:
    """Ends the binding of this chat account."""
    if ctx.account is None:
        return ctx.reply(NOT_BOUND)
    account = ctx.account
    deactivate_account(ctx.conn, account_id=account.id)
    ctx.clear_state()
    _audit(ctx, account, "unbind")
    _queue_menu(ctx, None)
    ctx.rebind(None)
    return ctx.reply(UNBOUND)


def _queue_menu(ctx: Context, role: str | None) -> None:
    """Give the sender their role's menu (WeChat tag, Telegram commands) through the outbox, so
    the reply never waits on the platform (bot/menu_push.py); "none" takes it away."""
    inbound = ctx.inbound
    channel = MENU_CHANNELS.get(inbound.channel)
    if channel is None:
        return
    text = f"{role or 'none'}:{inbound.language or 'zh'}"
    key = f"menu:{inbound.channel}:{inbound.user_id}:{text}:{ctx.now.isoformat()}"
    row = outbox_row(
        key=key, channel=channel, to=inbound.user_id, now=ctx.now, kind="role_menu", text=text
    )
    queue_rows(ctx.conn, [row], batch=ctx.batch)


def _audit(ctx: Context, account, action: str) -> None:
    record(
        ctx.conn,
        actor=f"chat:{account.channel}:{account.external_id}",
        action=action,
        target_kind=account.person_kind,
        target_id=account.person_id,
        school_id=account.school_id,
        at=ctx.now,
        batch=ctx.batch,
    )
