"""补卡: a student asks to count a missed workday; the teacher lists, approves or refuses it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, select

from bot.types import Notification, Reply
from core.dates import parse_day
from core.due import decide_day
from core.intents import control_word
from handlers.base import Context, add_words, on_intent, on_state
from handlers.texts import fmt_day
from models import ChannelAccount, MakeupRequest, Student
from models.checkins import checkins_on, placements_of, record_checkin

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
CANCELLED = ("已取消补卡申请。", "The make-up request was cancelled.")


STATUS_NAMES = {
    "pending": ("待审批", "pending"),
    "approved": ("已批准", "approved"),
    "refused": ("已驳回", "refused"),
}
PENDING_HEAD = ("待审批的补卡申请：", "Pending make-up requests:")
PENDING_LINE = ("#{no} {name} {day}：{reason}", "#{no} {name} {day}: {reason}")
PENDING_FOOT = (
    "回复「批准补卡 编号」或「驳回补卡 编号 理由」。",
    "Reply /makeup approve <no> or /makeup refuse <no> <reason>.",
)
NONE_PENDING = ("目前没有待审批的补卡申请。", "No make-up requests are waiting.")
NOT_FOUND = ("找不到编号为 {no} 的补卡申请。", "There is no make-up request no. {no}.")
DECIDED = ("补卡申请 {no} 已处理过（{status}）。", "Request no. {no} was already {status}.")
NEED_REFUSE_REASON = (
    "请写上驳回理由，例如：驳回补卡 {no} 当天未到岗。",
    "Please add a reason: /makeup refuse {no} <reason>.",
)
TEACHER_USAGE = (
    "补卡审批：发送「补卡」查看待审批申请，「批准补卡 编号」批准，「驳回补卡 编号 理由」驳回。",
    "Make-up: /makeup lists requests; /makeup approve <no>; /makeup refuse <no> <reason>.",
)
APPROVED_TEACHER = (
    "已批准 {name} {day} 的补卡，已计为出勤。",
    "Approved: {name}, {day} counts as present.",
)
REFUSED_TEACHER = ("已驳回 {name} {day} 的补卡，已通知学生。", "Refused; {name} has been told.")
# The decision as a template message shows it (a field of at most 20 characters).
DECISION_SUMMARY = ("已批准", "未批准")
APPROVED_STUDENT = (
    "您 {day} 的补卡申请（编号 {no}）已批准，已计为出勤。",
    "Your make-up request no. {no} for {day} was approved; the day counts as present.",
)
REFUSED_STUDENT = (
    "您 {day} 的补卡申请（编号 {no}）未获批准，理由：{reason}。如有疑问请联系指导教师。",
    "Your make-up request no. {no} for {day} was refused: {reason}. Please talk to your "
    "teacher if anything is unclear.",
)

APPROVE_WORDS = ("批准", "同意", "通过", "approve", "ok")
REFUSE_WORDS = ("驳回", "拒绝", "不同意", "refuse", "reject")
add_words(
    {
        "批准补卡": ("makeup", "批准"),
        "同意补卡": ("makeup", "批准"),
        "驳回补卡": ("makeup", "驳回"),
        "拒绝补卡": ("makeup", "驳回"),
    }
)


def status_name(ctx: Context, status: str) -> str:
    return ctx.say(STATUS_NAMES.get(status, (status, status)))


def _language_of(ctx: Context, kind: str, person_id: int) -> str:
    lang = ctx.session.exec(
        select(ChannelAccount.language).where(
            ChannelAccount.person_kind == kind,
            ChannelAccount.person_id == person_id,
            ChannelAccount.active.is_(True),
        )
    ).first()
    return lang or "zh"


def _pending(ctx: Context) -> list[Reply]:
    rows = ctx.session.exec(
        select(MakeupRequest, Student)
        .join(Student, col(Student.id) == col(MakeupRequest.student_id))
        .where(Student.teacher_id == ctx.account.person_id, MakeupRequest.status == "pending")
        .order_by(col(MakeupRequest.id))
    ).all()
    if not rows:
        return ctx.reply(NONE_PENDING)
    lines = [ctx.say(PENDING_HEAD)]
    for req, student in rows:
        day = fmt_day(req.day, ctx.lang)
        lines.append(
            ctx.say(PENDING_LINE, no=req.id, name=student.name, day=day, reason=req.reason)
        )
    lines.append(ctx.say(PENDING_FOOT))
    return [Reply("\n".join(lines))]


def decide(ctx: Context, text: str) -> list[Reply]:
    """Approves or refuses a request of one of the teacher's own students."""
    words = text.split(maxsplit=2)
    if not words:
        return _pending(ctx)
    verb = words[0].lower()
    approve, refuse = verb in APPROVE_WORDS, verb in REFUSE_WORDS
    if not (approve or refuse) or len(words) < 2 or not words[1].lstrip("#").isdigit():
        return ctx.reply(TEACHER_USAGE)
    no = int(words[1].lstrip("#"))
    req = ctx.session.get(MakeupRequest, no)
    student = ctx.session.get(Student, req.student_id) if req else None
    if student is None or student.teacher_id != ctx.account.person_id:
        return ctx.reply(NOT_FOUND, no=no)
    if req.status != "pending":
        return ctx.reply(DECIDED, no=no, status=status_name(ctx, req.status))
    reason = words[2].strip() if len(words) > 2 else ""
    if refuse and not reason:
        return ctx.reply(NEED_REFUSE_REASON, no=no)
    req.status = "approved" if approve else "refused"
    req.decided_by = f"teacher:{ctx.account.person_id}"
    req.decided_at = ctx.now
    ctx.session.add(req)
    if approve:
        _count_day(ctx, student, req)
    lang = _language_of(ctx, "student", student.id)
    template = APPROVED_STUDENT if approve else REFUSED_STUDENT
    ctx.notify(
        Notification(
            person_kind="student",
            person_id=student.id,
            text=(template[1] if lang == "en" else template[0]).format(
                day=fmt_day(req.day, lang), no=req.id, reason=reason
            ),
            kind="makeup_result",
            key=f"makeup:{req.id}:{req.status}",
            params=dict(
                student=student.name,
                no=str(req.id),
                date=req.day.isoformat(),
                summary=DECISION_SUMMARY[0] if approve else DECISION_SUMMARY[1],
            ),
            school_id=student.school_id,
            quiet_hours=True,
        )
    )
    done = APPROVED_TEACHER if approve else REFUSED_TEACHER
    return ctx.reply(done, name=student.name, day=fmt_day(req.day, ctx.lang))


