"""请假: a student asks for days off; the teacher lists, approves (批准 L3) or refuses (驳回 L3 …).

Approved days are not due (core.due): no nudge, no escalation, not counted in 签到率.
Grammar (dates as for 补卡: 2026-12-08, 12-8, 12月8日, 今天, 明天; a range with 至 or 到):
    请假 12月8日至12月10日 发烧就医     the student files L<n>; the teacher is told at once
    请假                               a student is asked for the dates; a teacher sees the list
    批准 L3 / 驳回 L3 理由               the student's teacher (or school admin) decides
"""

from __future__ import annotations

from datetime import timedelta

from bot.types import Notification, Reply
from core.dates import parse_range
from core.intents import control_word
from handlers.base import Context, add_words, on_intent, on_state
from handlers.texts import fmt_day
from models.leave import create_leave, decide_leave, parse_number, pending_for_teacher
from models.people_queries import account_languages, student

STATE = "leave"
STATE_TTL = timedelta(hours=1)

ASK = (
    "请发送请假日期和事由，例如：12月8日 发烧就医；连续几天可写：12月8日至12月10日 家中有事。",
    "Send the dates and the reason, e.g. 2026-12-08 fever, or 2026-12-08 to 12-10 family matter.",
)
ASK_REASON = (
    "请写上请假事由，例如：请假 {day} 发烧就医。",
    "Please add the reason, e.g. /leave {day} fever.",
)
BAD_DATE = (
    "没看懂请假日期。请这样写：请假 12月8日 事由（也可写 2026-12-08、12-8、今天、明天；"
    "连续几天写 12月8日至12月10日）。",
    "I could not read the dates. Write: /leave 2026-12-08 <reason> (or today, tomorrow; "
    "several days: 2026-12-08 to 12-10).",
)
ERRORS = {
    "bad_range": (
        "结束日期早于开始日期，请检查后重发。",
        "The end is before the start; please check.",
    ),
    "too_long": (
        "一次请假最多 {max_days} 天，请分开申请或联系指导教师。",
        "One request covers at most {max_days} days; please split it or talk to your teacher.",
    ),
    "too_old": (
        "{start} 已超过 {max_days} 天，不能再补请假，请联系指导教师。",
        "{start} is more than {max_days} days ago; please talk to your teacher.",
    ),
    "overlap": (
        "这段时间已有请假申请 {number}（{status}，{start}至{end}），请勿重复申请。",
        "Request {number} ({status}, {start} to {end}) already covers these days.",
    ),
    "no_student": (
        "没有查到您的学生信息，请联系学校。",
        "No student record; please ask the school.",
    ),
}
FILED = (
    "请假申请已提交：{no}，{days}，事由：{reason}。已转给指导教师审批，结果会在这里通知您。",
    "Leave request {no} sent: {days}, reason: {reason}. Your teacher decides; you will be told "
    "here.",
)
TO_TEACHER = (
    "【请假申请 {no}】{name}：{days}，事由：{reason}\n回复「批准 {no}」或「驳回 {no} 理由」。"
)
STATUS_NAMES = {
    "pending": ("待审批", "pending"),
    "approved": ("已批准", "approved"),
    "rejected": ("已驳回", "rejected"),
}
PENDING_HEAD = ("待审批的请假：", "Leave requests waiting for you:")
PENDING_LINE = ("{no} {name} {days}：{reason}", "{no} {name} {days}: {reason}")
PENDING_FOOT = (
    "回复「批准 L编号」或「驳回 L编号 理由」。",
    "Reply /approve L<no> or /reject L<no> <reason>.",
)
NONE_PENDING = ("目前没有待审批的请假申请。", "No leave requests are waiting.")
DECIDE_USAGE = (
    "请写上请假编号，例如：批准 L3，或：驳回 L3 理由。发送「请假」查看待审批的申请。",
    "Add the request number, e.g. /approve L3 or /reject L3 <reason>. Send /leave for the list.",
)
NOT_FOUND = ("没有找到请假申请 {no}，或不是您负责的学生。", "No leave request {no} among yours.")
DECIDED = ("请假 {no} 已处理过（{status}）。", "Leave {no} was already {status}.")
NEED_REASON = (
    "请写上驳回理由，例如：驳回 {no} 当天有重要考核。",
    "Please add a reason: /reject {no} <reason>.",
)
APPROVED_TEACHER = (
    "已批准 {name} 的请假 {no}（{days}），已通知学生。",
    "Approved {no} for {name} ({days}).",
)
REJECTED_TEACHER = (
    "已驳回 {name} 的请假 {no}，已通知学生。",
    "Rejected {no}; {name} has been told.",
)
# The decision as a template message shows it (a field of at most 20 characters).
DECISION_SUMMARY = ("已批准", "未批准")
APPROVED_STUDENT = (
    "您的请假 {no}（{days}）已批准，这几天无需签到。",
    "Your leave {no} ({days}) is approved; no check-in is needed on those days.",
)
REJECTED_STUDENT = (
    "您的请假 {no}（{days}）未获批准，理由：{reason}。请按时签到，如有疑问请联系指导教师。",
    "Your leave {no} ({days}) was not approved: {reason}. Please check in as usual, and talk to "
    "your teacher if anything is unclear.",
)

