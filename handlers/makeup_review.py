"""补卡 review: a teacher lists, approves or refuses own students' make-up requests in chat."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select

from bot.types import Notification, Reply
from core.checkin_rules import decide_day
from handlers.base import Context, add_words
from handlers.checkin import add_checkin
from handlers.texts import fmt_day
from models import ChannelAccount, MakeupRequest, Student
from models.checkin_queries import checkins_on, placements_of

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
    add_checkin(
        ctx,
        student=student,
        placement=placement,
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
        label=f"补卡申请 {req.id}",
        channel="",
        created_at=ctx.now,
    )
