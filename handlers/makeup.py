"""补卡: a student asks to count a missed workday; the teacher approves or refuses in chat."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlmodel import select

from bot.types import Notification, Reply
from core.checkin_rules import decide_day
from core.intents import control_word
from handlers.base import Context, on_intent, on_state
from handlers.help import CANCELLED
from handlers.makeup_review import decide, status_name
from handlers.texts import fmt_day
from models import MakeupRequest, Student
from models.checkin_queries import checkins_on, placements_of

ASK = (
    "请发送补卡日期和理由，例如：3月2日 手机没电忘记签到（只能补最近 {days} 天内的工作日）。",
    "Send the date and the reason, e.g. 2026-03-02 my phone was dead "
    "(workdays of the last {days} days only).",
)
BAD_DATE = (
    "没看懂补卡日期。请这样写：补卡 3月2日 理由（也可写 2026-03-02、3-2、昨天）。",
    "I could not read the date. Write: /makeup 2026-03-02 <reason> (or 3-2, yesterday).",
)
NO_REASON = (
    "请写上补卡理由，例如：补卡 {day} 手机没电忘记签到。",
    "Please add a reason, e.g. /makeup {day} my phone was dead.",
)
NOT_PAST = (
    "只能为今天之前的工作日补卡；今天请直接发送位置签到。",
    "Make-up is only for past workdays; for today, just send your location.",
)
TOO_OLD = (
    "{day} 已超过 {days} 天，不能再补卡，请联系指导教师。",
    "{day} is more than {days} days ago; please contact your teacher.",
)
NOT_WORKDAY = ("{day} 不是您的实习工作日，无需补卡。", "{day} was not one of your workdays.")
HAS_CHECKIN = ("{day} 已有签到记录，无需补卡。", "You already checked in on {day}.")
EXISTS = (
    "{day} 已有补卡申请（编号 {no}，{status}），请勿重复提交。",
    "There is already a request for {day} (no. {no}, {status}).",
)
SUBMITTED = (
    "补卡申请已提交（编号 {no}）：{day}，理由：{reason}。指导教师审批后会通知您。",
    "Make-up request no. {no} sent: {day}, reason: {reason}. You will hear when your teacher "
    "decides.",
)
TO_TEACHER = (
    "补卡申请 {no}：{name}（{student_no}）{day}，理由：{reason}。"
    "回复「批准补卡 {no}」或「驳回补卡 {no} 理由」。"
)
STATE = "makeup"
_DATE = re.compile(
    r"^(?:(?P<y>\d{4})[-/.年])?(?P<m>\d{1,2})(?:[-/.]|月)(?P<d>\d{1,2})[日号]?\s*(?P<rest>.*)$",
    re.S,
)
_RELATIVE = {"今天": 0, "today": 0, "昨天": 1, "昨日": 1, "前天": 2, "yesterday": 1}


def parse_day(text: str, today: date) -> tuple[date, str] | None:
    """Read a leading date (2026-03-02, 3-2, 3月2日, 昨天) and return it with the rest."""
    stripped = text.strip()
    for word, back in _RELATIVE.items():
        if stripped.lower().startswith(word):
            return today - timedelta(days=back), stripped[len(word) :].strip()
    m = _DATE.match(stripped)
    if not m:
        return None
    year = int(m["y"]) if m["y"] else today.year
    try:
        day = date(year, int(m["m"]), int(m["d"]))
    except ValueError:
        return None
    if not m["y"] and day > today:  # "12-30" written in January means last December
        try:
            day = date(year - 1, day.month, day.day)
        except ValueError:
            return None
    return day, m["rest"].strip()


def request_makeup(ctx: Context, text: str) -> list[Reply]:
    """Checks a student's date and reason and files the request with the teacher."""
    days = ctx.settings.checkin.makeup_max_days
    parsed = parse_day(text, ctx.today)
    if parsed is None:
        return ctx.reply(BAD_DATE)
    day, reason = parsed
    shown = fmt_day(day, ctx.lang)
    if day >= ctx.today:
        return ctx.reply(NOT_PAST)
    if (ctx.today - day).days > days:
        return ctx.reply(TOO_OLD, day=shown, days=days)
    if not reason:
        return ctx.reply(NO_REASON, day=f"{day.month}月{day.day}日" if ctx.lang != "en" else day)
    student: Student = ctx.person()
    decision = decide_day(placements_of(ctx.session, student_id=student.id), day, ctx.settings)
    if not decision.ok:
        return ctx.reply(NOT_WORKDAY, day=shown)
    if checkins_on(ctx.session, student_id=student.id, day=day):
        return ctx.reply(HAS_CHECKIN, day=shown)
    existing = ctx.session.exec(
        select(MakeupRequest).where(
            MakeupRequest.student_id == student.id, MakeupRequest.day == day
        )
    ).first()
    if existing is not None:
        return ctx.reply(
            EXISTS, day=shown, no=existing.id, status=status_name(ctx, existing.status)
        )
    row = MakeupRequest(
        school_id=student.school_id,
        student_id=student.id,
        day=day,
        reason=reason[:500],
        created_at=ctx.now,
    )
    ctx.session.add(row)
    ctx.session.flush()
    if student.teacher_id:
        ctx.notify(
            Notification(
                person_kind="teacher",
                person_id=student.teacher_id,
                text=TO_TEACHER.format(
                    no=row.id,
                    name=student.name,
                    student_no=student.student_no,
                    day=fmt_day(day, "zh"),
                    reason=row.reason,
                ),
                kind="makeup_request",
                key=f"makeup:{row.id}:request",
                school_id=student.school_id,
            )
        )
    return ctx.reply(SUBMITTED, no=row.id, day=shown, reason=row.reason)


@on_intent("makeup")
def makeup(ctx: Context) -> list[Reply]:
    """Students ask for a make-up check-in; teachers list, approve or refuse requests."""
    if ctx.role == "teacher":
        return decide(ctx, ctx.args)
    if not ctx.args:
        days = ctx.settings.checkin.makeup_max_days
        ctx.set_state(STATE, {}, ttl=timedelta(hours=1))
        return ctx.reply(ASK, days=days)
    return request_makeup(ctx, ctx.args)


@on_state(STATE)
def makeup_details(ctx: Context) -> list[Reply]:
    """Takes the date and reason asked for by a bare 补卡 or /makeup."""
    ctx.clear_state()
    if control_word(ctx.args) == "cancel":
        return ctx.reply(CANCELLED)
    return request_makeup(ctx, ctx.args)