add_words({"批准": ("approve", ""), "驳回": ("reject", "")})


def days_text(start, end, lang: str) -> str:
    """12月8日（周二） or 12月8日（周二）至12月10日（周四）."""
    if start == end:
        return fmt_day(start, lang)
    joiner = " to " if lang == "en" else "至"
    return f"{fmt_day(start, lang)}{joiner}{fmt_day(end, lang)}"


@on_intent("leave", roles=("student", "teacher"))
def leave(ctx: Context) -> list[Reply]:
    """A student files a request (or is asked for its dates); a teacher sees the pending ones."""
    if ctx.role == "teacher":
        return _pending(ctx)
    if not ctx.args.strip():
        ctx.set_state(STATE, {}, ttl=STATE_TTL)
        return ctx.reply(ASK)
    return _file(ctx, ctx.args)


@on_state(STATE)
def leave_details(ctx: Context) -> list[Reply]:
    """Takes the dates and the reason asked for; 取消 drops the request."""
    data = dict(ctx.state().data or {})
    ctx.clear_state()
    if control_word(ctx.text) == "cancel":
        return ctx.reply(("已取消请假申请。", "The leave request was cancelled."))
    if data.get("start"):  # the dates came first, this is the reason
        return _file(ctx, f"{data['start']}至{data['end']} {ctx.text}")
    return _file(ctx, ctx.text)


def _file(ctx: Context, text: str) -> list[Reply]:
    parsed = parse_range(text, ctx.today)
    if parsed is None:
        return ctx.reply(BAD_DATE)
    start, end, reason = parsed
    if not reason.strip():
        ctx.set_state(STATE, {"start": start.isoformat(), "end": end.isoformat()}, ttl=STATE_TTL)
        return ctx.reply(ASK_REASON, day=fmt_day(start, ctx.lang))
    result = create_leave(
        ctx.session,
        student_id=ctx.person_id,
        start=start,
        end=end,
        reason=reason,
        today=ctx.today,
        now=ctx.now,
        max_past_days=ctx.settings.checkin.makeup_max_days,
        requested_by=f"student:{ctx.person_id}",
    )
    if not result.ok:
        detail = dict(result.detail)
        for key in ("start", "end"):
            if key in detail:
                detail[key] = fmt_day(detail[key], ctx.lang)
        if "status" in detail:
            detail["status"] = ctx.say(STATUS_NAMES.get(detail["status"], ("", "")))
        text = ERRORS.get(result.error, BAD_DATE)
        return ctx.reply(text, **detail)
    request = result.leave
    days = days_text(start, end, ctx.lang)
    me = student(ctx.conn, student_id=ctx.person_id)
    if me is not None and me.teacher_id is not None:
        ctx.notify(
            Notification(
                person_kind="teacher",
                person_id=me.teacher_id,
                kind="leave_request",
                key=f"leave:{request.id}:teacher",
                text=TO_TEACHER.format(
                    no=request.number,
                    name=me.name,
                    days=days_text(start, end, "zh"),
                    reason=request.reason,
                ),
                params=dict(
                    student=me.name,
                    no=request.number,
                    date=start.isoformat(),
                    summary=request.reason,
                ),
                school_id=me.school_id,
            )
        )
    return ctx.reply(FILED, no=request.number, days=days, reason=request.reason)