def _count_day(ctx: Context, student: Student, req: MakeupRequest) -> None:
    """An approved make-up is a start check-in at shift start, inside the fence."""
    day = req.day
    decision = decide_day(placements_of(ctx.session, student_id=student.id), day, ctx.settings)
    placement = decision.placement
    if placement is None or checkins_on(ctx.session, student_id=student.id, day=day):
        return
    ctx.session.flush()
    record_checkin(
        ctx.conn,
        school_id=student.school_id,
        student_id=student.id,
        placement_id=placement.id,
        values=dict(
            day=day,
            at=datetime.combine(day, placement.shift_start, tzinfo=ctx.settings.tz),
            kind="start",
            raw_lat=placement.norm_lat,
            raw_lng=placement.norm_lng,
            datum="gcj02",
            norm_lat=placement.norm_lat,
            norm_lng=placement.norm_lng,
            distance_m=0.0,
            within_fence=True,
            source="makeup",
            accuracy_m=None,
            label=f"补卡申请 {req.id}",
            channel="",
            created_at=ctx.now,
        ),
        first_today=True,
        batch=ctx.batch,
    )


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
    student = ctx.session.get(Student, ctx.person_id)
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
                params=dict(
                    student=student.name,
                    no=str(row.id),
                    date=day.isoformat(),
                    summary=row.reason,
                ),
                school_id=student.school_id,
            )
        )
    return ctx.reply(SUBMITTED, no=row.id, day=shown, reason=row.reason)


@on_intent("makeup", roles=("student", "teacher"))
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
