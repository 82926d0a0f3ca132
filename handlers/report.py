"""维权/反馈/求助: a description becomes a ticket at once; the word alone asks for it first."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.types import Notification, Reply
from core import text as zh
from core import tickets
from core.classify import category_name, category_names, category_of, classify
from core.intents import control_word, leading_command
from core.journals import parse_number
from core.ticket_open import open_ticket
from handlers.base import Context, add_words, on_intent, on_state
from models.case_queries import TICKET_ROWS, add_case_note, set_ticket_category, ticket_by_id
from models.tickets import TICKET_CATEGORIES

DESCRIBE = "report_describe"
# Someone who started a report and wandered off should not find it waiting the next day.
DESCRIBE_TTL = timedelta(hours=6)
# A description shorter than this (after the trigger words) is asked for again...
MIN_DESCRIPTION = 4  # ...unless the classifier already recognises the problem.

# "我要投诉" says that there is a problem, not what it is.
TRIGGERS = re.compile(
    r"^(?:我|我们)?(?:要|想|需要)?(?:投诉|维权|反馈|求助|举报|反映(?:一下|一个)?(?:问题|情况)?"
    r"|帮帮我|帮忙)[一下]*[：:，,。!！\s]*"
    r"|^(?:i\s+(?:want|need|would like)\s+to\s+)?(?:complain|report(?: a problem)?|"
    r"complaint|get help)[:,.!\s]*",
    re.I,
)

NOT_STUDENT = (
    "维权反馈是学生的功能。请先用邀请码绑定：发送「绑定 邀请码」。",
    'Reports are for students. Bind first: send "bind <code>".',
)
ASK = (
    "请描述遇到的问题：发生了什么、在哪里、什么时候、涉及谁。您的反馈只有指导教师和学校能看到。"
    "发送「取消」放弃。",
    "Please describe the problem: what happened, where, when and who was involved. Only your "
    'teacher and school will see it. Send "cancel" to stop.',
)
CANCELLED = ("已取消，没有提交反馈。", "Cancelled; nothing was reported.")
RECEIPT = (
    "已收到您的反馈，工单 {no}（{categories}）。",
    "We received your report: ticket {no} ({categories}).",
)
TO_TEACHER = (
    "已转给指导教师{teacher}，进展会在这里通知您；{hours} 小时内无人受理会自动上报学校。",
    "It has gone to your teacher, {teacher}; you will hear of every step here. If nobody takes "
    "it up within {hours} hours, it goes to the school.",
)
TO_SCHOOL = (
    "已转给学校，进展会在这里通知您。",
    "It has gone to the school; you will hear of every step here.",
)
URGENT = (
    "这是紧急情况，已同时通知学校。如有人身危险，请先拨打 110（报警）或 120（急救）。",
    "This is urgent: the school has been alerted too. If you are in danger, call 110 (police) "
    "or 120 (ambulance) first.",
)
SELF_HARM = (
    "如果您很难受或有伤害自己的念头，请拨打 12356 心理援助热线（24 小时），"
    "也可以告诉身边信任的人。",
    "If you feel desperate or think of hurting yourself, please call the 12356 psychological "
    "support hotline (24 hours), or tell someone you trust.",
)
RECATEGORIZE_HINT = (
    "类别不准？回复「类别 {no} 正确类别」即可更正。",
    'Wrong category? Send "category {no} <the right one>".',
)
# Words that call for the psychological-support hotline as well as 110/120.
SELF_HARM_WORDS = (
    "自杀",
    "轻生",
    "不想活",
    "想死",
    "跳楼",
    "割腕",
    "伤害自己",
    "suicide",
    "kill myself",
)


def _reply(ctx: Context, *texts: tuple[str, str], **values) -> list[Reply]:
    pick = 1 if ctx.lang == "en" else 0
    return [Reply("\n".join(t[pick] for t in texts).format(**values))]


def description_of(text: str) -> str:
    """The complaint in a message: after 维权/反馈/求助 (or /report), without "我要投诉"."""
    lead = leading_command(text)
    body = lead[2] if lead and lead[0] == "report" else text.strip()
    return TRIGGERS.sub("", body, count=1).strip()


def is_description(text: str) -> bool:
    return zh.length(text) >= MIN_DESCRIPTION or classify(text).category != "other"


def may_open_ticket(text: str, dialog: str | None) -> bool:
    """Whether a student's message may open a ticket: 维权 with words after it, or the answer
    to ASK. The inbound path takes ticket numbers for a batch's such messages in advance
    (models.case_queries.reserve_ticket_ids_read); other messages that open one take theirs
    as they insert it."""
    if dialog == DESCRIBE:
        return True
    lead = leading_command(text)
    return lead is not None and lead[0] == "report" and bool(lead[2])


@on_intent("report", roles=("student",))
def start(ctx: Context) -> list[Reply]:
    """Opens a ticket from the description, or asks for one."""
    text = ctx.text
    if is_description(description_of(text)):
        return _open(ctx, _full_text(text))
    ctx.set_state(DESCRIBE, {}, ttl=DESCRIBE_TTL)
    return _reply(ctx, ASK)


@on_state(DESCRIBE)
def describe(ctx: Context) -> list[Reply]:
    """Takes the description and opens the ticket."""
    text = ctx.text
    if control_word(text) == "cancel":
        ctx.clear_state()
        return _reply(ctx, CANCELLED)
    if not is_description(description_of(text)):
        ctx.set_state(DESCRIBE, {}, ttl=DESCRIBE_TTL)
        return _reply(ctx, ASK)
    ctx.clear_state()
    return _open(ctx, text)


def _full_text(text: str) -> str:
    """What is stored: the message without the leading command word."""
    lead = leading_command(text)
    return lead[2] if lead and lead[0] == "report" and lead[2] else text.strip()


def _open(ctx: Context, description: str) -> list[Reply]:
    student = ctx.student()
    if student is None:
        return _reply(ctx, NOT_STUDENT)
    opened = open_ticket(
        ctx.conn,
        settings=ctx.settings,
        student=student,
        description=description,
        now=ctx.now,
        batch=ctx.batch,
    )
    no = tickets.ticket_no(opened.ticket_id)
    texts = [
        ctx.say(
            RECEIPT, no=no, categories=category_names(opened.classification.categories, ctx.lang)
        )
    ]
    if opened.teacher:
        hours = ctx.settings.tickets.escalate_after_h
        texts.append(ctx.say(TO_TEACHER, teacher=opened.teacher, hours=hours))
    else:
        texts.append(ctx.say(TO_SCHOOL))
    if opened.classification.urgent:
        texts.append(ctx.say(URGENT))
    if any(word in description.lower() for word in SELF_HARM_WORDS):
        texts.append(ctx.say(SELF_HARM))
    texts.append(ctx.say(RECATEGORIZE_HINT, no=no))
    return [Reply("\n".join(texts))]


RECATEGORIZE_USAGE = (
    "请这样写：类别 工单编号 正确类别，例如「类别 T12 工资」。类别有：{names}。",
    'Please send: category <ticket no> <category>, e.g. "category T12 wages". Categories: {names}.',
)
NO_SUCH_TICKET = ("没有找到您的工单 {no}。", "You have no ticket {no}.")
TICKET_CLOSED = ("工单 {no} 已经结案，不能再更改类别。", "Ticket {no} is closed.")
RECATEGORIZED = (
    "已将工单 {no} 的类别更正为：{categories}。已告知指导教师。",
    "Ticket {no} is now filed as: {categories}. Your teacher has been told.",
)
TEACHER_RECATEGORIZED = "工单 {no}（{student}）的类别已由学生更正为：{categories}。"
add_words(
    {
        "类别": ("recategorize", ""),
        "更正类别": ("recategorize", ""),
        "category": ("recategorize", ""),
    }
)


@on_intent("recategorize", roles=("student",))
def recategorize(ctx: Context) -> list[Reply]:
    """Sets the main category of one of the student's own tickets (类别 T12 工资)."""
    words = ctx.args.split(maxsplit=1)
    number = parse_number(words[0], tickets.TICKET_PREFIX) if words else None
    ctx.write_now(TICKET_ROWS)
    category = category_of(words[1]) if len(words) > 1 else None
    if number is None or category is None:
        names = ("、" if ctx.lang != "en" else ", ").join(
            category_name(c, ctx.lang) for c in TICKET_CATEGORIES
        )
        return ctx.reply(RECATEGORIZE_USAGE, names=names)
    no = tickets.ticket_no(number)
    ticket = ticket_by_id(ctx.conn, ticket_id=number)
    if ticket is None or ticket.student_id != ctx.person_id:
        return ctx.reply(NO_SUCH_TICKET, no=no)
    if ticket.status == "resolved":
        return ctx.reply(TICKET_CLOSED, no=no)
    ordered = [category, *(c for c in (ticket.categories or [ticket.category]) if c != category)]
    set_ticket_category(ctx.conn, ticket_id=ticket.id, categories=ordered, now=ctx.now)
    names = category_names(ordered)
    add_case_note(
        ctx.conn, kind="ticket", case_id=ticket.id, actor=f"student:{ctx.person_id}",
        status=ticket.status, note=f"学生更正类别为：{names}", at=ctx.now,
    )  # fmt: skip
    student = ctx.student()
    if student is not None and student.teacher_id is not None:
        ctx.notify(
            Notification(
                person_kind="teacher",
                person_id=student.teacher_id,
                kind="ticket_update",
                key=f"ticket_category:{ticket.id}:{ctx.now.isoformat()}",
                text=TEACHER_RECATEGORIZED.format(no=no, student=student.name, categories=names),
                params=dict(student=student.name, no=no, summary=names),
                school_id=student.school_id,
            )
        )
    return ctx.reply(RECATEGORIZED, no=no, categories=category_names(ordered, ctx.lang))