def _pending(ctx: Context) -> list[Reply]:
    rows = pending_for_teacher(ctx.session, teacher_id=ctx.person_id)
    if not rows:
        return ctx.reply(NONE_PENDING)
    lines = [ctx.say(PENDING_HEAD)]
    for request, who in rows:
        days = days_text(request.start_date, request.end_date, ctx.lang)
        line = ctx.say(
            PENDING_LINE, no=request.number, name=who.name, days=days, reason=request.reason
        )
        lines.append(line)
    lines.append(ctx.say(PENDING_FOOT))
    return [Reply("\n".join(lines))]


@on_intent("approve", roles=("teacher", "school_admin"))
def approve(ctx: Context) -> list[Reply]:
    """Approves a pending request of one of the sender's students (批准 L3)."""
    return _decide(ctx, approve=True)


@on_intent("reject", roles=("teacher", "school_admin"))
def reject(ctx: Context) -> list[Reply]:
    """Refuses a pending request with a reason (驳回 L3 理由)."""
    return _decide(ctx, approve=False)


def _decide(ctx: Context, *, approve: bool) -> list[Reply]:
    words = ctx.args.split(maxsplit=1)
    number = parse_number(words[0]) if words else None
    if number is None:
        return ctx.reply(DECIDE_USAGE)
    no = f"L{number}"
    reason = words[1].strip() if len(words) > 1 else ""
    result = decide_leave(
        ctx.session,
        leave_id=number,
        approve=approve,
        decider_kind=ctx.role,
        decider_id=ctx.person_id,
        decided_by=f"{ctx.role}:{ctx.person_id}",
        now=ctx.now,
        refusal=reason,
    )
    if result.error in ("not_found", "forbidden"):
        return ctx.reply(NOT_FOUND, no=no)
    if result.error == "decided":
        status = ctx.say(STATUS_NAMES.get(result.detail.get("status"), ("", "")))
        return ctx.reply(DECIDED, no=no, status=status)
    if result.error == "no_reason":
        return ctx.reply(NEED_REASON, no=no)
    request = result.leave
    who = student(ctx.conn, student_id=request.student_id)
    _tell_student(ctx, request, who, approve=approve)
    days = days_text(request.start_date, request.end_date, ctx.lang)
    done = APPROVED_TEACHER if approve else REJECTED_TEACHER
    return ctx.reply(done, name=who.name, no=no, days=days)


def _tell_student(ctx: Context, request, who, *, approve: bool) -> None:
    langs = account_languages(ctx.conn, person_kind="student", person_id=who.id)
    lang = "en" if langs and all(x == "en" for x in langs) else "zh"
    template = APPROVED_STUDENT if approve else REJECTED_STUDENT
    text = template[1] if lang == "en" else template[0]
    ctx.notify(
        Notification(
            person_kind="student",
            person_id=who.id,
            kind="leave_result",
            key=f"leave:{request.id}:{request.status}",
            text=text.format(
                no=request.number,
                days=days_text(request.start_date, request.end_date, lang),
                reason=request.refusal,
            ),
            params=dict(
                student=who.name,
                no=request.number,
                date=request.start_date.isoformat(),
                summary=(DECISION_SUMMARY[0] if approve else DECISION_SUMMARY[1]),
            ),
            school_id=who.school_id,
            quiet_hours=True,
        )
    )
